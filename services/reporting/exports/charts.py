"""Charts drawn into the PDFs with reportlab's graphics: pie, bars and lines."""
import math

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors

PALETTE = (colors.HexColor("#4e79a7"), colors.HexColor("#f28e2b"), colors.HexColor("#e15759"),
           colors.HexColor("#76b7b2"), colors.HexColor("#59a14f"), colors.HexColor("#edc948"),
           colors.HexColor("#b07aa1"), colors.HexColor("#ff9da7"), colors.HexColor("#9c755f"))


def _drawing(width: int, height: int, font: str) -> Drawing:
    """A drawing whose initial font is ours: no un-embedded standard font is referenced."""
    return Drawing(width, height, initialFontName=font)


def pie(names: list, values: list, font: str) -> Drawing:
    drawing = _drawing(420, 170, font)
    chart = Pie()
    chart.x, chart.y, chart.width, chart.height = 10, 10, 150, 150
    chart.data = values
    chart.slices.strokeColor = colors.white
    for index in range(len(values)):
        chart.slices[index].fillColor = PALETTE[index % len(PALETTE)]
    legend = Legend()
    legend.x, legend.y, legend.alignment = 200, 140, "right"
    legend.fontName, legend.fontSize = font, 9
    legend.colorNamePairs = [(PALETTE[index % len(PALETTE)], f"{name}: {value}")
                             for index, (name, value) in enumerate(zip(names, values))]
    drawing.add(chart)
    drawing.add(legend)
    return drawing


def _value_axis(axis, values: list, font: str) -> None:
    top = max([value for value in values if value is not None] or [0])
    axis.valueMin = 0
    axis.valueMax = max(1, top)
    axis.valueStep = max(1, math.ceil(axis.valueMax / 5)) if top >= 5 else axis.valueMax / 5
    axis.labels.fontName = font
    axis.labels.fontSize = 8


def bars(names: list, values: list, font: str) -> Drawing:
    drawing = _drawing(420, 190, font)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 30, 360, 140
    chart.data = [values]
    chart.bars[0].fillColor = PALETTE[0]
    _value_axis(chart.valueAxis, values, font)
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    drawing.add(chart)
    return drawing


def line(periods: list, values: list, font: str) -> Drawing:
    """Values per period; a period without a value (no ratings that week) is a gap."""
    drawing = _drawing(420, 170, font)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 50, 35, 350, 120
    chart.data = [[value if value is not None else None for value in values]]
    chart.lines[0].strokeColor = PALETTE[0]
    chart.lines[0].strokeWidth = 1.5
    _value_axis(chart.valueAxis, values, font)
    chart.categoryAxis.categoryNames = periods
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 45 if len(periods) > 6 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(periods) > 6 else "n"
    drawing.add(chart)
    return drawing
