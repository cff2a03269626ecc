"""The richer profile (客户画像) through the customer service in a real container: validated,
derived, in the change log and in the ``customer.updated`` event."""
import pytest
from nameko.testing.services import entrypoint_waiter

from services.common.consumers import consume_event
from services.common.errors import ValidationFailed
from services.customer.service import CustomerService
from tests.integration.test_customer_service import call
from tests.support.customers import customer_payload

PROFILE = {
    "sub_industry": "工业软件", "employees": 350, "contact_title": "采购总监",
    "legal_representative": "张伟", "office_phone": "021-6888-0001",
    "business_area": "华东", "needs": "MES rollout", "pain_points": "Paper records",
    "decision_chain": "CTO → CFO → CEO", "budget_min": 200000, "budget_max": 500000,
    "expected_start": "2027-03-01", "preferred_channel": "meeting",
    "preferences": "Mornings", "market_position": "Regional leader",
    "need_tags": ["product_oriented", "service_oriented"], "tags": ["MES"],
}


class UpdateListener:
    name = "update_listener"
    received = []

    @consume_event("customers", "customer.updated")
    def on_updated(self, envelope):
        self.received.append(envelope)


@pytest.fixture
def config(make_config, container_factory):
    config = make_config("customer")
    container_factory(CustomerService, config).start()
    return config


def test_the_profile_round_trips_and_its_changes_are_logged_and_published(config,
                                                                          container_factory):
    referrer = call(config, "create", customer_payload(name="Referrer Co"))
    created = call(config, "create", customer_payload(referred_by=referrer["id"], **PROFILE))
    assert {name: created[name] for name in PROFILE} == {
        **PROFILE, "budget_min": 200000.0, "budget_max": 500000.0}
    assert created["size_band"] == "small"  # derived from 350 staff
    assert created["referred_by"] == referrer["id"]

    UpdateListener.received = []
    listener = container_factory(UpdateListener, config)
    listener.start()
    with entrypoint_waiter(listener, "on_updated", timeout=10):
        updated = call(config, "update", created["id"], {
            "employees": 2500, "budget_max": 800000, "need_tags": ["relationship_oriented"]})
    assert updated["size_band"] == "large"
    expected = [
        {"field": "employees", "before": 350, "after": 2500},
        {"field": "size_band", "before": "small", "after": "large"},
        {"field": "budget_max", "before": 500000.0, "after": 800000.0},
        {"field": "need_tags", "before": ["product_oriented", "service_oriented"],
         "after": ["relationship_oriented"]},
    ]
    assert call(config, "history", created["id"])[0]["changes"] == expected
    (event,) = UpdateListener.received
    assert event["data"]["changes"] == expected
    assert event["data"]["customer"]["size_band"] == "large"


def test_a_size_band_is_settable_without_a_staff_count(config):
    created = call(config, "create", customer_payload(size_band="medium"))
    assert created["size_band"] == "medium"


@pytest.mark.parametrize("fields, bad", [
    ({"employees": 50, "size_band": "large"}, {"size_band"}),
    ({"budget_min": 9, "budget_max": 1}, {"budget_max"}),
    ({"budget_min": -1}, {"budget_min"}),
    ({"referred_by": "2026-TECH-999"}, {"referred_by"}),
    ({"need_tags": ["price_oriented"]}, {"need_tags"}),
    ({"preferred_channel": "fax"}, {"preferred_channel"}),
    ({"sub_industry": "x" * 61, "expected_start": "soon"}, {"sub_industry", "expected_start"}),
])
def test_bad_profile_fields_are_refused_naming_each(config, fields, bad):
    with pytest.raises(ValidationFailed) as error:
        call(config, "create", customer_payload(**fields))
    assert set(error.value.details["fields"]) == bad


def test_an_update_keeps_the_budget_range_and_cannot_refer_to_itself(config):
    created = call(config, "create", customer_payload(budget_min=100, budget_max=200))
    with pytest.raises(ValidationFailed) as error:
        call(config, "update", created["id"], {"budget_min": 300})
    assert set(error.value.details["fields"]) == {"budget_max"}
    with pytest.raises(ValidationFailed) as error:
        call(config, "update", created["id"], {"referred_by": created["id"]})
    assert set(error.value.details["fields"]) == {"referred_by"}


def test_the_list_filters_by_tag_need_tag_size_band_and_sub_industry(config):
    first = call(config, "create", customer_payload(
        tags=["ERP", "云"], need_tags=["service_oriented"], employees=80, sub_industry="零售连锁"))
    second = call(config, "create", customer_payload(
        tags=["ERP_X"], need_tags=["product_oriented"], employees=900, sub_industry="零售连锁"))

    def ids(**query):
        return [item["id"] for item in call(config, "list", query)["items"]]

    assert ids(tag="ERP") == [first["id"]]  # not ERP_X: whole tags only
    assert ids(tag="云") == [first["id"]]
    assert ids(need_tag="product_oriented") == [second["id"]]
    assert ids(size_band="micro") == [first["id"]]
    assert sorted(ids(sub_industry="零售连锁")) == sorted([first["id"], second["id"]])
    assert ids(tag="ERP", size_band="medium") == []
    with pytest.raises(ValidationFailed):
        call(config, "list", {"need_tag": "price_oriented"})
