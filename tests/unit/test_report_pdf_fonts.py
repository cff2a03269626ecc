"""The PDFs carry their Chinese font (issue 13, item 8): rendered with poppler on a fontconfig
that knows no fonts at all, the Chinese headings are still drawn and extractable, and
``pdffonts`` lists the CJK font as an embedded subset."""
import shutil
import subprocess
from datetime import date

import pypdf
import pytest

from services.reporting import domain, exports, summary

TOOLS = ("pdftoppm", "pdftotext", "pdffonts")


@pytest.fixture
def no_fonts(tmp_path, monkeypatch):
    """An environment whose fontconfig has no font directories (no CJK font configured)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{missing} missing: run scripts/ensure-report-tools.sh (poppler-utils)")
    config = tmp_path / "fonts.conf"
    config.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                      f'<fontconfig><cachedir>{tmp_path / "cache"}</cachedir></fontconfig>\n')
    return {"FONTCONFIG_FILE": str(config), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, check=True, timeout=120)


def test_chinese_pdf_embeds_its_font_and_renders_without_system_fonts(tmp_path, no_fonts):
    report = summary.summarise(summary.Figures(
        start=date(2026, 11, 1), end=date(2026, 11, 30),
        current={("customer.type", "prospect"): 2}, counts={}, pre_deal_at_start=0,
        durations={}, ageing={}))
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(exports.build(report, "pdf", "zh").content)

    fonts = run(["pdffonts", str(pdf)], no_fonts).stdout.decode().splitlines()[2:]
    assert fonts, "the PDF names no font"
    for line in fonts:  # name, type, encoding, emb, sub, uni, object id
        embedded, subset = line.split()[-5:-3]
        assert (embedded, subset) == ("yes", "yes"), f"not an embedded subset: {line}"

    text = run(["pdftotext", "-layout", str(pdf), "-"], no_fonts).stdout.decode()
    for words in ("deskflow 数据报表", "统计区间", "客户类型分布", "工单状态分布", "中位数"):
        assert words in text

    rendered = run(["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-gray", str(pdf),
                    str(tmp_path / "page")], no_fonts)
    assert b"font" not in rendered.stderr.lower(), rendered.stderr.decode()
    page = next(tmp_path.glob("page*.pgm")).read_bytes()
    width, height = map(int, page.split(b"\n")[1].split())
    pixels = page[-width * height:]
    assert sum(1 for value in pixels if value < 128) > 500  # text and charts were drawn


def test_a_pdf_joined_from_parts_embeds_every_parts_font_subset(tmp_path, no_fonts):
    """A long report is joined from several reportlab documents: each part's subsets are
    embedded, and the last part's Chinese rows still read without system fonts."""
    from services.reporting.exports.pdf import write_pdf
    from tests.unit.test_reporting_exports import TOTALS, full_document
    document, _ = full_document("zh", {**TOTALS, "detail_tickets": 300})
    pdf = tmp_path / "report.pdf"
    with pdf.open("wb") as out:
        write_pdf(document, out, chunk_pages=3)

    fonts = run(["pdffonts", str(pdf)], no_fonts).stdout.decode().splitlines()[2:]
    assert len(fonts) > 2
    assert all(line.split()[-5:-3] == ["yes", "yes"] for line in fonts), fonts
    assert len({line.split()[0] for line in fonts}) == len(fonts)  # subsets named apart
    pages = len(pypdf.PdfReader(pdf).pages)
    last = run(["pdftotext", "-layout", "-f", str(pages), str(pdf), "-"],
               no_fonts).stdout.decode()
    assert "跟进记录明细" in last and "合同条款确认" in last
