"""The ticket figures: tickets by state, how old the open ones are, SLA clocks running, SLA
clock cycles and alerts by clock (totals so far) and the first-response and resolution time
distributions. Three aggregate queries (one pass over the tickets, the archive and the clock
cycles each), run by the service's metrics refresh round
(:class:`~services.common.metrics.ServiceMetrics`), never by a scrape; the ``metrics`` RPC
answers the same figures."""
from collections import Counter
from datetime import timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import and_, case, func, select

from services.ticket import domain, sla
from services.ticket.models import ArchivedTicket, SlaClock, Ticket

# The open backlog's ageing: open tickets received longer ago than each of these.
AGE_BANDS = {"1h": 3600, "4h": 4 * 3600, "1d": 86400, "3d": 3 * 86400, "7d": 7 * 86400}
HISTOGRAM_BUCKETS = (60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 259200,
                     604800)
HISTOGRAMS = {"first_response": "first_response_seconds", "resolution": "resolution_seconds"}


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _tickets(session, now) -> dict:
    """Tickets by state (archived ones count as closed), open ones older than each band,
    the age of the oldest open one."""
    received = Ticket.received_at
    columns = [Ticket.state, func.count(), func.min(received)]
    columns += [_count_if(received <= now - timedelta(seconds=seconds))
                for seconds in AGE_BANDS.values()]
    by_state, older_than, oldest = Counter(), Counter(), None
    for state, number, first, *bands in session.execute(
            select(*columns).group_by(Ticket.state)).all():
        by_state[state] += number
        if state in domain.OPEN_STATES:
            older_than.update(dict(zip(AGE_BANDS, (int(count) for count in bands))))
            oldest = first if oldest is None or (first is not None and first < oldest) else oldest
    by_state.update(dict(session.execute(
        select(ArchivedTicket.state, func.count()).group_by(ArchivedTicket.state)).all()))
    return {
        "tickets_by_state": {state: by_state.get(state, 0) for state in domain.STATES},
        "open_older_than": {band: older_than.get(band, 0) for band in AGE_BANDS},
        "oldest_open_age_seconds": (max(0.0, (now - oldest).total_seconds())
                                    if oldest is not None else 0.0),
    }


def _clocks(session) -> dict:
    """Per clock: cycles started, warned, breached, running and held; and the distribution
    of the ended cycles' elapsed time, for the clocks that have a histogram."""
    clock = SlaClock
    ended, elapsed = clock.stopped_at.is_not(None), clock.elapsed_seconds
    columns = [clock.clock, func.count(), func.count(clock.warned_at),
               func.count(clock.breached_at),
               _count_if(and_(clock.stopped_at.is_(None), clock.held_since.is_(None))),
               _count_if(and_(clock.stopped_at.is_(None), clock.held_since.is_not(None))),
               _count_if(ended), func.coalesce(func.sum(case((ended, elapsed), else_=0.0)), 0.0)]
    columns += [_count_if(and_(ended, elapsed <= bound)) for bound in HISTOGRAM_BUCKETS]
    result = {"sla_cycles": {name: 0 for name in sla.CLOCKS},
              "sla_clocks": {name: {"running": 0, "held": 0} for name in sla.CLOCKS},
              "sla_warnings": {name: 0 for name in sla.CLOCKS},
              "sla_breaches": {name: 0 for name in sla.CLOCKS}}
    result.update({key: {"count": 0, "sum": 0.0,
                         "buckets": [[bound, 0] for bound in HISTOGRAM_BUCKETS]}
                   for key in HISTOGRAMS.values()})
    for name, cycles, warned, breached, running, held, count, total, *buckets in session.execute(
            select(*columns).group_by(clock.clock)).all():
        result["sla_cycles"][name] = cycles
        result["sla_warnings"][name], result["sla_breaches"][name] = warned, breached
        result["sla_clocks"][name] = {"running": int(running), "held": int(held)}
        if name in HISTOGRAMS:
            result[HISTOGRAMS[name]] = {
                "count": int(count), "sum": float(total),
                "buckets": [[bound, int(number)] for bound, number in zip(HISTOGRAM_BUCKETS, buckets)]}
    return result


def figures(session, now) -> dict:
    return {**_tickets(session, now), **_clocks(session)}


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
