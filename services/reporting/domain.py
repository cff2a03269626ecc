"""Reporting rules in plain Python: how each consumed event changes the pre-aggregated
figures, and how those figures become the summary. Nothing here knows about Nameko, Flask
or SQL.

The read model keeps
- *daily counters* ``(day, metric, dimension, value) → n``: everything "in the range";
- *duration histograms* ``(clock, day or week, bucket) → n`` for the median and p90 times
  (weekly sums too, so a long range reads whole weeks instead of each of their days);
- *current counters* ``(dimension, value) → n``: customers by type/grade/…, tickets by state;
- a small *current state* per customer and per ticket, so a later event knows what changed.

An :class:`Aggregator` applies events to those states and accumulates the counter deltas in
memory; the store writes them with additive upserts. Live consumption uses one aggregator per
event, the rebuild and the benchmark one per batch: the same rules either way.
"""
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from services.customer.domain import value_tier
from services.reporting.periods import day_of, week_of  # noqa: F401 (the aggregation's days)

# The vocabularies of the event contract (SPEC §2 and §3); unknown values are still counted.
CUSTOMER_TYPES = ("prospect", "intent", "deal", "churned")
GRADES = ("A", "B", "C")
INDUSTRIES = ("TECH", "MFG", "RETAIL", "SVC", "FIN", "EDU", "GOV", "OTHER")
SOURCES = ("exhibition", "referral", "online", "visit", "other")
OUTCOMES = ("positive", "neutral", "negative")
TICKET_STATES = ("pending", "in_progress", "done", "closed")
SERVICE_TYPES = ("presales", "insales", "aftersales", "value_added")
CATEGORIES = ("inquiry", "complaint", "suggestion", "need", "cooperation", "other")
# The feedback form (issue 12): its states as the form names them, and how feedback came in.
STATUS_LABELS = ("pending", "in_progress", "awaiting_customer", "done", "unresolvable", "closed")
CHANNELS = ("phone", "email", "meeting", "online_form", "visit", "other")
PRIORITIES = ("high", "medium", "low")
STATUSES = ("active", "dormant", "churned")
VALUE_TIERS = ("high", "mid", "potential")
COOPERATE_AGAIN = ("yes", "maybe", "no")
SURVEY_SCORES = ("quality", "speed", "effectiveness")
# Ticket events that are contact with the customer (what keeps its lifecycle status fresh).
ACTIVITY_EVENTS = ("ticket.created", "ticket.transitioned", "ticket.commented")
TASK_EVENTS = {"task.created": "tasks.created", "task.completed": "tasks.done",
               "task.overdue": "tasks.overdue"}
PAIR = "category_service_type"  # the dimension of category × service type pairs
CLOCKS = ("first_response", "resolution", "update")
TIMED_CLOCKS = ("first_response", "resolution")
OPEN_STATES = ("pending", "in_progress")
PRE_DEAL_TYPES = ("prospect", "intent")
UNKNOWN = "unknown"
NO_SOURCE = "unspecified"  # also a ticket with no channel or department
ALL = "all"
# The current counters of approved customers (review, issue 11) repeat the customer ones
# under this prefix, for ``approved_only`` summaries.
APPROVED = "approved."

# Ageing buckets of the backlog: (label, lower bound in days, upper bound in days or None).
AGEING = (("0-1d", 0, 1), ("1-3d", 1, 3), ("3-7d", 3, 7), ("7d+", 7, None))

# Durations are kept in whole seconds, exactly below EXACT_BELOW_SECONDS and above it in
# buckets 2 % wide (bounded: about 120 buckets per decade, whatever the volume).
EXACT_BELOW_SECONDS = 100
BUCKET_GROWTH = 1.02



# --- durations -----------------------------------------------------------------------------

def _bucket_edge(index: int) -> int:
    return math.floor(EXACT_BELOW_SECONDS * BUCKET_GROWTH ** index)


def duration_bucket(seconds: float) -> int:
    """The bucket (its lower edge, in whole seconds) a duration is counted in.

    Exact below 100 s; above, the edge is at most 2 % below the duration.
    """
    whole = max(0, int(seconds))
    if whole < EXACT_BELOW_SECONDS:
        return whole
    index = int(math.log(whole / EXACT_BELOW_SECONDS) / math.log(BUCKET_GROWTH))
    while _bucket_edge(index + 1) <= whole:
        index += 1
    while _bucket_edge(index) > whole:
        index -= 1
    return _bucket_edge(index)


def quantile(histogram: list[tuple[int, int]], fraction: float) -> int | None:
    """Nearest-rank quantile of ``[(value, count)]``: the smallest value with at least
    ``ceil(fraction × total)`` values at or below it. None when the histogram is empty."""
    total = sum(count for _, count in histogram)
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for value, count in sorted(histogram):
        seen += count
        if seen >= rank:
            return value
    raise AssertionError("unreachable: rank never exceeds the total")


# --- current state -------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerState:
    type: str
    grade: str
    industry: str
    source: str | None
    updated_at: datetime | None
    deleted: bool = False
    owner: str | None = None
    deal_cents: int | None = None      # the deal amount in cents (exact)
    signed_date: date | None = None
    last_activity_at: datetime | None = None
    review: str | None = "approved"

    def dimensions(self) -> list[tuple[str, str]]:
        """The current counters this customer adds one to, twice when approved (the last
        activity by its UTC day, so the lifecycle status can be read for any moment without
        a row per customer)."""
        if self.deleted:
            return []
        counted = [("customer.type", self.type), ("customer.grade", self.grade),
                   ("customer.industry", self.industry),
                   ("customer.source", self.source or NO_SOURCE),
                   ("customer.value_tier", self.value_tier)]
        if self.last_activity_at is not None:
            counted.append(("customer.activity_day", day_of(self.last_activity_at).isoformat()))
        if self.review == "approved":
            counted += [(APPROVED + dimension, value) for dimension, value in counted]
        return counted

    @property
    def value_tier(self) -> str:
        return value_tier(None if self.deal_cents is None else Decimal(self.deal_cents) / 100)

    def revenue(self) -> list[tuple]:
        """The daily counters its signed deal adds to: ``(day, metric, dimension, value)``
        with the amount in cents, by customer type, industry and owner."""
        if self.deleted or self.deal_cents is None or self.signed_date is None:
            return []
        groups = ((ALL, ALL), ("customer_type", self.type), ("industry", self.industry),
                  ("owner", self.owner or UNKNOWN))
        return [((self.signed_date, metric, dimension, value), n)
                for dimension, value in groups
                for metric, n in (("revenue.cents", self.deal_cents), ("revenue.deals", 1))]


@dataclass(frozen=True)
class TicketState:
    customer_id: str
    state: str
    service_type: str
    category: str
    priority: str
    created_at: datetime
    updated_at: datetime | None
    # Per timed clock, its duration and where it is counted: {clock: [iso day, bucket, seconds]}.
    times: dict = field(default_factory=dict)
    status_label: str | None = None  # None: known from before the label existed

    def dimensions(self) -> list[tuple[str, str]]:
        """The current counters this ticket adds one to."""
        return [("ticket.state", self.state),
                ("ticket.status_label", self.status_label or self.state)]


def cents(amount) -> int | None:
    """An amount of money as whole cents, exactly (events carry it as a JSON number)."""
    if amount is None:
        return None
    return int((Decimal(str(amount)) * 100).to_integral_value())


def latest(*moments):
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def customer_state(snapshot: dict, deleted: bool = False,
                   before: CustomerState | None = None) -> CustomerState:
    """A snapshot from before review existed carries no ``review``: such customers count
    as approved, as the customer service's migration made them."""
    return CustomerState(type=snapshot["type"], grade=snapshot["grade"],
                         industry=snapshot["industry"], source=snapshot.get("source"),
                         updated_at=snapshot.get("updated_at"), deleted=deleted,
                         review=snapshot.get("review") or "approved",
                         owner=snapshot.get("owner"), deal_cents=cents(snapshot.get("deal_amount")),
                         signed_date=snapshot.get("signed_date"),
                         last_activity_at=latest(snapshot.get("last_activity_at"),
                                                 snapshot.get("created_at"),
                                                 before.last_activity_at if before else None))


def ticket_state(snapshot: dict, times: dict | None = None) -> TicketState:
    return TicketState(customer_id=snapshot["customer_id"], state=snapshot["state"],
                       service_type=snapshot["service_type"], category=snapshot["category"],
                       priority=snapshot["priority"], created_at=snapshot["created_at"],
                       updated_at=snapshot.get("updated_at"), times=dict(times or {}),
                       status_label=snapshot.get("status_label") or snapshot["state"])


def is_stale(snapshot: dict, known) -> bool:
    """A snapshot older than what we already hold (events may arrive out of order)."""
    if known is None or known.updated_at is None or snapshot.get("updated_at") is None:
        return False
    return snapshot["updated_at"] < known.updated_at


# --- the aggregator ------------------------------------------------------------------------

@dataclass
class Aggregator:
    """Applies events to the current states it was given and accumulates counter deltas.

    ``customers``/``tickets`` map ids to the states known before these events (absent: never
    seen). After applying, ``dirty_*`` name the states to write back.
    """

    customers: dict = field(default_factory=dict)
    tickets: dict = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)      # (day, metric, dimension, value)
    durations: Counter = field(default_factory=Counter)   # (day, clock, bucket)
    current: Counter = field(default_factory=Counter)     # (dimension, value)
    dirty_customers: set = field(default_factory=set)
    dirty_tickets: set = field(default_factory=set)

    def apply(self, event_type: str, occurred_at: datetime, data: dict) -> None:
        """Apply one validated event (see :func:`services.reporting.schemas.load_event`)."""
        if event_type.startswith("customer."):
            self._count_pre_deal_moves(event_type, data, day_of(occurred_at))
            self._customer_changed(data["customer"], deleted=event_type == "customer.deleted")
        elif event_type == "followup.logged":
            self._followup(data["followup"])
        elif event_type.startswith("ticket."):
            self._ticket_event(event_type, data, occurred_at)
        elif event_type in TASK_EVENTS:
            self._task_event(event_type, data["task"], occurred_at)

    # customers

    def _customer_changed(self, snapshot: dict, deleted: bool) -> None:
        """Converge the customer's current state (and the current counters) on the newest
        snapshot seen; a deleted customer stays deleted."""
        customer_id = snapshot["id"]
        before = self.customers.get(customer_id)
        if is_stale(snapshot, before) or (before is not None and before.deleted):
            return
        after = customer_state(snapshot, deleted, before)
        if before is None and not deleted:
            self._count(snapshot["created_at"], "customers.created", ALL, ALL)
        self._replace_customer(customer_id, before, after)

    def _replace_customer(self, customer_id: str, before, after: CustomerState) -> None:
        if after == before:  # a repeat of what is known: nothing to count or write
            return
        self._move_current(before.dimensions() if before else [], after.dimensions())
        for key, n in (before.revenue() if before else []):
            self.counts[key] -= n
        for key, n in after.revenue():
            self.counts[key] += n
        self.customers[customer_id] = after
        self.dirty_customers.add(customer_id)

    def _customer_active(self, customer_id: str, moment: datetime) -> None:
        """Contact with a known customer: its last activity moves on (never back)."""
        before = self.customers.get(customer_id)
        if before is None or before.deleted or (
                before.last_activity_at is not None and moment <= before.last_activity_at):
            return
        self._replace_customer(customer_id, before, replace(before, last_activity_at=moment))

    def _followup(self, followup: dict) -> None:
        owner = followup.get("owner") or UNKNOWN
        self._count(followup["at"], "followups", "outcome", followup["outcome"])
        self._count(followup["at"], "followups", "owner", owner)
        if followup["outcome"] == "positive":
            self._count(followup["at"], "followups.positive", "owner", owner)
        if followup.get("customer_id"):
            self._customer_active(followup["customer_id"], followup["at"])

    def _count_pre_deal_moves(self, event_type: str, data: dict, day: date) -> None:
        """Spells as prospect/intent, and the conversions that end them, from each event's
        own type change, so the counts do not depend on the order events are handled in."""
        type_now = data["customer"]["type"]
        if event_type == "customer.created":
            before, after = None, type_now
        elif event_type == "customer.deleted":
            before, after = type_now, None
        else:
            change = next((c for c in data["changes"] if c["field"] == "type"), None)
            if change is None:
                return
            before, after = change["before"], change["after"]
        was, now = before in PRE_DEAL_TYPES, after in PRE_DEAL_TYPES
        if now and not was:
            self.counts[(day, "pre_deal.entered", ALL, ALL)] += 1
        elif was and not now:
            self.counts[(day, "pre_deal.left", ALL, ALL)] += 1
            if after == "deal":
                self.counts[(day, "customers.converted", ALL, ALL)] += 1

    # tickets

    def _ticket_event(self, event_type: str, data: dict, occurred_at: datetime) -> None:
        snapshot = data["ticket"]
        ticket = self._ticket_seen(snapshot)
        if event_type in ACTIVITY_EVENTS:
            self._customer_active(snapshot["customer_id"], occurred_at)
        if event_type == "ticket.rated":
            self._rated(ticket, data["rating"])
        elif event_type == "ticket.sla_breached":
            self._count(data["due_at"], "sla.breached", "clock", data["clock"])
        elif event_type == "ticket.sla_stopped":
            self._clock_stopped(snapshot["id"], data)

    def _ticket_seen(self, snapshot: dict) -> TicketState:
        """Refresh the ticket's current state from the snapshot every ticket event carries."""
        ticket_id = snapshot["id"]
        before = self.tickets.get(ticket_id)
        if before is None:
            created = snapshot["created_at"]
            for dimension in ("service_type", "category", "priority"):
                self._count(created, "tickets.created", dimension, snapshot[dimension])
            for dimension in ("channel", "department"):
                self._count(created, "tickets.created", dimension,
                            snapshot.get(dimension) or NO_SOURCE)
            self._count(created, "tickets.created", ALL, ALL)
            self._count(created, "tickets.created", PAIR,
                        f"{snapshot['category']}|{snapshot['service_type']}")
            if snapshot.get("late_entry"):
                self._count(created, "tickets.late_entry", ALL, ALL)
        elif is_stale(snapshot, before):
            return before
        after = ticket_state(snapshot, before.times if before else None)
        if after == before:
            return before
        self._move_current(before.dimensions() if before else [], after.dimensions())
        self.tickets[ticket_id] = after
        self.dirty_tickets.add(ticket_id)
        return after

    def _rated(self, ticket: TicketState, rating: dict) -> None:
        customer = self.customers.get(ticket.customer_id)
        groups = ((ALL, ALL), ("service_type", ticket.service_type),
                  ("customer_type", customer.type if customer else UNKNOWN))
        score, nps_score = rating["score"], rating.get("nps_score")
        figures = {"ratings.count": 1, "ratings.score_sum": score,
                   "ratings.satisfied": int(score >= 4)}
        if nps_score is not None:
            figures.update({"ratings.nps_count": 1, "ratings.promoters": int(nps_score >= 9),
                            "ratings.detractors": int(nps_score <= 6)})
        day = day_of(rating["at"])
        for dimension, value in groups:
            for metric, n in figures.items():
                self.counts[(day, metric, dimension, value)] += n
        # The survey's answers (issue 12), over all ratings: score sums and answer counts.
        for name in SURVEY_SCORES:
            if rating.get(name) is not None:
                self.counts[(day, f"survey.{name}_sum", ALL, ALL)] += rating[name]
                self.counts[(day, f"survey.{name}_count", ALL, ALL)] += 1
        if rating.get("would_cooperate_again") is not None:
            self.counts[(day, "survey.cooperate_again", "answer",
                         rating["would_cooperate_again"])] += 1

    # tasks

    def _task_event(self, event_type: str, task: dict, occurred_at: datetime) -> None:
        """Tasks made, done and gone overdue, by assignee, on the day it happened (the
        workflow service emits each of these once per task)."""
        moment = {"task.created": task.get("created_at"), "task.completed": task.get("completed_at"),
                  "task.overdue": task.get("due_at")}[event_type] or occurred_at
        metric = TASK_EVENTS[event_type]
        self._count(moment, metric, ALL, ALL)
        self._count(moment, metric, "assignee", task.get("assignee") or UNKNOWN)

    def _clock_stopped(self, ticket_id: str, data: dict) -> None:
        clock, day = data["clock"], day_of(data["stopped_at"])
        if data["met"]:
            self.counts[(day, "sla.met", "clock", clock)] += 1
        if clock not in TIMED_CLOCKS:
            return
        # One duration per ticket and clock. A reopened ticket starts a new resolution cycle:
        # its time is the sum of its cycles, moved to the day it was last resolved.
        ticket = self.tickets[ticket_id]
        total = data["elapsed_seconds"]
        previous = ticket.times.get(clock)
        if previous is not None:
            counted_day, counted_bucket, counted_seconds = previous
            self.durations[(date.fromisoformat(counted_day), clock, counted_bucket)] -= 1
            total += counted_seconds
        bucket = duration_bucket(total)
        self.durations[(day, clock, bucket)] += 1
        self.tickets[ticket_id] = replace(
            ticket, times={**ticket.times, clock: [day.isoformat(), bucket, total]})
        self.dirty_tickets.add(ticket_id)

    # helpers

    def _count(self, moment: datetime, metric: str, dimension: str, value: str) -> None:
        self.counts[(day_of(moment), metric, dimension, value)] += 1

    def _move_current(self, old: list, new: list) -> None:
        for key in old:
            self.current[key] -= 1
        for key in new:
            self.current[key] += 1
