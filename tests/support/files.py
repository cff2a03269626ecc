"""Small real files of the kinds the attachment store accepts and refuses, made in memory."""
import gzip
import io
import struct
import zipfile


def pdf(text: str = "signed contract") -> bytes:
    return (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% " + text.encode() +
            b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\x00" * 17


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "名片")
    return buffer.getvalue()


def gz() -> bytes:
    return gzip.compress(b"a log file\n" * 10)


def elf(size: int = 4096) -> bytes:
    """The start of a 64-bit ELF executable, padded to ``size``."""
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + struct.pack("<HHI", 2, 62, 1)
    return header + b"\x00" * (size - len(header))


def windows_exe() -> bytes:
    return b"MZ\x90\x00\x03" + b"\x00" * 59 + b"PE\x00\x00" + b"\x00" * 200


def mach_o() -> bytes:
    return b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 200


def script() -> bytes:
    return b"#!/bin/sh\nrm -rf /tmp/x\n"
