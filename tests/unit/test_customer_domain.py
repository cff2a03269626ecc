from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.common.context import CallContext
from services.common.errors import (
    Forbidden, NotOwner, ReviewOutOfOrder, SamePerson, ValidationFailed,
)
from services.customer import domain

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("year, industry, sequence, expected", [
    (2026, "TECH", 1, "2026-TECH-001"),
    (2026, "MFG", 42, "2026-MFG-042"),
    (2027, "FIN", 999, "2027-FIN-999"),
    (2027, "FIN", 1000, "2027-FIN-1000"),
])
def test_customer_id_is_year_industry_and_padded_sequence(year, industry, sequence, expected):
    assert domain.customer_id(year, industry, sequence) == expected


@pytest.mark.parametrize("raw", ["Acme Ltd", "  acme   ltd ", "ＡＣＭＥ　Ｌｔｄ", "ACME\tLTD"])
def test_names_fold_case_spaces_and_width(raw):
    assert domain.normalise_name(raw) == "acme ltd"


def test_different_names_stay_different():
    assert domain.normalise_name("Acme Ltd") != domain.normalise_name("Acme Co")


@pytest.mark.parametrize("raw", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678",
                                 "0086 13812345678", "１３８１２３４５６７８"])
def test_phones_keep_only_the_national_digits(raw):
    assert domain.normalise_phone(raw) == "13812345678"


def test_landline_keeps_its_area_code():
    assert domain.normalise_phone("010-8888 6666") == "01088886666"


@pytest.mark.parametrize("raw", [None, "", "  -  "])
def test_missing_phone_has_no_key(raw):
    assert domain.normalise_phone(raw) is None


def test_deal_needs_amount_product_and_signing_date():
    with pytest.raises(ValidationFailed) as error:
        domain.check_conversion({"type": "deal", "deal_amount": Decimal("10")})
    assert set(error.value.details["fields"]) == {"deal_product", "signed_date"}


def test_complete_deal_and_other_types_pass():
    domain.check_conversion({"type": "deal", "deal_amount": 1, "deal_product": "X",
                             "signed_date": "2026-01-01"})
    domain.check_conversion({"type": "intent"})


@pytest.mark.parametrize("last_activity, expected", [
    (datetime(2026, 11, 1, tzinfo=timezone.utc), "active"),
    (datetime(2026, 8, 25, 12, 0, tzinfo=timezone.utc), "active"),   # exactly 3 months
    (datetime(2026, 8, 25, 11, 59, tzinfo=timezone.utc), "dormant"),
    (datetime(2026, 5, 25, 12, 0, tzinfo=timezone.utc), "dormant"),  # exactly 6 months
    (datetime(2026, 5, 25, 11, 59, tzinfo=timezone.utc), "churned"),
    (datetime(2024, 1, 1, tzinfo=timezone.utc), "churned"),
])
def test_lifecycle_status_by_months_since_last_contact(last_activity, expected):
    assert domain.lifecycle_status(last_activity, NOW) == expected


def test_months_before_clamps_to_the_end_of_a_shorter_month():
    moment = datetime(2026, 5, 31, 9, 0, tzinfo=timezone.utc)
    assert domain.months_before(moment, 3) == datetime(2026, 2, 28, 9, 0, tzinfo=timezone.utc)
    assert domain.months_before(datetime(2026, 1, 15, tzinfo=timezone.utc), 3).year == 2025


@pytest.mark.parametrize("amount, tier", [
    (None, "potential"), (0, "potential"), (99999.99, "potential"), (100000, "mid"),
    (499999, "mid"), (500000, "high"), ("2000000.50", "high"),
])
def test_value_tier_thresholds(amount, tier):
    assert domain.value_tier(amount) == tier


def test_field_changes_list_each_changed_field_with_before_and_after():
    changes = domain.field_changes({"phone": "1", "grade": "A", "notes": None},
                                   {"phone": "2", "grade": "A", "notes": "x"})
    assert changes == [{"field": "phone", "before": "1", "after": "2"},
                       {"field": "notes", "before": None, "after": "x"}]
    assert domain.contact_changed(changes)
    assert not domain.contact_changed(changes[1:])


@pytest.mark.parametrize("grade, days", [("A", 7), ("B", 14), ("C", 30)])
def test_followup_plan_by_grade(grade, days):
    assert (domain.next_followup_due(grade, NOW) - NOW).days == days


def test_followup_plan_is_configurable():
    assert (domain.next_followup_due("A", NOW, {"A": 3, "B": 1, "C": 1}) - NOW).days == 3


def acting(role, actor="lina", members=()):
    return CallContext.from_data({"actor": actor, "actor_role": role,
                                  "team_members": list(members)})


EAST = ("lina", "wang", "zhao")


@pytest.mark.parametrize("context, owner, allowed", [
    (acting("sales"), "lina", True),
    (acting("sales"), "wang", False),
    (acting("manager", "zhao", EAST), "wang", True),
    (acting("manager", "zhao", EAST), "chen", False),
    (acting("manager", "zhao"), "wang", False),  # a manager without a team: its own only
    (acting("admin", "root"), "anyone", True),
    (acting(None, "system"), "anyone", True),  # queue commands
])
def test_who_may_change_a_customer(context, owner, allowed):
    if allowed:
        domain.check_may_change(context, "2026-TECH-001", owner)
    else:
        with pytest.raises(NotOwner) as refused:
            domain.check_may_change(context, "2026-TECH-001", owner)
        assert refused.value.details == {"customer_id": "2026-TECH-001", "owner": owner}


@pytest.mark.parametrize("context, new_owner, allowed", [
    (acting("sales"), "wang", False),
    (acting("manager", "zhao", EAST), "wang", True),
    (acting("manager", "zhao", EAST), "chen", False),
    (acting("admin", "root"), "chen", True),
])
def test_who_may_give_a_customer_to_another_owner(context, new_owner, allowed):
    if allowed:
        domain.check_may_assign(context, new_owner)
    else:
        with pytest.raises(NotOwner):
            domain.check_may_assign(context, new_owner)


@pytest.mark.parametrize("employees, band", [
    (None, None), (0, "micro"), (100, "micro"), (101, "small"), (500, "small"), (501, "medium"),
    (2000, "medium"), (2001, "large"),
])
def test_size_bands_follow_the_staff_count(employees, band):
    assert domain.size_band(employees) == band


def test_a_known_staff_count_decides_the_band_and_a_contradiction_is_refused():
    customer = {"employees": 3000, "size_band": None}
    domain.settle_profile(customer, {"employees": 3000})
    assert customer["size_band"] == "large"
    with pytest.raises(ValidationFailed) as error:
        domain.settle_profile({"employees": 10}, {"size_band": "large"})
    assert set(error.value.details["fields"]) == {"size_band"}
    kept = {"employees": None, "size_band": "medium"}
    domain.settle_profile(kept, kept)
    assert kept["size_band"] == "medium"


def test_a_budget_range_is_ordered():
    domain.settle_profile({"budget_min": Decimal("5"), "budget_max": 5.0}, {})
    with pytest.raises(ValidationFailed) as error:
        domain.settle_profile({"budget_min": 6, "budget_max": Decimal("5")}, {})
    assert set(error.value.details["fields"]) == {"budget_max"}


# --- review (双人校验 / 三级审核) ---------------------------------------------------------------

@pytest.mark.parametrize("review, decision, context, error", [
    ("pending", "verified", acting("sales", "wang"), None),
    ("pending", "verified", acting("sales", "lina"), SamePerson),  # lina made the change
    ("pending", "rejected", acting("sales", "wang"), None),
    ("pending", "verified", acting("support", "wang"), Forbidden),
    ("pending", "approved", acting("manager", "zhao"), ReviewOutOfOrder),
    ("verified", "approved", acting("manager", "zhao"), None),
    ("verified", "approved", acting("admin", "root"), None),
    ("verified", "approved", acting("sales", "wang"), Forbidden),
    ("verified", "rejected", acting("sales", "wang"), Forbidden),
    ("verified", "rejected", acting("manager", "zhao"), None),
    ("verified", "approved", acting("manager", "lina"), SamePerson),
    ("verified", "approved", acting("manager", "chen"), SamePerson),  # chen verified it
    ("verified", "rejected", acting("manager", "chen"), None),
    ("verified", "verified", acting("sales", "wang"), ReviewOutOfOrder),
    ("approved", "rejected", acting("admin", "root"), ReviewOutOfOrder),
    ("rejected", "verified", acting("sales", "wang"), ReviewOutOfOrder),
])
def test_review_steps_in_order_by_someone_other_than_the_author(review, decision, context,
                                                                 error):
    verifier = "chen" if review == "verified" else None
    if error is None:
        domain.check_review_step(context, review, decision, author="lina", verifier=verifier)
    else:
        with pytest.raises(error):
            domain.check_review_step(context, review, decision, author="lina",
                                     verifier=verifier)


def test_reviewed_fields_and_a_rejected_record_go_back_to_review():
    def change(name):
        return [{"field": name, "before": None, "after": "x"}]

    assert all(domain.needs_review(change(name), "approved") for name in (
        "phone", "office_phone", "email", "budget_min", "budget_max", "deal_amount",
        "deal_product", "signed_date"))
    assert not domain.needs_review(change("notes"), "approved")
    assert domain.needs_review(change("notes"), "rejected")


@pytest.mark.parametrize("context, visible", [
    (acting("sales", "lina"), ("lina",)),
    (acting("support", "lina"), ("lina",)),
    (acting("manager", "zhao", EAST), EAST),
    (acting("manager", "zhao"), ("zhao",)),  # a manager without a team: its own
    (acting("admin", "root"), None),
    (acting(None, "system"), None),
])
def test_whose_followups_each_role_sees_across_customers(context, visible):
    assert domain.visible_followup_owners(context) == visible


CHURN_NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("tier, days_quiet, warned_for_spell, due", [
    ("high", 60, False, True),
    ("mid", 75, False, True),
    ("high", 59, False, False),   # not quiet long enough
    ("potential", 120, False, False),
    ("high", 61, True, False),    # this spell was warned of
])
def test_a_valuable_quiet_customer_is_warned_once_per_spell(tier, days_quiet, warned_for_spell,
                                                           due):
    last = CHURN_NOW - timedelta(days=days_quiet)
    warned_for = last if warned_for_spell else last - timedelta(days=200)
    assert domain.churn_warning_due(tier, last, warned_for, CHURN_NOW, 60) is due
