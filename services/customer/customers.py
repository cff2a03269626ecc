"""The customer service's use cases: each takes a unit of work, applies the domain rules,
writes the change, its change-log entry and its event in one transaction, and commits."""
import json
from contextlib import contextmanager
from datetime import datetime, time, timezone

from sqlalchemy import String, bindparam, cast, or_, select
from sqlalchemy.exc import IntegrityError

from services.common.db import count, next_sequence, one_or_404
from services.common.errors import Duplicate, ValidationFailed
from services.common.schemas import load_or_422, page_of, schema_of
from services.common.versions import bump_version, check_version
from services.customer import domain
from services.customer.models import (
    Customer, CustomerChange, CustomerPhoneKey, Followup, FollowupPlan, SequenceCounter,
)
from services.customer.schemas import (
    CustomerFilterSchema, CustomerHistoryEntrySchema, CustomerInputSchema, CustomerSchema,
    CustomerUpdateSchema, FollowupInputSchema, FollowupSchema,
)

EDITABLE_FIELDS = tuple(schema_of(CustomerInputSchema).fields)


def present(customer: Customer, now: datetime) -> dict:
    """The customer as the API shows it, with its derived status and value tier."""
    values = {column: getattr(customer, column) for column in schema_of(CustomerSchema).fields
              if hasattr(customer, column)}
    values["status"] = domain.lifecycle_status(customer.last_activity_at, now)
    values["value_tier"] = domain.value_tier(customer.deal_amount)
    return schema_of(CustomerSchema).dump(values)


def _editable(shown: dict) -> dict:
    """The user-editable fields of a customer as shown: JSON values, ready to compare and log."""
    return {name: shown.get(name) for name in EDITABLE_FIELDS}


def live_customer(session, customer_id: str, for_update: bool = False) -> Customer:
    statement = select(Customer).where(Customer.id == customer_id, Customer.deleted_at.is_(None))
    if for_update:
        statement = statement.with_for_update()
    return one_or_404(session, statement, "Customer", customer_id)


def known_customer(session, customer_id: str) -> Customer:
    """The customer, deleted or not: its history and follow-ups outlive it."""
    return one_or_404(session, select(Customer).where(Customer.id == customer_id), "Customer",
                      customer_id)


def _find_duplicate(session, name_key: str | None, phone_keys: set[str], own_id=None):
    """The other live customer with the same normalised name or any of the same phones, and
    which of the two matched."""
    if name_key:
        existing = session.scalars(select(Customer).where(
            Customer.name_key == name_key, Customer.id != own_id)).first()
        if existing is not None:
            return existing, "name"
    if phone_keys:
        existing = session.scalars(
            select(Customer).join(CustomerPhoneKey, CustomerPhoneKey.customer_id == Customer.id)
            .where(CustomerPhoneKey.key.in_(sorted(phone_keys)), Customer.id != own_id)).first()
        if existing is not None:
            return existing, "phone"
    return None, None


def _refuse_duplicates(session, name_key: str | None, phone_keys: set[str], own_id=None):
    """Raise 409 naming the existing customer with the same normalised name or phone."""
    existing, field = _find_duplicate(session, name_key, phone_keys, own_id)
    if existing is not None:
        raise Duplicate(
            f"A customer with the same {field} already exists: {existing.id}.",
            {"existing_id": existing.id, "field": field},
        )


@contextmanager
def _duplicates_refused(uow, name_key, phone_keys, own_id=None):
    """A duplicate that slipped in concurrently hits a unique index; make it the same 409."""
    try:
        yield
    except IntegrityError:
        uow.rollback()
        _refuse_duplicates(uow.session, name_key, phone_keys, own_id)
        raise


def _set_phone_keys(session, customer_id: str, keys: set[str]) -> None:
    """Make the customer's phone-key rows exactly ``keys``."""
    rows = session.scalars(select(CustomerPhoneKey).where(
        CustomerPhoneKey.customer_id == customer_id)).all()
    for row in rows:
        if row.key not in keys:
            session.delete(row)
    session.flush()
    _add_phone_keys(session, customer_id, keys - {row.key for row in rows})


def _add_phone_keys(session, customer_id: str, keys: set[str]) -> None:
    session.add_all(CustomerPhoneKey(key=key, customer_id=customer_id) for key in sorted(keys))


def _check_referrer(session, referrer_id: str | None, own_id: str | None = None) -> None:
    """``referred_by`` names another customer on file."""
    if referrer_id is None:
        return
    found = session.scalar(select(Customer.id).where(Customer.id == referrer_id,
                                                     Customer.deleted_at.is_(None)))
    if found is None or referrer_id == own_id:
        raise ValidationFailed("Some fields are invalid.", {"fields": {"referred_by": [
            f"No other customer {referrer_id}."]}})


def followup_plan(session) -> dict:
    plan = dict(domain.DEFAULT_FOLLOWUP_DAYS)
    plan.update({row.grade: row.interval_days for row in session.scalars(select(FollowupPlan))})
    return plan


# The stored follow-up interval of the grade named by the bind parameter ``grade``, as a
# scalar subquery (NULL when the default applies), for the statement that numbers a new
# customer to read along; built once, so that statement is built and compiled once.
STORED_INTERVAL = select(FollowupPlan.interval_days) \
    .where(FollowupPlan.grade == bindparam("grade")).scalar_subquery()


def plan_with(grade: str, interval: int | None) -> dict:
    """The follow-up plan, given what :data:`STORED_INTERVAL` read for ``grade``."""
    return {**domain.DEFAULT_FOLLOWUP_DAYS, **({} if interval is None else {grade: interval})}


def change_entry(uow, customer_id: str, action: str, changes: list[dict]) -> CustomerChange:
    return CustomerChange(customer_id=customer_id, action=action, at=uow.now(),
                          by=uow.context.actor, changes=changes)


def record_change(uow, customer_id: str, action: str, changes: list[dict]):
    uow.session.add(change_entry(uow, customer_id, action, changes))


def create_customer(uow, payload: dict) -> dict:
    data = load_or_422(schema_of(CustomerInputSchema), payload)
    session, now = uow.session, uow.now()
    data.setdefault("owner", uow.context.actor)
    if data["owner"] != uow.context.actor:
        domain.check_may_assign(uow.context, data["owner"])
    if data.get("first_contact_date") is None:
        data["first_contact_date"] = now.date()
    domain.check_conversion(data)
    domain.settle_profile(data, data)
    _check_referrer(session, data.get("referred_by"))
    # No lookup for a duplicate first: the unique name key and phone keys refuse one at
    # the insert, and only then is it looked up, to name it in the 409.
    name_key, phone_keys = domain.normalise_name(data["name"]), domain.phone_keys(data)
    # The grade's follow-up interval is read in the round trip that numbers the customer.
    sequence, interval = next_sequence(session, SequenceCounter,
                                       domain.id_scope(now.year, data["industry"]),
                                       STORED_INTERVAL, grade=data["grade"])
    first_contact_at = datetime.combine(data["first_contact_date"], time(), timezone.utc)
    customer = Customer(
        id=domain.customer_id(now.year, data["industry"], sequence), version=1,
        name_key=name_key, created_at=now, updated_at=now,
        review="pending", review_author=uow.context.actor,
        last_activity_at=max(now, first_contact_at),
        next_followup_due_at=domain.next_followup_due(data["grade"], now,
                                                      plan_with(data["grade"], interval)),
        **data,
    )
    uow.add_row(customer)  # first: it gives the object its column defaults
    shown = present(customer, now)
    created = change_entry(uow, customer.id, "created", domain.field_changes({}, _editable(shown)))
    with _duplicates_refused(uow, name_key, phone_keys):
        # The customer, its phone keys (a new customer has none yet), its change-log entry,
        # its event and the request's answer in one statement, written by the commit given
        # the answer: a duplicate's unique key fails here, where it is made a 409.
        for record in (*(CustomerPhoneKey(key=key, customer_id=customer.id)
                         for key in sorted(phone_keys)), created):
            uow.add_row(record)
        uow.emit("customer.created", {"customer": shown})
        uow.commit(answer=shown)
    return shown


def get_customer(uow, customer_id: str) -> dict:
    return present(live_customer(uow.session, customer_id), uow.now())


def list_customers(uow, query: dict) -> dict:
    filters = load_or_422(schema_of(CustomerFilterSchema), query)
    page, per_page, now = filters.pop("page"), filters.pop("per_page"), uow.now()
    statement = select(Customer).where(Customer.deleted_at.is_(None))
    for name in ("type", "grade", "industry", "owner", "size_band", "sub_industry", "review"):
        if name in filters:
            statement = statement.where(getattr(Customer, name) == filters[name])
    for name, column in (("tag", Customer.tags), ("need_tag", Customer.need_tags)):
        if name in filters:
            statement = statement.where(_json_list_holds(column, filters[name]))
    if "status" in filters:
        statement = statement.where(*_status_condition(filters["status"], now))
    if "q" in filters:
        like = f"%{filters['q']}%"
        statement = statement.where(or_(Customer.name.ilike(like), Customer.id.ilike(like),
                                        Customer.contact_name.ilike(like),
                                        Customer.phone.ilike(like)))
    total = count(uow.session, statement)
    rows = uow.session.scalars(statement.order_by(Customer.created_at.desc(), Customer.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    return page_of([present(row, now) for row in rows], total, page, per_page)


def _json_list_holds(column, value: str):
    """A JSON list column holding ``value``, on PostgreSQL and SQLite alike: the stored text
    contains the value as a JSON string (stored as ``json.dumps`` writes it)."""
    return cast(column, String).contains(json.dumps(value), autoescape=True)


def _status_condition(status: str, now: datetime) -> list:
    dormant_from = domain.months_before(now, domain.DORMANT_AFTER_MONTHS)
    churned_from = domain.months_before(now, domain.CHURNED_AFTER_MONTHS)
    if status == "active":
        return [Customer.last_activity_at >= dormant_from]
    if status == "dormant":
        return [Customer.last_activity_at < dormant_from, Customer.last_activity_at >= churned_from]
    return [Customer.last_activity_at < churned_from]


def update_customer(uow, customer_id: str, payload: dict,
                    expected_version: int | None = None) -> dict:
    """``expected_version`` (the client's ``If-Match``) is checked on the locked row."""
    data = load_or_422(schema_of(CustomerUpdateSchema), payload, partial=True)
    session, now = uow.session, uow.now()
    customer = live_customer(session, customer_id, for_update=True)
    check_version(customer, expected_version, "Customer")
    domain.check_may_change(uow.context, customer.id, customer.owner)
    if data.get("owner", customer.owner) != customer.owner:
        domain.check_may_assign(uow.context, data["owner"])
    before = _editable(present(customer, now))
    merged = {**{name: getattr(customer, name) for name in EDITABLE_FIELDS}, **data}
    domain.check_phone_given(merged)
    domain.check_conversion(merged)
    domain.settle_profile(merged, data)
    data["size_band"] = merged["size_band"]
    if data.get("referred_by") not in (None, customer.referred_by):
        _check_referrer(session, data["referred_by"], own_id=customer.id)
    name_key, phone_keys = domain.normalise_name(merged["name"]), domain.phone_keys(merged)
    _refuse_duplicates(session, name_key, phone_keys, own_id=customer.id)
    for name, value in data.items():
        setattr(customer, name, value)
    customer.name_key = name_key
    after = present(customer, now)
    changes = domain.field_changes(before, _editable(after))
    if not changes:
        uow.rollback()
        return after
    customer.updated_at = now
    bump_version(customer)
    if domain.needs_review(changes, customer.review):
        changes = _back_to_review(uow, customer, changes)
    if "grade" in data:
        last_contact = customer.last_activity_at
        customer.next_followup_due_at = domain.next_followup_due(customer.grade, last_contact,
                                                                 followup_plan(session))
    record_change(uow, customer.id, "updated", changes)
    shown = present(customer, now)
    uow.emit("customer.updated", {"customer": shown, "changes": changes,
                                  "contact_changed": domain.contact_changed(changes)})
    with _duplicates_refused(uow, name_key, phone_keys, own_id=customer.id):
        _set_phone_keys(session, customer.id, phone_keys)
        uow.commit()
    return shown


def _back_to_review(uow, customer: Customer, changes: list[dict]) -> list[dict]:
    """The change waits for review again, with its maker as the author; the change log
    says so when the state moves."""
    before = customer.review
    customer.review, customer.review_author = "pending", uow.context.actor
    customer.review_note = customer.verified_by = None
    if before == "pending":
        return changes
    return [*changes, {"field": "review", "before": before, "after": "pending"}]


def delete_customer(uow, customer_id: str) -> None:
    soft_delete(uow, live_customer(uow.session, customer_id, for_update=True))
    uow.commit()


def soft_delete(uow, customer: Customer) -> None:
    """Mark ``customer`` deleted (its record, follow-ups and change log stay) and say so."""
    now = uow.now()
    customer.deleted_at, customer.updated_at = now, now
    customer.name_key = None  # the name and phones may be reused
    _set_phone_keys(uow.session, customer.id, set())
    record_change(uow, customer.id, "deleted", [])
    uow.emit("customer.deleted", {"customer": present(customer, now)})


def customer_history(uow, customer_id: str) -> list[dict]:
    known_customer(uow.session, customer_id)
    entries = uow.session.scalars(
        select(CustomerChange).where(CustomerChange.customer_id == customer_id)
        .order_by(CustomerChange.at.desc(), CustomerChange.id.desc()))
    return schema_of(CustomerHistoryEntrySchema, many=True).dump(entries)


def log_followup(uow, customer_id: str, payload: dict) -> dict:
    data = load_or_422(schema_of(FollowupInputSchema), payload)
    session, now = uow.session, uow.now()
    customer = live_customer(session, customer_id, for_update=True)
    domain.check_may_change(uow.context, customer.id, customer.owner)
    data.setdefault("owner", customer.owner)
    followup = Followup(customer_id=customer.id, created_at=now, created_by=uow.context.actor,
                        **data)
    session.add(followup)
    if followup.at >= customer.last_activity_at:
        customer.last_activity_at = followup.at
        customer.next_followup_due_at = followup.next_followup_at or domain.next_followup_due(
            customer.grade, followup.at, followup_plan(session))
    session.flush()
    shown = schema_of(FollowupSchema).dump(followup)
    uow.emit("followup.logged", {"followup": shown, "customer": present(customer, now)})
    uow.commit()
    return shown


def list_followups(uow, customer_id: str, query: dict) -> dict:
    paging = load_or_422(CustomerFilterSchema(only=("page", "per_page")), query)
    known_customer(uow.session, customer_id)
    statement = select(Followup).where(Followup.customer_id == customer_id)
    page, per_page = paging["page"], paging["per_page"]
    rows = uow.session.scalars(statement.order_by(Followup.at.desc(), Followup.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    return page_of(schema_of(FollowupSchema, many=True).dump(rows), count(uow.session, statement),
                   page, per_page)


def upsert_customer(uow, command: dict) -> dict | None:
    """The ``customer.upsert`` command: update the customer with the same normalised name
    or phone, else create one. A command id is applied once; a repeat returns None."""
    data = command["data"]
    if not isinstance(data.get("name"), str):
        raise ValidationFailed("Some fields are invalid.", {"fields": {"name": ["Required."]}})
    if not uow.claim("customers.upsert", command["id"]):
        return None
    phones = {name: data.get(name) for name in domain.PHONE_FIELDS
              if isinstance(data.get(name), str)}
    existing, _field = _find_duplicate(uow.session, domain.normalise_name(data["name"]),
                                       domain.phone_keys(phones))
    if existing is None:
        return create_customer(uow, data)
    return update_customer(uow, existing.id, data)
