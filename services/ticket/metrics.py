"""The ticket figures: tickets by state, how old the open ones are, SLA clocks running, SLA
clock cycles and alerts by clock (totals so far) and the first-response and resolution time
distributions. Aggregate queries, run by the
service's metrics refresh round (:class:`~services.common.metrics.ServiceMetrics`), never
by a scrape; the ``metrics`` RPC answers the same figures."""
from collections import Counter

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from datetime import timedelta

from sqlalchemy import case, func, select

from services.ticket import domain, sla
from services.ticket.models import ArchivedTicket, SlaClock, Ticket

# The open backlog's ageing: open tickets received longer ago than each of these.
AGE_BANDS = {"1h": 3600, "4h": 4 * 3600, "1d": 86400, "3d": 3 * 86400, "7d": 7 * 86400}
HISTOGRAM_BUCKETS = (60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 259200,
                     604800)


def _histogram(session, clock: str) -> dict:
    elapsed = SlaClock.elapsed_seconds
    columns = [func.count(), func.coalesce(func.sum(elapsed), 0.0)]
    columns += [func.coalesce(func.sum(case((elapsed <= bound, 1), else_=0)), 0)
                for bound in HISTOGRAM_BUCKETS]
    row = session.execute(select(*columns).where(SlaClock.clock == clock,
                                                 SlaClock.stopped_at.is_not(None))).one()
    return {"count": row[0], "sum": float(row[1]),
            "buckets": [[bound, int(value)] for bound, value in zip(HISTOGRAM_BUCKETS, row[2:])]}


def _backlog_ages(session, now) -> tuple[dict, float]:
    """Open tickets older than each band, and the age in seconds of the oldest."""
    received = Ticket.received_at
    columns = [func.min(received)] + [
        func.coalesce(func.sum(case((received <= now - timedelta(seconds=seconds), 1), else_=0)), 0)
        for seconds in AGE_BANDS.values()]
    oldest, *counts = session.execute(
        select(*columns).where(Ticket.state.in_(domain.OPEN_STATES))).one()
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return dict(zip(AGE_BANDS, (int(count) for count in counts))), age


def figures(session, now) -> dict:
    by_state = Counter()
    for model in (Ticket, ArchivedTicket):  # an archived ticket still counts (as closed)
        by_state.update(dict(session.execute(
            select(model.state, func.count()).group_by(model.state)).all()))
    alerts = session.execute(select(SlaClock.clock, func.count(), func.count(SlaClock.warned_at),
                                    func.count(SlaClock.breached_at)).group_by(SlaClock.clock)).all()
    status = case((SlaClock.held_since.is_(None), "running"), else_="held")
    clocks = session.execute(select(SlaClock.clock, status, func.count())
                             .where(SlaClock.stopped_at.is_(None))
                             .group_by(SlaClock.clock, status)).all()
    older_than, oldest_age = _backlog_ages(session, now)
    result = {
        "tickets_by_state": {state: by_state.get(state, 0) for state in domain.STATES},
        "open_older_than": older_than,
        "oldest_open_age_seconds": oldest_age,
        "sla_cycles": {clock: 0 for clock in sla.CLOCKS},
        "sla_clocks": {clock: {"running": 0, "held": 0} for clock in sla.CLOCKS},
        "sla_warnings": {clock: 0 for clock in sla.CLOCKS},
        "sla_breaches": {clock: 0 for clock in sla.CLOCKS},
        "first_response_seconds": _histogram(session, "first_response"),
        "resolution_seconds": _histogram(session, "resolution"),
    }
    for clock, cycles, warned, breached in alerts:
        result["sla_cycles"][clock] = cycles
        result["sla_warnings"][clock], result["sla_breaches"][clock] = warned, breached
    for clock, state, number in clocks:
        result["sla_clocks"].setdefault(clock, {})[state] = number
    return result


def metrics(uow) -> dict:
    """The figures, for the ``metrics`` RPC."""
    answer = figures(uow.session, uow.now())
    uow.rollback()
    return answer


def families(session, now):
    """Prometheus metric families of the figures (the refresh round's ``business``)."""
    return to_families(figures(session, now))


def to_families(figures: dict):
    states = GaugeMetricFamily("deskflow_tickets", "Tickets by state.", labels=["state"])
    for state, number in figures["tickets_by_state"].items():
        states.add_metric([state], number)
    yield states
    ages = GaugeMetricFamily("deskflow_open_tickets_older_than",
                             "Open tickets (pending, in progress) received longer ago than "
                             "the band.", labels=["band"])
    for band, number in figures["open_older_than"].items():
        ages.add_metric([band], number)
    yield ages
    yield GaugeMetricFamily("deskflow_oldest_open_ticket_age_seconds",
                            "Age of the oldest open ticket (0 when none).",
                            value=figures["oldest_open_age_seconds"])
    clocks = GaugeMetricFamily("deskflow_sla_clocks",
                               "SLA clocks not yet stopped, running or held, by clock.",
                               labels=["clock", "status"])
    for clock, numbers in figures["sla_clocks"].items():
        for status, number in numbers.items():
            clocks.add_metric([clock, status], number)
    yield clocks
    for key, name, text in (("sla_cycles", "deskflow_sla_cycles", "SLA clock cycles started, by clock."),
                            ("sla_warnings", "deskflow_sla_warnings", "SLA warnings (80%) by clock."),
                            ("sla_breaches", "deskflow_sla_breaches", "SLA breaches by clock.")):
        counter = CounterMetricFamily(name, text, labels=["clock"])
        for clock, number in figures[key].items():
            counter.add_metric([clock], number)
        yield counter
    for key, text in (("first_response_seconds", "Time to first response."),
                      ("resolution_seconds", "Time to resolution.")):
        yield _histogram_family(f"deskflow_ticket_{key}", text, figures[key])


def _histogram_family(name: str, text: str, figures: dict) -> HistogramMetricFamily:
    buckets = [(str(float(bound)), number) for bound, number in figures["buckets"]]
    buckets.append(("+Inf", figures["count"]))
    return HistogramMetricFamily(name, text, buckets=buckets, sum_value=figures["sum"])
