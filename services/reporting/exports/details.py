"""The detail tables of the exports: their columns, how each column's values read, and how a
row (as the reporting service pages it out: JSON values) becomes cells."""
from datetime import date, datetime

from services.reporting.exports import formatting as fmt
from services.reporting.labels import Labels

# table: ((column, kind), ...) — kinds: text, code (a vocabulary value, translated),
# moment, day, count, money, outcome (of an SLA clock; none: still running)
DETAIL_COLUMNS = {
    "detail_converted": (
        ("converted_on", "day"), ("id", "text"), ("name", "text"), ("industry", "code"),
        ("owner", "text"), ("deal_amount", "money"), ("deal_product", "text"),
        ("signed_date", "day")),
    "detail_tickets": (
        ("created_at", "moment"), ("id", "text"), ("customer_id", "text"), ("title", "text"),
        ("service_type", "code"), ("category", "code"), ("priority", "code"),
        ("owner", "text"), ("state", "code"), ("first_response", "outcome"),
        ("resolution", "outcome")),
    "detail_ratings": (
        ("at", "moment"), ("ticket_id", "text"), ("customer_id", "text"),
        ("service_type", "code"), ("score", "count"), ("quality", "count"),
        ("speed", "count"), ("effectiveness", "count"), ("nps_score", "count"),
        ("would_cooperate_again", "code"), ("comment", "text"), ("collected_via", "code"),
        ("rated_by", "text")),
    "detail_followups": (
        ("at", "moment"), ("id", "text"), ("customer_id", "text"), ("channel", "code"),
        ("subject", "text"), ("outcome", "code"), ("owner", "text"), ("feedback", "text"),
        ("next_action", "text")),
}
DETAIL_TABLES = tuple(DETAIL_COLUMNS)  # the same as services.reporting.schemas.DETAIL_TABLES


def heading_keys(table: str) -> tuple:
    return tuple(f"col_{name}" for name, _ in DETAIL_COLUMNS[table])


def to_json(value):
    """A row value as it travels over RPC."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def cells(table: str, row, labels: Labels, currency: str) -> list:
    """One row (database values or their JSON form) as Figures."""
    shown = []
    for (_, kind), value in zip(DETAIL_COLUMNS[table], row):
        if value is None and kind != "outcome":
            shown.append(fmt.plain(None))
        elif kind == "money":
            shown.append(fmt.money(value, currency))
        elif kind == "count":
            shown.append(fmt.count(value))
        elif kind == "moment":
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            shown.append(fmt.plain(moment))
        elif kind == "day":
            shown.append(fmt.plain(date.fromisoformat(value) if isinstance(value, str)
                                   else value))
        elif kind in ("code", "outcome"):
            shown.append(fmt.plain(labels.value(value or "running")))
        else:
            shown.append(fmt.plain(value))
    return shown
