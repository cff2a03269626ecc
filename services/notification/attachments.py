"""Files some emails carry, fetched from the service that keeps them: bytes never ride an
event (a claim check). The monthly feedback report comes from the reporting service in
pieces of 256 KiB (``reporting.monthly_report_chunk``)."""
import base64


def fetch_monthly_report(reporting, month: str) -> bytes:
    pieces, offset = [], 0
    while offset is not None:
        piece = reporting.monthly_report_chunk(month, offset)
        pieces.append(base64.b64decode(piece["content"]))
        offset = piece["next"]
    return b"".join(pieces)
