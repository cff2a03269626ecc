"""The reporting summary's time at 10,000 and at 1,000,000 tickets of history, side by side
in one run, on PostgreSQL: ``.venv/bin/python bench/report_summary.py``.

Each history spans the same 365 days (the large one is 100 times as busy) and is loaded
through the service's own aggregation code: envelopes shaped as docs/events.md are parsed
and applied by ``reports.apply_events`` in batches, exactly as the rebuild replays the log
(the event log itself is not written: the summary never reads it). Then the summary use
case (the reporting service's ``summary`` RPC without the broker hop) is timed for the
default 30-day range and for the whole year.

Options: ``--small N`` and ``--large N`` tickets (default 10,000 and 1,000,000),
``--repeat N`` timed summaries per case (default 30). Loading a million tickets takes a
while, so ``--keep`` leaves the two loaded databases in place and prints how to time them
again without loading (``--small-url URL --large-url URL --now MOMENT``).

The last lines print, per range, the ratio of the median at the large history to the
median at the small one; issue 13 asks for at most 2× for the last 365 days.
"""
import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common.clock import ManualClock  # noqa: E402
from services.common.context import CallContext  # noqa: E402
from services.common.db import make_engine  # noqa: E402
from services.common.outbox import UnitOfWork  # noqa: E402
from services.reporting import domain, models, reports  # noqa: E402
from services.reporting.simulate import EventStream  # noqa: E402
from tests.support.databases import PostgresDatabases  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
TARGET_RATIO = 2.0
HISTORY_DAYS = 365
TICKETS_PER_CUSTOMER = 50
TICKETS_PER_BATCH = 1000
OPEN_WINDOW = timedelta(days=3)  # tickets younger than this may still be open
FIRST_RESPONSE_TARGET = {"complaint": 600}
RESOLUTION_TARGET = {"high": 7200, "medium": 86400, "low": 259200}


def weighted(rng, options: dict):
    return rng.choices(list(options), weights=list(options.values()))[0]


def customer_events(count: int, rng) -> list[dict]:
    stream = EventStream()
    start = NOW - timedelta(days=HISTORY_DAYS + 30)
    for number in range(count):
        customer_id = f"2025-TECH-{number + 1:05d}"
        stream.create_customer(
            customer_id, start + timedelta(minutes=number),
            type=weighted(rng, {"prospect": 5, "intent": 3, "deal": 2}),
            grade=rng.choice(domain.GRADES), industry=rng.choice(domain.INDUSTRIES),
            source=rng.choice(domain.SOURCES + (None,)))
        if rng.random() < 0.2:
            stream.convert(customer_id, start + timedelta(days=rng.uniform(30, HISTORY_DAYS)))
        for _ in range(rng.randint(1, 6)):
            stream.log_followup(customer_id, start + timedelta(days=rng.uniform(30, HISTORY_DAYS)),
                                weighted(rng, {"positive": 5, "neutral": 3, "negative": 2}))
    return stream.envelopes


def ticket_lifecycle(stream: EventStream, ticket_id: str, customer_id: str, created, rng):
    """One ticket as the ticket service reports it: the events that carry its changes."""
    category = weighted(rng, {"inquiry": 5, "complaint": 2, "suggestion": 1, "need": 2,
                              "cooperation": 1})
    priority = weighted(rng, {"high": 2, "medium": 5, "low": 3})
    stream.create_ticket(ticket_id, customer_id, created,
                         weighted(rng, {"presales": 2, "insales": 2, "aftersales": 5,
                                        "value_added": 1}), category, priority)
    fresh = NOW - created < OPEN_WINDOW
    if fresh and rng.random() < 0.4:
        return  # still pending
    first = rng.lognormvariate(7.0, 1.2)  # about 20 minutes, with a long tail
    first_target = FIRST_RESPONSE_TARGET.get(category, 7200)
    if first > first_target:
        stream.breach(ticket_id, "first_response", created + timedelta(seconds=first_target))
    started = created + timedelta(seconds=first)
    stream.stop_clock(ticket_id, "first_response", started, first, met=first <= first_target,
                      state="in_progress")
    if fresh and rng.random() < 0.5:
        return  # still in progress
    resolution = first + rng.lognormvariate(10.0, 1.0)  # about 6 hours
    resolution_target = RESOLUTION_TARGET[priority]
    if resolution > resolution_target:
        stream.breach(ticket_id, "resolution", created + timedelta(seconds=resolution_target))
    done = created + timedelta(seconds=resolution)
    stream.stop_clock(ticket_id, "resolution", done, resolution,
                      met=resolution <= resolution_target, state="done")
    stream.stop_clock(ticket_id, "update", done, resolution - first)
    if rng.random() < 0.6:
        stream.rate(ticket_id, done + timedelta(hours=2), rng.choice((1, 2, 3, 4, 4, 5, 5, 5)),
                    rng.randint(0, 10) if rng.random() < 0.7 else None)
    if not fresh:
        stream.transition(ticket_id, "closed", done + timedelta(days=1))


def ticket_batches(tickets: int, customers: int, rng):
    """Envelopes of ``TICKETS_PER_BATCH`` tickets at a time, oldest first."""
    span = timedelta(days=HISTORY_DAYS) / tickets
    start = NOW - timedelta(days=HISTORY_DAYS)
    sequence = {}
    for first in range(0, tickets, TICKETS_PER_BATCH):
        stream = EventStream()
        for number in range(first, min(tickets, first + TICKETS_PER_BATCH)):
            customer_id = f"2025-TECH-{rng.randrange(customers) + 1:05d}"
            sequence[customer_id] = sequence.get(customer_id, 0) + 1
            ticket_lifecycle(stream, f"{customer_id}-{sequence[customer_id]:03d}", customer_id,
                             start + span * number, rng)
        yield stream.envelopes


def load(session_factory, tickets: int, label: str) -> int:
    """Apply a whole history through the aggregation code; returns the number of events."""
    rng = random.Random(tickets)
    customers = max(1, tickets // TICKETS_PER_CUSTOMER)
    applied = 0
    with session_factory() as session:
        envelopes = customer_events(customers, rng)
        reports.apply_events(session, [reports.event_of(envelope) for envelope in envelopes])
        applied += len(envelopes)
        session.commit()
        with tqdm(total=tickets, desc=f"loading {label}", unit="ticket") as bar:
            for envelopes in ticket_batches(tickets, customers, rng):
                reports.apply_events(session, [reports.event_of(e) for e in envelopes])
                session.commit()
                applied += len(envelopes)
                bar.update(min(TICKETS_PER_BATCH, tickets - bar.n))
    return applied


def time_summary(session_factory, query: dict, repeat: int) -> dict:
    uow_of = lambda: UnitOfWork(session_factory, models, "reporting",  # noqa: E731
                                CallContext.from_data({}), ManualClock(NOW))
    timings = []
    for attempt in range(repeat + 3):
        uow = uow_of()
        started = time.perf_counter()
        summary = reports.summary(uow, query)
        elapsed = time.perf_counter() - started
        uow.close()
        if attempt >= 3:  # the first calls warm the connection pool and caches
            timings.append(elapsed)
    timings.sort()
    return {"median_ms": statistics.median(timings) * 1000,
            "p90_ms": timings[int(len(timings) * 0.9) - 1] * 1000,
            "created": summary["tickets"]["created"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="leave the loaded databases")
    parser.add_argument("--small-url", help="time an already loaded database (no loading)")
    parser.add_argument("--large-url", help="time an already loaded database (no loading)")
    parser.add_argument("--now", help="the moment the reused databases were loaded at")
    args = parser.parse_args()
    global NOW
    if args.now:
        NOW = datetime.fromisoformat(args.now)
    databases = PostgresDatabases(POSTGRES)
    engines = []
    try:
        results = {}
        sizes = {"small": args.small, "large": args.large}
        factories, urls = {}, {"small": args.small_url, "large": args.large_url}
        for label, tickets in sizes.items():
            url = urls[label] or databases.fresh("reporting")
            engine = make_engine(url)
            engines.append(engine)
            factories[label] = sessionmaker(engine, expire_on_commit=False)
            if urls[label]:
                continue
            urls[label] = url
            started = time.perf_counter()
            events = load(factories[label], tickets, label)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
            print(f"{label}: {tickets:,} tickets, {events:,} events loaded in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        if args.keep:
            databases.created.clear()  # left in place; drop them with DROP DATABASE
            print(f"kept: --small-url {urls['small']} --large-url {urls['large']} "
                  f"--now {NOW.isoformat()}", flush=True)
        ranges = {"last 30 days": {},
                  "last 365 days": {"from": (NOW - timedelta(days=364)).date().isoformat()}}
        for range_label, query in ranges.items():
            for label in sizes:
                results[(range_label, label)] = time_summary(factories[label], query, args.repeat)
        print()
        print(f"{'range':<15}{'tickets':>12}{'created in range':>18}{'median ms':>11}"
              f"{'p90 ms':>9}")
        for (range_label, label), figures in results.items():
            print(f"{range_label:<15}{sizes[label]:>12,}{figures['created']:>18,}"
                  f"{figures['median_ms']:>11.2f}{figures['p90_ms']:>9.2f}")
        for range_label in ranges:
            ratio = (results[(range_label, "large")]["median_ms"]
                     / results[(range_label, "small")]["median_ms"])
            verdict = "within" if ratio <= TARGET_RATIO else "OVER"
            print(f"{range_label}: {sizes['large']:,} vs {sizes['small']:,} tickets: "
                  f"median ratio {ratio:.2f}x ({verdict} the {TARGET_RATIO:g}x target)")
    finally:
        for engine in engines:
            engine.dispose()
        databases.drop_all()


if __name__ == "__main__":
    main()
