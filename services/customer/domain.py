"""Customer rules in plain Python: ids, duplicate keys, conversion, lifecycle, value tiers,
the change log, follow-up plans and ownership. Nothing here knows about Nameko, Flask or
SQL."""
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal

from services.common.errors import (
    Forbidden, NotOwner, ReviewOutOfOrder, SamePerson, ValidationFailed,
)

INDUSTRIES = ("TECH", "MFG", "RETAIL", "SVC", "FIN", "EDU", "GOV", "OTHER")
TYPES = ("prospect", "intent", "deal", "churned")
GRADES = ("A", "B", "C")
SOURCES = ("exhibition", "referral", "online", "visit", "other")
CHANNELS = ("phone", "email", "visit", "wechat", "other")
OUTCOMES = ("positive", "neutral", "negative")
STATUSES = ("active", "dormant", "churned")
VALUE_TIERS = ("high", "mid", "potential")
DEAL_FIELDS = ("deal_amount", "deal_product", "signed_date")
CONTACT_FIELDS = ("phone", "office_phone", "email", "contact_name")
PHONE_FIELDS = ("phone", "office_phone")
PHONE_REQUIRED = "Give a phone or an office_phone."
LANGUAGES = ("zh", "en")  # the language the customer is written to in
# The profile the seeds' archive forms ask for (表1, 客户画像).
SIZE_BANDS = ("micro", "small", "medium", "large")
SIZE_BAND_LIMITS = ((100, "micro"), (500, "small"), (2000, "medium"))  # most staff per band
NEED_TAGS = ("product_oriented", "service_oriented", "relationship_oriented")  # 产品/服务/关系导向型
PREFERRED_CHANNELS = ("phone", "email", "visit", "meeting", "message")

HIGH_VALUE = Decimal("500000")
MID_VALUE = Decimal("100000")
DORMANT_AFTER_MONTHS = 3
CHURNED_AFTER_MONTHS = 6
DEFAULT_FOLLOWUP_DAYS = {"A": 7, "B": 14, "C": 30}


def customer_id(year: int, industry: str, sequence: int) -> str:
    """``2026-TECH-001``: three digits, wider past 999."""
    return f"{year}-{industry}-{sequence:03d}"


def id_scope(year: int, industry: str) -> str:
    return f"{year}-{industry}"


def normalise_name(name: str) -> str:
    """Fold full-width characters, case and runs of spaces, so near-identical names match."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"\s+", " ", folded).strip()


def normalise_phone(phone: str | None) -> str | None:
    """Digits only, with a +86/0086 prefix dropped from mainland mobile numbers."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    if digits.startswith("0086"):
        digits = digits[2:]
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return digits or None


def phone_keys(customer: dict) -> set[str]:
    """The normalised phones of a customer: both count for the duplicate rule."""
    keys = (normalise_phone(customer.get(name)) for name in PHONE_FIELDS)
    return {key for key in keys if key}


def check_phone_given(customer: dict) -> None:
    """A customer keeps at least one phone (the archive form requires one)."""
    if not any(customer.get(name) for name in PHONE_FIELDS):
        raise ValidationFailed("Some fields are invalid.",
                               {"fields": {"phone": [PHONE_REQUIRED]}})


def size_band(employees: int | None) -> str | None:
    """``micro`` up to 100 staff, ``small`` to 500, ``medium`` to 2000, then ``large``."""
    if employees is None:
        return None
    return next((band for most, band in SIZE_BAND_LIMITS if employees <= most), "large")


def settle_profile(customer: dict, given: dict) -> None:
    """Derive ``size_band`` from ``employees`` when known (a contradicting band that was
    given is refused) and check the budget range; ``customer`` is the whole record after
    the change, ``given`` what the caller sent."""
    errors = {}
    derived = size_band(customer.get("employees"))
    if derived is not None:
        if given.get("size_band") not in (None, derived):
            errors["size_band"] = [f"{customer['employees']} staff is '{derived}'."]
        customer["size_band"] = derived
    low, high = customer.get("budget_min"), customer.get("budget_max")
    if low is not None and high is not None and Decimal(str(low)) > Decimal(str(high)):
        errors["budget_max"] = ["Must not be less than budget_min."]
    if errors:
        raise ValidationFailed("Some fields are invalid.", {"fields": errors})


def check_conversion(customer: dict) -> None:
    """A ``deal`` customer needs its deal amount, product and signing date."""
    if customer.get("type") != "deal":
        return
    missing = [name for name in DEAL_FIELDS if customer.get(name) in (None, "")]
    if missing:
        raise ValidationFailed(
            "A customer of type 'deal' needs deal_amount, deal_product and signed_date.",
            {"fields": {name: ["Required when type is 'deal'."] for name in missing}},
        )


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall time ``months`` calendar months earlier (clamped to month end)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def lifecycle_status(last_activity: datetime, now: datetime) -> str:
    """``active`` within 3 months of the last contact, ``dormant`` to 6, then ``churned``."""
    if last_activity >= months_before(now, DORMANT_AFTER_MONTHS):
        return "active"
    if last_activity >= months_before(now, CHURNED_AFTER_MONTHS):
        return "dormant"
    return "churned"


def value_tier(deal_amount) -> str:
    if deal_amount is None:
        return "potential"
    amount = Decimal(str(deal_amount))
    if amount >= HIGH_VALUE:
        return "high"
    if amount >= MID_VALUE:
        return "mid"
    return "potential"


def field_changes(before: dict, after: dict) -> list[dict]:
    """``[{field, before, after}]`` for every field whose value differs, in field order."""
    return [
        {"field": name, "before": before.get(name), "after": value}
        for name, value in after.items()
        if before.get(name) != value
    ]


def contact_changed(changes: list[dict]) -> bool:
    return any(change["field"] in CONTACT_FIELDS for change in changes)


def next_followup_due(grade: str, last_followup: datetime, plan_days: dict | None = None) -> datetime:
    """When a customer of ``grade`` should next be followed up."""
    days = (plan_days or DEFAULT_FOLLOWUP_DAYS)[grade]
    return last_followup + timedelta(days=days)


def check_may_change(context, customer_id: str, owner: str | None) -> None:
    """Who may change a customer and log its follow-ups: its owner, a manager of the owner's
    team, an admin (and the system, for queue commands). ``context`` is the caller's
    :class:`~services.common.context.CallContext`; reading is everyone's."""
    if not context.acts_for(owner):
        raise NotOwner(f"Customer {customer_id} belongs to {owner}: only its owner, a manager of "
                       "the owner's team or an admin may change it.",
                       {"customer_id": customer_id, "owner": owner})


def check_may_assign(context, new_owner: str) -> None:
    """Giving a customer to another owner needs an admin, or a manager giving it to a member
    of its own team."""
    if context.actor_role in (None, "admin"):
        return
    if context.actor_role == "manager" and context.acts_for(new_owner):
        return
    raise NotOwner("Changing a customer's owner needs a manager of the team or an admin.",
                   {"owner": new_owner})


# --- review (双人校验 / 三级审核) -------------------------------------------------------------
# A new customer, or a change to these fields, waits for a colleague to verify it and a
# manager or admin to approve it; either may reject it back to the change's author.
REVIEW_STATES = ("pending", "verified", "approved", "rejected")
REVIEW_DECISIONS = ("verified", "approved", "rejected")
REVIEWED_FIELDS = ("phone", "office_phone", "email", "budget_min", "budget_max", *DEAL_FIELDS)
APPROVER_ROLES = (None, "admin", "manager")  # None: the system
REVIEWER_ROLES = (*APPROVER_ROLES, "sales")
# Which decisions each review state allows.
REVIEW_STEPS = {"pending": ("verified", "rejected"), "verified": ("approved", "rejected"),
                "approved": (), "rejected": ()}


def needs_review(changes: list[dict], review: str) -> bool:
    """A change to a reviewed field goes back to review; so does any change to a rejected
    customer (its author sending it back corrected)."""
    return review == "rejected" or any(change["field"] in REVIEWED_FIELDS for change in changes)


def check_review_step(context, review: str, decision: str, author: str | None,
                      verifier: str | None = None) -> None:
    """``decision`` on a customer in ``review``, by the caller in ``context``: verified
    before approved, never by the author of the change, approval (and rejecting a verified
    change) by a manager or admin other than the colleague who verified it, so that three
    people see an approved change."""
    allowed = REVIEW_STEPS.get(review, ())
    if decision not in allowed:
        raise ReviewOutOfOrder(
            f"A customer in review '{review}' cannot be '{decision}'"
            + (f"; it can be {' or '.join(allowed)}." if allowed else "."),
            {"review": review, "decision": decision, "allowed": list(allowed)})
    if context.actor == author:
        raise SamePerson("The author of a change cannot review it: a colleague must.",
                         {"author": author})
    if context.actor_role not in REVIEWER_ROLES:
        raise Forbidden("Sales users, managers and admins review customers.",
                        {"role": context.actor_role})
    needs_approver = decision == "approved" or review == "verified"
    if needs_approver and context.actor_role not in APPROVER_ROLES:
        raise Forbidden("Only a manager or an admin approves (or rejects) a verified change.",
                        {"review": review, "decision": decision})
    if decision == "approved" and context.actor == verifier:
        raise SamePerson("The colleague who verified a change cannot also approve it: "
                         "another manager or an admin must.", {"verified_by": verifier})


def visible_followup_owners(context) -> tuple[str, ...] | None:
    """Whose follow-ups the caller sees across customers (经理查看团队成员的客户跟进情况):
    admins (and the system) everyone's (None), a manager its team's, anyone else its own."""
    if context.actor_role in (None, "admin"):
        return None
    if context.actor_role == "manager":
        return tuple(sorted({context.actor, *context.team_members}))
    return (context.actor,)


# --- churn warning (高价值客户流失预警) --------------------------------------------------------
CHURN_TIERS = ("high", "mid")  # the value tiers whose quiet spells are warned of


def churn_cutoff(now: datetime, warning_days: int) -> datetime:
    """A customer last active at or before this moment has been quiet long enough."""
    return now - timedelta(days=warning_days)


def quiet_days(last_activity: datetime, now: datetime) -> int:
    return (now - last_activity).days


def churn_warning_due(tier: str, last_activity: datetime, warned_for: datetime | None,
                      now: datetime, warning_days: int) -> bool:
    """A high- or mid-value customer quiet for ``warning_days`` is warned of once per quiet
    spell: ``warned_for`` is the last activity of the spell already warned of, so a new
    activity starts a spell that may be warned of again."""
    return (tier in CHURN_TIERS and last_activity <= churn_cutoff(now, warning_days)
            and warned_for != last_activity)
