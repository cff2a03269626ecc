"""Rule use cases: listing, writing and deleting rules (a change applies to new occurrences;
tasks already made keep their frozen ``reason``), the shipped defaults, and the grade
follow-up plan as a view of the three grade rules."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.context import SYSTEM_ACTOR
from services.common.db import one_or_404
from services.common.errors import Conflict, ValidationFailed
from services.common.schemas import load_or_422, schema_of
from services.customer.schemas import FollowupPlanSchema
from services.workflow import rules, scheduling, views
from services.workflow.defaults import DEFAULT_RULES, GRADE_DAYS, GRADE_KEYS
from services.workflow.models import Rule
from services.workflow.schemas import RuleInputSchema, RuleSchema


def parse_rule(payload) -> dict:
    """A rule definition from its JSON form; 422 naming what is wrong or unknown."""
    schema = schema_of(RuleInputSchema)
    data = load_or_422(schema, payload)
    definition = schema.dump(data)
    rules.check_rule(definition)
    return definition


def _check_assignee(uow, options, definition: dict) -> None:
    """An assignee that is not a kind (``owner``, ``ticket_owner``) must be an active user."""
    name = definition["task"]["assignee"]
    if name not in rules.ASSIGNEE_KINDS and not views.is_active_user(uow.session, name,
                                                                    options.admin_username):
        message = f"{name} is neither an assignee kind ({', '.join(rules.ASSIGNEE_KINDS)}) " \
                  "nor an active user."
        raise ValidationFailed(f"task.assignee: {message}", {"fields": {"task.assignee": [message]}})


def present(rule: Rule, options) -> dict:
    definition = rule.definition
    return schema_of(RuleSchema).dump({
        "id": rule.id, "name": rule.name, "enabled": rule.enabled,
        **{name: definition[name] for name in ("trigger", "where", "task", "completes_on",
                                               "catch_up")},
        "time_zone": definition.get("time_zone") or options.time_zone,
        "version": rule.version, "default_key": rule.default_key,
        "updated_at": rule.updated_at, "updated_by": rule.updated_by})


def _live(session, rule_id, for_update=False) -> Rule:
    try:
        number = int(rule_id)
    except (TypeError, ValueError):
        number = -1
    statement = select(Rule).where(Rule.id == number, Rule.deleted_at.is_(None))
    if for_update:
        statement = statement.with_for_update()
    return one_or_404(session, statement, "Rule", rule_id)


def list_rules(uow, options) -> list[dict]:
    rows = uow.session.scalars(select(Rule).where(Rule.deleted_at.is_(None)).order_by(Rule.id))
    return [present(row, options) for row in rows]


def get_rule(uow, options, rule_id) -> dict:
    return present(_live(uow.session, rule_id), options)


def _write(rule: Rule, definition: dict, uow) -> None:
    rule.name, rule.enabled = definition.pop("name"), definition.pop("enabled")
    rule.definition, rule.updated_at, rule.updated_by = definition, uow.now(), uow.context.actor


def create_rule(uow, options, payload: dict) -> dict:
    rule, definition = Rule(version=1), parse_rule(payload)
    _check_assignee(uow, options, definition)
    _write(rule, definition, uow)
    uow.session.add(rule)
    uow.session.flush()
    scheduling.enrol_all(uow, options, rule)
    uow.commit()
    return present(rule, options)


def update_rule(uow, options, rule_id, payload: dict) -> dict:
    """Replace a rule; its version goes up, so tasks name the version that made them."""
    definition = parse_rule(payload)
    _check_assignee(uow, options, definition)
    rule = _live(uow.session, rule_id, for_update=True)
    _write(rule, definition, uow)
    rule.version += 1
    scheduling.enrol_all(uow, options, rule)
    uow.commit()
    return present(rule, options)


def delete_rule(uow, options, rule_id) -> None:
    rule = _live(uow.session, rule_id, for_update=True)
    rule.deleted_at, rule.updated_at, rule.updated_by = uow.now(), uow.now(), uow.context.actor
    scheduling.enrol_all(uow, options, rule)
    uow.commit()


def ensure_defaults(uow) -> int:
    """Make the shipped rules that were never made; returns how many were made."""
    made = set(uow.session.scalars(select(Rule.default_key).where(Rule.default_key.is_not(None))))
    missing = [key for key in DEFAULT_RULES if key not in made]
    for key in missing:
        rule = Rule(version=1, default_key=key)
        _write(rule, parse_rule(DEFAULT_RULES[key]), uow)
        rule.updated_by = SYSTEM_ACTOR
        uow.session.add(rule)
    try:
        uow.commit()
    except IntegrityError:  # another instance made them at the same moment
        uow.rollback()
        return 0
    return len(missing)


# --- the grade follow-up plan (GET/PUT /followup-plan) ------------------------------------

def _grade_rules(session) -> dict:
    rows = session.scalars(select(Rule).where(Rule.default_key.in_(GRADE_KEYS.values()),
                                              Rule.deleted_at.is_(None)))
    return {row.default_key: row for row in rows}


def followup_plan(uow) -> dict:
    """Days between follow-ups per grade, read from the grade rules."""
    found = _grade_rules(uow.session)
    plan = {grade: (found[key].definition["trigger"]["every_days"] if key in found
                    else GRADE_DAYS[grade]) for grade, key in GRADE_KEYS.items()}
    uow.rollback()
    return plan


def set_followup_plan(uow, options, payload: dict) -> dict:
    """Change the grade rules' intervals (each a new rule version) and tell the customer
    service, which shows each customer's next follow-up date."""
    plan = load_or_422(schema_of(FollowupPlanSchema), payload)
    found = _grade_rules(uow.session)
    for grade, key in GRADE_KEYS.items():
        if key not in found:
            raise Conflict(f"The grade {grade} follow-up rule was deleted; create a rule instead.",
                           {"grade": grade})
        rule = found[key]
        definition = {**rule.definition, "trigger": {"every_days": plan[grade]},
                      "task": {**rule.definition["task"], "due_in_days": plan[grade]}}
        if definition != rule.definition:
            rule.definition, rule.version = definition, rule.version + 1
            rule.updated_at, rule.updated_by = uow.now(), uow.context.actor
    uow.emit("followup.plan_changed", {"plan": plan})
    uow.commit()
    return plan
