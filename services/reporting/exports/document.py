"""What every export file holds, whatever its format: the summary's sections, the trends
drawn as line charts, and the detail tables, whose rows are read as they are written."""
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from services.reporting.exports.layout import Section
from services.reporting.labels import Labels


@dataclass(frozen=True)
class Trend:
    """One line chart: ``points`` are ``(period label, Figure)`` in time order."""
    key: str                 # heading key
    interval: str            # "week" or "month"
    points: list


@dataclass(frozen=True)
class Detail:
    """A detail table: ``rows()`` yields one list of Figures per record, in order, reading
    them from the database as it goes (a file of 200,000 rows never holds them all)."""
    key: str                 # heading key
    columns: tuple           # heading keys
    total: int
    rows: Callable[[], Iterator[list]]


@dataclass(frozen=True)
class Document:
    report: dict
    labels: Labels
    sections: list[Section]
    trends: list[Trend] = field(default_factory=list)
    details: list[Detail] = field(default_factory=list)
    options: "Options" = None


@dataclass(frozen=True)
class Options:
    """Settings the files follow: the currency of amounts, the CJK font file to embed."""
    currency: str = "CNY"
    font_file: str | None = None

    @classmethod
    def from_settings(cls, settings) -> "Options":
        return cls(currency=settings.report_currency, font_file=settings.report_font)
