"""The summary as a file: CSV, an Excel workbook (a sheet per section with native charts,
line charts of the trends, a sheet per detail table) or a PDF report, with English or
Chinese headings. Every format is laid out from the same :class:`Document`; each writer
writes to a binary file object, so a large export goes to a file, not into memory."""
import io
from dataclasses import dataclass

from services.reporting.exports.csv_file import write_csv
from services.reporting.exports.document import Detail, Document, Options, Trend
from services.reporting.exports.layout import sections
from services.reporting.exports.pdf import write_pdf
from services.reporting.exports.workbook import write_xlsx
from services.reporting.labels import Labels
from services.reporting.schemas import CONTENT_TYPES

WRITERS = {"csv": write_csv, "xlsx": write_xlsx, "pdf": write_pdf}

__all__ = ["BuiltFile", "Detail", "Document", "Options", "Trend", "build", "document",
           "filename", "write"]


@dataclass(frozen=True)
class BuiltFile:
    filename: str
    content_type: str
    content: bytes


def document(report: dict, lang: str, trends=(), details=(), options=None) -> Document:
    labels, options = Labels(lang), options or Options()
    return Document(report, labels, sections(report, labels, options.currency), list(trends),
                    list(details), options)


def filename(report: dict, file_format: str, lang: str) -> str:
    span = f"{report['range']['from']}_{report['range']['to']}"
    suffix = "-zh" if lang == "zh" else ""
    return f"deskflow-report-{span}{suffix}.{file_format}"


def write(doc: Document, file_format: str, out) -> None:
    WRITERS[file_format](doc, out)


def build(report: dict, file_format: str, lang: str, trends=(), details=(),
          options=None) -> BuiltFile:
    """The whole file in memory (small reports and tests)."""
    buffer = io.BytesIO()
    write(document(report, lang, trends, details, options), file_format, buffer)
    return BuiltFile(filename(report, file_format, lang), CONTENT_TYPES[file_format],
                     buffer.getvalue())
