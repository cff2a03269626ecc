"""An export's document from its outline (the summary, trend series and detail totals as the
reporting service answers them) and a function that fetches one page of detail rows: the
rows are read page by page while the file is written, never all at once."""
from collections.abc import Callable

from services.reporting.exports import formatting as fmt
from services.reporting.exports.details import DETAIL_TABLES, cells, heading_keys
from services.reporting.exports.document import Detail, Document, Options, Trend
from services.reporting.exports.layout import sections
from services.reporting.labels import Labels

KINDS = {"count": fmt.count, "score": fmt.score, "rate": fmt.rate, "nps": fmt.nps}

# fetch(table, after) -> {"rows": [[...]], "after": position or None}
Fetch = Callable[[str, object], dict]


def trend_of(series: dict, options: Options) -> Trend:
    if series["kind"] == "money":
        def make(value):
            return fmt.money(value, options.currency)
    else:
        make = KINDS[series["kind"]]
    return Trend(series["key"], series["interval"],
                 [(period, make(value)) for period, value in series["points"]])


def _rows(fetch: Fetch, table: str, labels: Labels, options: Options):
    def rows():
        after = None
        while True:
            page = fetch(table, after)
            for row in page["rows"]:
                yield cells(table, row, labels, options.currency)
            after = page["after"]
            if after is None:
                return
    return rows


def document_of(outline: dict, lang: str, fetch: Fetch, options: Options) -> Document:
    labels = Labels(lang)
    report = outline["report"]
    totals = outline["details"]
    details = [Detail(table, heading_keys(table), totals[table],
                      _rows(fetch, table, labels, options))
               for table in DETAIL_TABLES if table in totals]
    return Document(report, labels, sections(report, labels, options.currency),
                    [trend_of(series, options) for series in outline["trends"]], details,
                    options)
