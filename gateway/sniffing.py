"""What a file is, from its first bytes and never from its name.

Accepted: documents (PDF, RTF, Microsoft Office old and new, OpenDocument), images, archives
and text. Refused with 415: executables (ELF, PE/MZ, Mach-O) and scripts (``#!``), and any
other binary kind. The magic numbers of the accepted kinds come from ``filetype``; the refusals
are checked here first, so no match of a library can let a program through.
"""
import codecs

import filetype

from services.common.errors import UnsupportedMediaType

# How much of a file's head is looked at (what filetype reads; enough for a tar header and
# for an Office file's first zip entry names).
HEAD_BYTES = 8192

EXECUTABLE_MAGIC = {
    b"\x7fELF": "an ELF executable",
    b"MZ": "a Windows (PE/MZ) executable",
    b"\xfe\xed\xfa\xce": "a Mach-O executable",
    b"\xfe\xed\xfa\xcf": "a Mach-O executable",
    b"\xce\xfa\xed\xfe": "a Mach-O executable",
    b"\xcf\xfa\xed\xfe": "a Mach-O executable",
    b"\xca\xfe\xba\xbe": "a Mach-O universal executable",
    b"#!": "a script",
    b"\xef\xbb\xbf#!": "a script",
}
DOCUMENTS = {
    "application/pdf", "application/rtf", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
ARCHIVES = {
    "application/zip", "application/gzip", "application/x-tar", "application/x-7z-compressed",
    "application/x-rar-compressed", "application/x-bzip2", "application/x-xz",
}
# Bytes no text file holds: C0 controls other than tab, line feed, vertical tab, form feed,
# carriage return and escape.
NOT_TEXT = frozenset(set(range(0x00, 0x09)) | set(range(0x0E, 0x1B)) | set(range(0x1C, 0x20)))
ACCEPTED = "documents (PDF, Office, OpenDocument, RTF), images, archives and text"


def content_type(head: bytes, complete: bool) -> str:
    """The content type of a file starting with ``head`` (its first :data:`HEAD_BYTES`
    bytes, or all of it when ``complete``); 415 for what is not accepted."""
    for magic, kind in EXECUTABLE_MAGIC.items():
        if head.startswith(magic):
            raise UnsupportedMediaType(f"This file is {kind}; accepted are {ACCEPTED}.",
                                       {"detected": kind})
    found = filetype.guess(head)
    if found is not None:
        if found.mime in DOCUMENTS or found.mime in ARCHIVES or found.mime.startswith("image/"):
            return found.mime
        raise UnsupportedMediaType(f"Files of type {found.mime} are not accepted; accepted are "
                                   f"{ACCEPTED}.", {"detected": found.mime})
    if head and not NOT_TEXT.intersection(head):
        return "text/plain; charset=utf-8" if _utf8(head, complete) else "text/plain"
    raise UnsupportedMediaType(f"The kind of this file is not recognised; accepted are "
                               f"{ACCEPTED}.", {"detected": None})


def _utf8(head: bytes, complete: bool) -> bool:
    """Whether ``head`` is UTF-8 (a character cut at the end of a partial head counts)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return True
    except UnicodeDecodeError:
        return False
