"""Consumers that take a batch (services.common.batches), through real containers on a real
broker and the reporting service's real database: a burst is applied in fewer transactions
than events with exact figures, a repeat inside or across batches takes effect once, a
poison message is dead-lettered alone while the rest of its batch applies, and a batch that
fails transiently is retried message by message without losing any.

A burst is made by publishing while the consumers are stopped (their durable queues hold
the messages) and starting a fresh container, which then takes the whole backlog at once."""
import json
import uuid
from datetime import datetime, timezone

import pytest
from nameko.events import get_event_exchange
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from services.common.batches import consume_event_batches
from services.common.config import settings_from
from services.common.metrics import ServiceMetrics
from services.common.work import UnitOfWorkProvider
from services.reporting.models import EventLog
from services.reporting.service import ReportingService
from services.reporting.simulate import EventStream
from tests.support.commands import dead_letters, publish_raw
from tests.support.services import call, publish
from tests.support.waiting import wait_until

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
RANGE = {"from": "2026-11-01", "to": "2026-11-20"}
BURST = 60
SIZE = 20


@pytest.fixture
def config(make_config):
    # A long wait: only the size closes a batch of the backlog, whatever the machine's load.
    return {**make_config("reporting"), "CONSUMER_BATCH_SIZE": SIZE,
            "CONSUMER_BATCH_WAIT_MS": 300}


def dependency(container, kind):
    return next(extension for extension in container.dependencies if isinstance(extension, kind))


class Reporting:
    """A reporting container started on a backlog, counting the transactions it commits."""

    def __init__(self, container_factory, config):
        self.container = container_factory(ReportingService, config)
        self.commits = 0
        self.database = settings_from(config).database_url("reporting")
        event.listen(Engine, "commit", self._count)
        try:
            self.container.start()
        except Exception:
            self.close()
            raise

    def _count(self, connection):
        if connection.engine.url.render_as_string(hide_password=False) == self.database:
            self.commits += 1

    def close(self):
        event.remove(Engine, "commit", self._count)

    def logged(self) -> int:
        with dependency(self.container, UnitOfWorkProvider).session_factory() as session:
            return session.scalar(select(func.count()).select_from(EventLog))

    def wait_for_log(self, expected: int) -> None:
        wait_until(lambda: self.logged() >= expected, 60, interval=0.05,
                   message=f"{expected} events logged")

    def sample(self, name: str, **labels) -> float:
        registry = dependency(self.container, ServiceMetrics).instruments.registry
        return registry.get_sample_value(name, {"service": "reporting", **labels}) or 0


@pytest.fixture
def backlog(container_factory, config):
    """Declare the reporting queues, stop their consumers, and give a function that starts
    a fresh reporting container on whatever was published meanwhile."""
    first = container_factory(ReportingService, config)
    first.start()
    first.stop()
    started = []
    yield lambda: started.append(Reporting(container_factory, config)) or started[-1]
    for reporting in started:
        reporting.close()


def tickets(stream: EventStream, count: int, first: int = 0) -> list[dict]:
    return [stream.create_ticket(f"C{n % 7}-{n:03d}", f"C{n % 7}", NOW) for n in
            range(first, first + count)]


def test_a_burst_is_applied_in_fewer_transactions_with_exact_figures(backlog, config):
    stream = EventStream()
    publish(config["AMQP_URI"], *tickets(stream, BURST))
    reporting = backlog()
    reporting.wait_for_log(BURST)
    figures = call(reporting.container, "summary", RANGE)
    assert figures["tickets"]["created"] == BURST
    assert figures["tickets"]["by_state"]["pending"] == BURST
    assert reporting.commits < BURST / 2
    workers = reporting.sample("deskflow_handler_duration_seconds_count",
                               entrypoint="on_ticket_event", outcome="ok")
    assert 3 <= workers < BURST / 2
    # The metrics count events, not batches.
    assert reporting.sample("deskflow_events_consumed_total",
                            source="tickets", type="ticket.*") == BURST


def test_a_repeat_inside_and_across_batches_takes_effect_once(backlog, config):
    stream = EventStream()
    earlier = tickets(stream, 5)
    reporting = backlog()
    publish(config["AMQP_URI"], *earlier)
    reporting.wait_for_log(5)
    reporting.container.stop()

    later = tickets(stream, 30, first=5)
    publish(config["AMQP_URI"], *earlier, *later, *later[:10], *earlier)
    reporting = backlog()
    reporting.wait_for_log(35)
    wait_until(lambda: reporting.sample("deskflow_events_consumed_total", source="tickets",
                                        type="ticket.*") == 50, 30, interval=0.05)
    figures = call(reporting.container, "summary", RANGE)
    assert figures["tickets"]["created"] == 35
    assert figures["tickets"]["by_state"]["pending"] == 35
    assert reporting.logged() == 35


def test_a_poison_message_is_dead_lettered_alone_while_its_batch_applies(backlog, config):
    stream = EventStream()
    good = tickets(stream, 30)
    broken = {**tickets(stream, 1, first=30)[0], "data": {"ticket": {"id": "C1-030"}}}
    publish(config["AMQP_URI"], *good[:15], broken, *good[15:])
    publish_raw(config["AMQP_URI"], get_event_exchange("tickets", {}), "ticket.updated",
                b"{not json", "application/json")
    reporting = backlog()
    reporting.wait_for_log(30)
    letters = []
    wait_until(lambda: letters.extend(dead_letters(config["AMQP_URI"])) or len(letters) >= 2,
               30)
    assert len(letters) == 2
    [refused] = [letter for letter in letters
                 if "not JSON" not in letter.headers["x-deskflow-reason"]]
    assert "ValidationFailed" in refused.headers["x-deskflow-reason"]
    assert json.loads(refused.body)["id"] == broken["id"]
    assert {letter.headers["x-deskflow-consumer"] for letter in letters} == {
        "reporting.on_ticket_event"}
    assert call(reporting.container, "summary", RANGE)["tickets"]["created"] == 30
    assert reporting.logged() == 30


class Flaky:
    """A batch consumer whose database is down for its first ``OUTAGE`` workers."""

    name = "flaky"
    OUTAGE = 3
    calls = []
    done = []

    @consume_event_batches({"tickets": ("ticket.commented",)}, size=10)
    def on_comments(self, payloads):
        Flaky.calls.append([payload["id"] for payload in payloads])
        if len(Flaky.calls) <= Flaky.OUTAGE:
            raise OperationalError("SELECT 1", {}, Exception("the database is restarting"))
        Flaky.done.extend(payload["id"] for payload in payloads)


def test_a_batch_that_fails_transiently_is_retried_and_nothing_is_lost(container_factory,
                                                                       config):
    Flaky.calls, Flaky.done = [], []
    config = {**config, "CONSUMER_BATCH_SIZE": 10, "CONSUMER_RETRY_PAUSE_SECONDS": 0.05}
    container = container_factory(Flaky, config)
    container.start()
    container.stop()
    events = [str(uuid.uuid4()) for _ in range(10)]
    for event_id in events:
        publish_raw(config["AMQP_URI"], get_event_exchange("tickets", {}), "ticket.commented",
                    json.dumps({"id": event_id}).encode(), "application/json")
    container_factory(Flaky, config).start()
    wait_until(lambda: sorted(Flaky.done) == sorted(events), 30, interval=0.05)
    assert Flaky.calls[0] == events  # one batch, in delivery order
    # It fell back to one message per worker; the two that failed again came back later.
    assert all(len(ids) == 1 for ids in Flaky.calls[1:3])
    assert sorted(Flaky.done) == sorted(events)
    assert dead_letters(config["AMQP_URI"]) == []
