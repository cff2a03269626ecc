"""The rules deskflow ships, from the seeds' plans (客户信息管理与服务支持 3; 客户关系维护与
客户服务策略 步骤二–四). They are made once, at the service's first start, and are then
edited like any other rule; ``default_key`` remembers which is which (a deleted one stays
deleted)."""

GRADE_DAYS = {"A": 7, "B": 14, "C": 30}
GRADE_PRIORITY = {"A": "high", "B": "medium", "C": "low"}
LIVE_TYPES = ["prospect", "intent", "deal"]


def _grade_rule(grade: str) -> dict:
    days = GRADE_DAYS[grade]
    return {
        "name": f"Follow-up plan: grade {grade} every {days} days (跟进计划)",
        "trigger": {"every_days": days},
        "where": {"grade": [grade], "type": LIVE_TYPES},
        "task": {"title": f"Follow up with the customer (grade {grade}, every {days} days)",
                 "description": "Contact the customer and log the follow-up; logging it "
                                "completes this task.",
                 "due_in_days": days, "priority": GRADE_PRIORITY[grade], "assignee": "owner"},
        "completes_on": ["followup.logged"],
    }


def _contact_plan(tier: str, days: int, what: str) -> dict:
    return {
        "name": f"Contact plan: {tier} value, {what} (联系计划)",
        "trigger": {"every_days": days},
        "where": {"value_tier": [tier], "type": LIVE_TYPES},
        "task": {"title": f"{what.capitalize()} ({tier}-value customer)",
                 "description": "Complete this task with a note on the contact made.",
                 "due_in_days": days, "priority": "medium", "assignee": "owner"},
        "completes_on": [],
    }


def _after_deal(event: str, where: dict, name: str, title: str, due: dict) -> dict:
    return {"name": name, "trigger": {"event": event}, "where": where,
            "task": {"title": title, "description": None, "priority": "high",
                     "assignee": "owner", **due},
            "completes_on": []}


LETTER = "Send the service follow-up letter (《服务跟进函》)"
FIRST_FEEDBACK = "Collect first-cooperation feedback (首次合作反馈)"

DEFAULT_RULES = {
    "grade_followup_A": _grade_rule("A"),
    "grade_followup_B": _grade_rule("B"),
    "grade_followup_C": _grade_rule("C"),
    "contact_plan_high": _contact_plan("high", 90, "on-site visit every quarter"),
    "contact_plan_mid": _contact_plan("mid", 60, "phone call every 2 months"),
    "contact_plan_potential": _contact_plan("potential", 30, "send materials every month"),
    "deal_letter": _after_deal("customer.updated", {"type": ["deal"], "changed": ["type"]},
                               "Service follow-up letter within 3 days of a deal", LETTER,
                               {"due_in_hours": 72}),
    "deal_letter_new": _after_deal("customer.created", {"type": ["deal"]},
                                   "Service follow-up letter within 3 days of a deal (created "
                                   "as a deal)", LETTER, {"due_in_hours": 72}),
    "first_deal_feedback": _after_deal("customer.updated", {"first_deal": [True]},
                                       "Feedback 1 week after the first deal", FIRST_FEEDBACK,
                                       {"due_in_days": 7}),
    "first_deal_feedback_new": _after_deal("customer.created", {"first_deal": [True]},
                                           "Feedback 1 week after the first deal (created as "
                                           "a deal)", FIRST_FEEDBACK, {"due_in_days": 7}),
    "ticket_feedback": {
        "name": "Feedback 24 hours after a ticket is done (回访)",
        "trigger": {"event": "ticket.transitioned"},
        "where": {"to": ["done"]},
        "task": {"title": "Ask the customer for feedback on the solved ticket",
                 "description": "Recording the customer's rating completes this task.",
                 "due_in_hours": 24, "priority": "medium", "assignee": "ticket_owner"},
        "completes_on": ["ticket.rated"],
    },
    "dissatisfied_followup": {
        "name": "Follow up a dissatisfied customer (持续跟进直至客户确认满意)",
        "trigger": {"event": "ticket.dissatisfied"},
        "where": {},
        "task": {"title": "Follow up the dissatisfied customer until they are satisfied",
                 "description": "The customer rated the ticket 2 or less: call them, agree "
                                "what happens next, and complete this task with the outcome.",
                 "due_in_hours": 24, "priority": "high", "assignee": "ticket_owner"},
        "completes_on": [],
    },
    "churn_winback": {
        "name": "Win back a high-value customer drifting away (高价值客户流失预警 → 挽回)",
        "trigger": {"event": "customer.churn_risk"},
        "where": {},
        "task": {"title": "Win back the customer (挽回): call or visit them",
                 "description": "No contact for CHURN_WARNING_DAYS: offer a dedicated service "
                                "or a visit; logging a follow-up completes this task.",
                 "due_in_days": 3, "priority": "high", "assignee": "owner"},
        "completes_on": ["followup.logged"],
    },
    "quarterly_survey": {
        "name": "Quarterly satisfaction survey of active customers (季度满意度调查)",
        "trigger": {"schedule": "quarterly"},
        "where": {"status": ["active"]},
        "task": {"title": "Run the quarterly satisfaction survey with the customer",
                 "description": "Complete this task with the survey's outcome.",
                 "due_in_days": 7, "priority": "medium", "assignee": "owner"},
        "completes_on": [],
    },
}
GRADE_KEYS = {grade: f"grade_followup_{grade}" for grade in GRADE_DAYS}
