"""How a figure reads in the files: rates as percentages, NPS as a whole number from −100 to
100, durations in hours and minutes, money with thousands separators and its currency.

A table cell is a :class:`Figure` (a kind and a raw value); the CSV and PDF show
:func:`text`, the workbook keeps numbers as numbers with an Excel number format
(:func:`cell`) so its charts and sums still work."""
from dataclasses import dataclass
from datetime import date, datetime

DEFAULT_CURRENCY = "CNY"
KINDS = ("count", "rate", "nps", "score", "duration", "money", "text")


@dataclass(frozen=True)
class Figure:
    kind: str
    value: object
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown figure kind {self.kind}")


def count(n) -> Figure:
    return Figure("count", n)


def rate(fraction) -> Figure:
    return Figure("rate", fraction)


def nps(fraction) -> Figure:
    """NPS as the summary holds it (promoters' share minus detractors' share)."""
    return Figure("nps", fraction)


def score(average) -> Figure:
    return Figure("score", average)


def duration(seconds) -> Figure:
    return Figure("duration", seconds)


def money(amount, currency: str = DEFAULT_CURRENCY) -> Figure:
    return Figure("money", amount, currency)


def plain(value) -> Figure:
    return Figure("text", value)


def nps_points(fraction) -> int | None:
    """−100 … 100."""
    return None if fraction is None else round(fraction * 100)


def percent_text(fraction) -> str:
    return f"{fraction * 100:.1f}%"


def duration_text(seconds, lang: str) -> str:
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    zh = lang == "zh"
    if hours == 0 and minutes == 0:
        return "不足 1 分钟" if zh else "< 1 min"
    if hours == 0:
        return f"{minutes} 分钟" if zh else f"{minutes} min"
    return f"{hours} 小时 {minutes:02d} 分" if zh else f"{hours} h {minutes:02d} min"


def money_text(amount, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def text(figure, lang: str = "en") -> str:
    """The figure as the CSV and the PDF show it; '' for no value."""
    if not isinstance(figure, Figure):
        figure = plain(figure)
    value = figure.value
    if value is None:
        return ""
    if figure.kind == "count":
        return str(value)
    if figure.kind == "rate":
        return percent_text(value)
    if figure.kind == "nps":
        return str(nps_points(value))
    if figure.kind == "score":
        return f"{value:.2f}"
    if figure.kind == "duration":
        return duration_text(value, lang)
    if figure.kind == "money":
        return money_text(value, figure.currency)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    return str(value)


def cell(figure, lang: str = "en") -> tuple[object, str | None]:
    """``(value, number format)`` for a workbook cell: numbers stay numbers."""
    if not isinstance(figure, Figure):
        figure = plain(figure)
    value = figure.value
    if value is None:
        return None, None
    if figure.kind == "count":
        return value, "#,##0"
    if figure.kind == "rate":
        return value, "0.0%"
    if figure.kind == "nps":
        return nps_points(value), "0"
    if figure.kind == "score":
        return value, "0.00"
    if figure.kind == "money":
        return value, f'#,##0.00 "{figure.currency}"'
    if figure.kind == "duration":
        return duration_text(value, lang), None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None), "yyyy-mm-dd hh:mm"
    if isinstance(value, (date, int, float)) and not isinstance(value, bool):
        return value, "yyyy-mm-dd" if isinstance(value, date) else None
    return text(figure, lang), None
