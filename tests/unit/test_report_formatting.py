"""How figures read in the export files (issue 13, item 8)."""
from datetime import datetime, timezone

import pytest

from services.reporting.exports import formatting as fmt


@pytest.mark.parametrize("figure, lang, shown", [
    (fmt.rate(0.0213), "en", "2.1%"),
    (fmt.rate(1.0), "zh", "100.0%"),
    (fmt.rate(None), "en", ""),
    (fmt.nps(0.0406), "en", "4"),
    (fmt.nps(-0.355), "en", "-36"),
    (fmt.nps(1.0), "en", "100"),
    (fmt.score(4.2), "en", "4.20"),
    (fmt.duration(29), "en", "< 1 min"),
    (fmt.duration(60), "en", "1 min"),
    (fmt.duration(7500), "en", "2 h 05 min"),
    (fmt.duration(7500), "zh", "2 小时 05 分"),
    (fmt.duration(90000), "en", "25 h 00 min"),
    (fmt.money(1234567.5), "en", "CNY 1,234,567.50"),
    (fmt.money(800, "USD"), "zh", "USD 800.00"),
    (fmt.count(12), "en", "12"),
    (fmt.plain(datetime(2026, 3, 10, 14, 30, tzinfo=timezone.utc)), "en", "2026-03-10 14:30"),
    (fmt.plain(True), "zh", "是"),
])
def test_text(figure, lang, shown):
    assert fmt.text(figure, lang) == shown


@pytest.mark.parametrize("figure, cell", [
    (fmt.rate(0.0213), (0.0213, "0.0%")),
    (fmt.nps(0.0406), (4, "0")),
    (fmt.money(1500000, "CNY"), (1500000, '#,##0.00 "CNY"')),
    (fmt.duration(3600), ("1 h 00 min", None)),
    (fmt.count(None), (None, None)),
])
def test_workbook_cells_keep_numbers_with_a_number_format(figure, cell):
    assert fmt.cell(figure) == cell


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        fmt.Figure("fraction", 0.5)
