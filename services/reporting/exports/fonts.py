"""The font the PDFs are set in: a TrueType CJK font embedded as a subset, so Chinese reads on
a machine without Chinese fonts; reportlab's built-in CID font (referenced, not embedded) only
when no font file is found."""
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

EMBEDDED = "DeskflowCJK"
FALLBACK = "STSong-Light"
# TrueType outlines only: reportlab cannot embed the CFF outlines of Noto Sans CJK's .otc.
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",   # Debian fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",     # Debian fonts-wqy-zenhei
)


def font_file(named: str | None = None) -> Path | None:
    """``named`` (the ``REPORT_FONT`` setting) when given, else the first installed candidate."""
    for candidate in ((named,) if named else CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def pdf_font(named: str | None = None) -> str:
    """The registered name of the font to set every PDF in (the first one found stays
    registered for the life of the process)."""
    registered = pdfmetrics.getRegisteredFontNames()
    if EMBEDDED in registered:
        return EMBEDDED
    path = font_file(named)
    if path is not None:
        pdfmetrics.registerFont(TTFont(EMBEDDED, str(path), subfontIndex=0))
        return EMBEDDED
    if FALLBACK not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return FALLBACK
