"""Dead letters through the real gateway, broker and services: admins list them with the
reason, replay them (all, or one consumer's) and delete them; the gateway's /metrics counts
them."""
import json
import re

import pytest
from kombu import Exchange
from nameko.events import get_event_exchange

from services.common.consumers import COMMAND_EXCHANGE
from tests.support.commands import publish_raw, send_command
from tests.support.customers import customer_payload
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
LETTERS = "/api/v1/admin/dead-letters"


def listed(api, **query):
    response = api.get(LETTERS, params=query)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def metric(stack) -> float:
    text = stack.scrape("gateway")
    line = next(line for line in text.splitlines() if line.startswith("deskflow_dead_letters "))
    return float(line.split()[1])


@pytest.fixture
def api(stack):
    admin = stack.admin()
    admin.delete(LETTERS)
    yield admin
    admin.delete(LETTERS)


def topic_matches(pattern: str, routing_key: str) -> bool:
    regex = re.escape(pattern).replace(r"\*", r"[^.]+").replace(r"\#", r".*")
    return re.fullmatch(regex, routing_key) is not None


def subscribers(rabbit_manager, vhost: str, exchange: str, routing_key: str) -> int:
    """How many queues take ``routing_key`` from ``exchange`` (each refuses a bad event)."""
    return sum(1 for queue in rabbit_manager.get_queues(vhost)
               if any(binding["source"] == exchange
                      and topic_matches(binding["routing_key"], routing_key)
                      for binding in rabbit_manager.get_queue_bindings(vhost, queue["name"])))


def test_undecodable_messages_are_listed_counted_replayed_and_deleted(stack, api, rabbit_manager):
    publish_raw(stack.amqp_uri, Exchange("nameko-rpc", type="topic"), "customers.create", b"{oops",
                "application/json")
    publish_raw(stack.amqp_uri, get_event_exchange("tickets", {}), "ticket.created", b'{"id": 1}',
                "text/plain")
    publish_raw(stack.amqp_uri, COMMAND_EXCHANGE, "ticket.create",
                json.dumps({"pad": "x" * 2_000_000}).encode(), "application/json")
    # one letter for the RPC request, one per subscriber of the event, one for the command
    expected = 2 + subscribers(rabbit_manager, stack.env["DESKFLOW_TEST_VHOST"],
                               "tickets.events", "ticket.created")
    letters = wait_until(lambda: len(items := listed(api)) == expected and items, timeout=60)
    by_reason = {letter["reason"].split(":")[0]: letter for letter in letters}
    assert {"not JSON", "wrong content type", "oversized"} <= set(by_reason)
    rpc = by_reason["not JSON"]
    assert (rpc["consumer"], rpc["routing_key"], rpc["body_preview"]) == (
        "customers.rpc", "customers.create", "{oops")
    assert rpc["first_seen"] and rpc["id"]
    # the event goes to every subscriber of ticket.created: each refuses it on its own
    event_consumers = {letter["consumer"] for letter in letters
                       if letter["reason"].startswith("wrong content type")}
    assert "customers.ticket_activity" in event_consumers
    assert len(by_reason["oversized"]["body_preview"]) == 300
    assert metric(stack) == len(letters)

    replayed = api.post(f"{LETTERS}/replay", json={"consumer": "customers.rpc"})
    assert replayed.json() == {"count": 1}
    # back to its consumer, which refuses it again: the same letter, first seen as before
    again = wait_until(lambda: [letter for letter in listed(api, consumer="customers.rpc")
                                if letter["id"] == rpc["id"]], timeout=30)
    assert again[0]["first_seen"] == rpc["first_seen"]
    assert len(listed(api)) == len(letters)

    assert api.delete(LETTERS, params={"consumer": "customers.rpc"}).json() == {"count": 1}
    assert api.delete(LETTERS).json() == {"count": len(letters) - 1}
    assert listed(api) == [] and metric(stack) == 0


def test_a_replayed_command_takes_effect_once_its_cause_is_fixed(stack, api):
    """A ticket.create command for a customer that does not exist yet is dead-lettered;
    once the customer exists, the replay opens the ticket."""
    first = api.post("/api/v1/customers", json=customer_payload(
        name="Dead Letter One", industry="GOV")).json()
    year, industry, number = first["id"].split("-")
    coming = f"{year}-{industry}-{int(number) + 1:03d}"
    send_command(stack.amqp_uri, "ticket.create", {
        "customer_id": coming, "service_type": "aftersales", "category": "inquiry",
        "title": "Sent before the customer existed"})
    [letter] = wait_until(lambda: listed(api, consumer="tickets.create_command"), timeout=60)
    assert coming in letter["reason"]
    second = api.post("/api/v1/customers", json=customer_payload(
        name="Dead Letter Two", industry="GOV"))
    assert second.json()["id"] == coming
    assert api.post(f"{LETTERS}/replay", json={"id": letter["id"]}).json() == {"count": 1}
    tickets = wait_until(lambda: api.get("/api/v1/tickets", params={"customer_id": coming})
                         .json()["items"], timeout=60)
    assert [ticket["title"] for ticket in tickets] == ["Sent before the customer existed"]
    assert listed(api) == []


def test_only_admins_see_dead_letters(stack):
    sales = stack.user("sales")
    assert sales.get(LETTERS).status_code == 403
    assert sales.post(f"{LETTERS}/replay", json={}).status_code == 403
    assert stack.admin().get(LETTERS, params={"colour": "red"}).status_code == 422
