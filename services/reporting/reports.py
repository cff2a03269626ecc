"""The reporting service's use cases: consume an event into the read model, answer the
summary, build an export, and rebuild the read model from the event log."""
import logging
from datetime import datetime

from services.common.consuming import first_copies
from services.common.events import parse_envelope
from services.common.errors import ValidationFailed
from services.common.schemas import load_or_422, schema_of
from services.reporting import (
    detail_store, details, domain, export_files, periods, schemas, store, trends,
)
from services.reporting import summary as summaries

log = logging.getLogger(__name__)

REBUILD_BATCH = 2000


def event_of(envelope: dict) -> tuple[str, datetime, dict]:
    """``(type, occurred_at, data)`` with the data validated and its times parsed."""
    event_type = envelope["type"]
    occurred_at = datetime.fromisoformat(envelope["occurred_at"])
    return event_type, occurred_at, schemas.load_event(event_type, envelope["data"])


def _entity_keys(data: dict) -> set[str]:
    """What one event changes, to lock: its customer, ticket or task, and a ticket's
    customer (ticket activity moves the customer's last activity)."""
    keys = {f"{kind}:{data[kind]['id']}" for kind in ("customer", "ticket", "task") if kind in data}
    if "ticket" in data:
        keys.add(f"customer:{data['ticket']['customer_id']}")
    if "followup" in data and data["followup"].get("customer_id"):
        keys.add(f"customer:{data['followup']['customer_id']}")
    return keys


def apply_events(session, events: list[tuple[str, datetime, dict]]) -> domain.Aggregator:
    """Apply parsed events, in order, to the read model (the aggregator's deltas are written
    but not committed)."""
    customer_ids = {data["customer"]["id"] for _, _, data in events if "customer" in data}
    ticket_ids = {data["ticket"]["id"] for _, _, data in events if "ticket" in data}
    customer_ids |= {data["ticket"]["customer_id"] for _, _, data in events if "ticket" in data}
    customer_ids |= {data["followup"]["customer_id"] for _, _, data in events
                     if "followup" in data and data["followup"].get("customer_id")}
    customers, tickets = store.load_states(session, customer_ids, ticket_ids)
    aggregator = domain.Aggregator(customers=customers, tickets=tickets)
    for event in events:
        aggregator.apply(*event)
    store.flush(session, aggregator)
    return aggregator


def apply_details(session, events: list[tuple[str, datetime, dict]]) -> None:
    """Write the detail rows of the exports for these parsed events (in order)."""
    detail_store.write(session, [row for event in events for row in details.rows_of(*event)])


def consume_batch(uow, payloads: list) -> int:
    """Log and apply delivered events in one transaction; return how many took effect.

    A repeat delivery (logged before, or twice in ``payloads``) and an event type the read
    model does not use change nothing. An envelope or event that does not validate raises
    before anything is written, so the caller can set it apart (see
    :mod:`services.common.batches`)."""
    envelopes = [parse_envelope(payload) for payload in payloads]
    parsed = [(envelope, event_of(envelope)) for envelope in envelopes
              if schemas.is_consumed(envelope["type"])]
    if not parsed:
        return 0
    session = uow.session
    fresh = store.record_events(session, [(envelope, event[1]) for envelope, event in parsed],
                                uow.now(),
                                {key for _, event in parsed for key in _entity_keys(event[2])})
    new = first_copies(parsed, fresh, lambda item: item[0]["id"])
    if len(new) < len(parsed):
        log.info("%d of %d events already applied; skipped", len(parsed) - len(new),
                 len(parsed))
    if not new:
        uow.rollback()
        return 0
    events = [event for _, event in new]
    apply_events(session, events)
    apply_details(session, events)
    uow.commit()
    return len(new)


def rebuild(session, progress=lambda replayed: None) -> int:
    """Empty the read model and replay the whole event log into it, in arrival order, in
    this one transaction (readers keep the old figures until it commits). Returns how many
    events were replayed."""
    store.lock_log(session)
    store.clear_read_model(session)
    detail_store.clear(session)
    last_seq = replayed = 0
    while batch := store.logged_events(session, last_seq, REBUILD_BATCH):
        events = [event_of(row.envelope) for row in batch]
        apply_events(session, events)
        apply_details(session, events)
        last_seq, replayed = batch[-1].seq, replayed + len(batch)
        progress(replayed)
    session.commit()
    return replayed


def _range(query: dict, now: datetime) -> tuple:
    """The query's days: ``range`` (30d, quarter, year), or ``from``/``to`` around the
    default of the last 30 days."""
    today = periods.day_of(now)
    if "range" in query:
        return periods.named_range(query["range"], today)
    start, end = periods.default_range(today)
    start, end = query.get("start", start), query.get("end", end)
    if start > end:  # only one end given, beyond the default other end
        raise ValidationFailed("'from' must not be after 'to'.",
                               {"fields": {"from": ["Must not be after 'to'."]}})
    return start, end


def summary(uow, query: dict) -> dict:
    wanted = load_or_422(schema_of(schemas.SummaryQuerySchema), query)
    return _summary(uow, wanted)


def _summary(uow, wanted: dict) -> dict:
    now = uow.now()
    start, end = _range(wanted, now)
    figures = store.read_figures(uow.session, start, end, now)
    uow.session.rollback()
    return schema_of(schemas.SummarySchema).dump(
        summaries.summarise(figures, wanted["approved_only"]))


def trend_points(session, metric: str, interval: str, start, end) -> dict:
    """``{metric, interval, points: [{period, value}]}`` of one metric over ``[start, end]``
    (see :func:`services.reporting.trends.trend`); what the trend RPC answers and what
    the exports draw their line charts from."""
    daily = store.daily_counters(session, trends.counters_of(metric), start, end)
    return trends.trend(metric, interval, start, end, daily)


def trend(uow, query: dict) -> dict:
    wanted = load_or_422(schema_of(schemas.TrendQuerySchema), query)
    start, end = _range(wanted, uow.now())
    points = trend_points(uow.session, wanted["metric"], wanted["interval"], start, end)
    uow.session.rollback()
    return schema_of(schemas.TrendSchema).dump(points)


def export(uow, query: dict, settings) -> dict:
    """The whole file in one answer, ``{filename, content_type, content}`` (base64), for
    callers with small ranges. The gateway does not use it: it writes every file itself from
    :func:`export_outline` and :func:`export_rows`, page by page."""
    wanted = load_or_422(schema_of(schemas.ExportQuerySchema), query)
    report = _summary(uow, wanted)
    return export_files.build_file(uow.session, report, wanted, settings)


def export_outline(uow, query: dict) -> dict:
    """What an export holds apart from its detail rows: the summary, the trends and the
    detail tables with their row counts."""
    wanted = load_or_422(schema_of(schemas.ExportQuerySchema), query)
    report = _summary(uow, wanted)
    outline = export_files.outline(uow.session, report)
    uow.session.rollback()
    return outline


def export_rows(uow, query: dict) -> dict:
    """One page of a detail table: ``{rows, after}`` (``after`` is null on the last page)."""
    wanted = load_or_422(schema_of(schemas.ExportRowsQuerySchema), query)
    start, end = _range(wanted, uow.now())
    page = export_files.rows(uow.session, wanted["table"], start, end, wanted.get("after"),
                             wanted["limit"])
    uow.session.rollback()
    return page
