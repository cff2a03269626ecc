"""The PDFs carry their Chinese font (issue 13, item 8): rendered with poppler on a fontconfig
that knows no fonts at all, the Chinese headings are still drawn and extractable, and
``pdffonts`` lists the CJK font as an embedded subset."""
import shutil
import subprocess
from datetime import date

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
