"""The type of an upload comes from its bytes: documents, images, archives and text are
accepted; executables, scripts and unknown binaries are 415 whatever they are called."""
import pytest

from gateway.sniffing import content_type
from services.common.errors import UnsupportedMediaType
from tests.support import files


@pytest.mark.parametrize("data, expected", [
    (files.pdf(), "application/pdf"),
    (files.png(), "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100, "image/jpeg"),
    (files.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (files.zip_archive(), "application/zip"),
    (files.gz(), "application/gzip"),
    ("客户名片：张伟，13800000000\n".encode(), "text/plain; charset=utf-8"),
    ("客户名片：张伟\n".encode("gbk"), "text/plain"),
    (b"name,phone\r\nacme,010-1234\r\n", "text/plain; charset=utf-8"),
])
def test_accepted_kinds(data, expected):
    assert content_type(data, complete=True) == expected


@pytest.mark.parametrize("data, detected", [
    (files.elf(), "an ELF executable"),
    (files.windows_exe(), "a Windows (PE/MZ) executable"),
    (files.mach_o(), "a Mach-O executable"),
    (files.script(), "a script"),
    (b"\xef\xbb\xbf#!/usr/bin/env python\n", "a script"),
    (b"\x00\x01\x02\x03 binary of no known kind", None),
    (b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 100, "audio/mpeg"),
])
def test_programs_and_unknown_binaries_are_refused(data, detected):
    with pytest.raises(UnsupportedMediaType) as refused:
        content_type(data, complete=True)
    assert refused.value.status == 415
    assert refused.value.details == {"detected": detected}


def test_utf8_cut_in_the_middle_of_a_character_at_the_end_of_the_head_is_still_utf8():
    head = ("合同" * 2000).encode()[:8191]
    assert content_type(head, complete=False) == "text/plain; charset=utf-8"
    assert content_type(head, complete=True) == "text/plain"
