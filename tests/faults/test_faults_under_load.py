"""Faults in the middle of a creation load: nothing lost, nothing twice, no 500, and the
read models catch up. Each test prints ``sent, 201, 503, other, lost, duplicated``."""
import os
import signal
import time
from collections import Counter

import pytest

from services.common.config import SERVICE_CLASSES
from services.common.consumers import consume_event
from services.common.errors import Unavailable
from tests.faults.conftest import assert_caught_up
from tests.support.commands import dead_letters
from tests.support.load import CreationLoad
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults

CONCURRENCY = 6
WARM_UP_PAIRS = 10  # customer+ticket pairs done before the fault, and again after it


def start_load(stack, label: str, operations: int | None = None):
    owner = stack.user("support")
    load = CreationLoad(stack.admin(), label, operations, CONCURRENCY, owner.username).start()
    load.wait_for_progress(WARM_UP_PAIRS)
    return load, owner


def finish(stack, load, owner, scenario) -> dict:
    load.wait()
    scenario.phase("load")
    figures = scenario.figures = load.audit()
    assert figures["500"] == 0, load.others
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["other"] == 0, load.others
    assert figures["201"] == figures["sent"]
    scenario.phase("audit")
    assert_caught_up(stack, owner)
    scenario.phase("catch-up")
    return figures


def pids_of(stack, name: str) -> list[int]:
    """The processes of service ``name``; for ``gateway``, gunicorn's master and workers."""
    if name == "gateway":
        master = stack.gateway_pid()
        return [master, *stack.gateway_worker_pids()] if master else []
    pid = stack.service_pid(name)
    return [pid] if pid else []


def survives(stack, scenario, label: str, fault) -> dict:
    """Start the load, apply ``fault(load)`` while it runs, keep the load going until it has
    done as much again after the fault, then stop it and check."""
    load, owner = start_load(stack, label)
    scenario.phase("warm-up")
    fault(load)
    scenario.phase("fault")
    load.wait_for_progress(WARM_UP_PAIRS)
    load.stop()
    return finish(stack, load, owner, scenario)


def test_each_service_and_the_gateway_killed_in_turn(fault_stack, scenario):
    """The gateway's requests under way die with it: clients retry them on another
    connection with the same key, and the new gateway takes over their claims."""
    def kill_each(load):
        for name in (*SERVICE_CLASSES, "gateway"):
            victims = pids_of(fault_stack, name)
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: pids_of(fault_stack, name)[:1] not in ([], victims[:1]),
                       timeout=60, message=f"the supervisor restarts {name}")
            load.wait_for_progress(2)  # the load goes on before the next one is killed

    survives(fault_stack, scenario, "kill", kill_each)


def test_broker_stopped_and_started(fault_stack, private_servers, scenario):
    def restart(load):
        private_servers.rabbit.stop()
        time.sleep(3)  # the outage: nothing listens for 3 s more
        private_servers.rabbit.start()

    survives(fault_stack, scenario, "broker", restart)


def test_database_restarted(fault_stack, private_servers, scenario):
    survives(fault_stack, scenario, "database",
             lambda load: private_servers.postgres.restart())


CONSUMER = "faults_always_failing.on_ticket_created"


class AlwaysFailing:
    """A consumer of every new ticket whose handler always fails: transiently (the kind
    of failure that is retried) or for good."""

    name = "faults_always_failing"
    calls = Counter()

    @consume_event("tickets", "ticket.created")
    def on_ticket_created(self, envelope):
        self.calls[envelope["id"]] += 1
        if envelope["data"]["ticket"]["priority"] == "low":
            raise Unavailable("this handler never gets its database")
        raise RuntimeError("this handler has a bug")


def test_a_handler_that_always_fails_dead_letters_after_bounded_attempts(
        fault_stack, container_factory, scenario):
    max_attempts = 3
    container = container_factory(AlwaysFailing, {
        "AMQP_URI": fault_stack.amqp_uri, "serializer": "json",
        "CONSUMER_MAX_ATTEMPTS": max_attempts, "CONSUMER_RETRY_PAUSE_SECONDS": 0.1})
    container.start()
    AlwaysFailing.calls.clear()
    load, owner = start_load(fault_stack, "dead letters", operations=20)
    admin = fault_stack.admin()
    bug = admin.post("/api/v1/tickets", json={
        "customer_id": admin.get("/api/v1/customers", params={"per_page": 1}).json()["items"][0]["id"],
        "service_type": "presales", "category": "inquiry", "priority": "high",
        "title": "Fault dead letters: a bug"}).json()
    finish(fault_stack, load, owner, scenario)
    made = set(load.created["tickets"].values()) | {bug["id"]}

    # Delivery is at least once: a relay may publish again an event whose first publication
    # it could not record (an earlier scenario's database restart, or a slow fast path), and
    # each copy, this scenario's or an earlier one's, ends in the dead-letter queue on its
    # own after its own bounded attempts. So the bound is per copy, and the wait lasts until
    # this scenario's tickets are all there and every copy tried has been dead-lettered.
    letters, copies = [], Counter()

    def tries_expected(letter) -> int:
        return 1 if letter.payload["data"]["ticket"]["id"] == bug["id"] else max_attempts

    def all_dead_lettered():
        for letter in dead_letters(fault_stack.amqp_uri):
            if letter.headers["x-deskflow-consumer"] == CONSUMER:
                letters.append(letter)
                copies[letter.payload["id"]] += 1
        dead = {letter.payload["data"]["ticket"]["id"] for letter in letters}
        return made <= dead and sum(AlwaysFailing.calls.values()) == sum(
            tries_expected(letter) for letter in letters)

    wait_until(all_dead_lettered, timeout=120, message=f"{len(made)} dead-lettered tickets")
    by_ticket = {letter.payload["data"]["ticket"]["id"]: letter for letter in letters}
    buggy = by_ticket.pop(bug["id"])
    assert buggy.headers["x-deskflow-reason"].startswith("RuntimeError: this handler has a bug")
    assert AlwaysFailing.calls[buggy.payload["id"]] == copies[buggy.payload["id"]]  # no retry
    for letter in by_ticket.values():
        assert letter.headers["x-deskflow-reason"].startswith(
            f"gave up after {max_attempts} attempts: ")
        event_id = letter.payload["id"]
        assert AlwaysFailing.calls[event_id] == max_attempts * copies[event_id]

