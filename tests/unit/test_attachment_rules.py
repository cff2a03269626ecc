"""Attachment rules without I/O: who may remove one, how a file name is kept and sent back,
how the OpenAPI document describes uploads."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from flask import Flask

from gateway.api.attachments import content_disposition
from gateway.app import register_routes
from gateway.openapi import build_spec
from gateway.uploads import clean_file_name
from services.common.attachments import check_may_remove
from services.common.context import CallContext
from services.common.errors import Forbidden, ValidationFailed

UPLOADED = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)


def context(actor, role):
    return CallContext.from_data({"actor": actor, "actor_role": role})


@pytest.mark.parametrize("actor, role, after, allowed", [
    ("root", "admin", timedelta(days=400), True),
    ("lina", "sales", timedelta(hours=23, minutes=59), True),
    ("lina", "sales", timedelta(hours=24), False),
    ("wang", "sales", timedelta(minutes=1), False),
    ("boss", "manager", timedelta(minutes=1), False),
])
def test_admins_or_the_uploader_within_24_hours_remove(actor, role, after, allowed):
    attachment = SimpleNamespace(id="ca_1", uploaded_by="lina", uploaded_at=UPLOADED)
    if allowed:
        check_may_remove(context(actor, role), attachment, UPLOADED + after)
    else:
        with pytest.raises(Forbidden) as refused:
            check_may_remove(context(actor, role), attachment, UPLOADED + after)
        assert refused.value.details["uploaded_by"] == "lina"


@pytest.mark.parametrize("name, fallback", [
    ("营业执照.pdf", "attachment.pdf"),
    ("合同 v2 (签字).docx", "v2 ().docx"),
    ("report.csv", "report.csv"),
    ('say "hi"\\.txt', "say _hi__.txt"),
    ("名片", "attachment"),
    ("营业执照（盖章）.pdf", "attachment.pdf"),
    ("Résumé.pdf", "Resume.pdf"),
])
def test_content_disposition_carries_the_utf8_name_and_an_ascii_fallback(name, fallback):
    header = content_disposition(name)
    assert header.startswith(f'attachment; filename="{fallback}"; filename*=UTF-8\'\'')
    encoded = header.split("filename*=UTF-8''")[1]
    assert encoded.isascii() and " " not in encoded and '"' not in encoded
    assert unquote(encoded) == name


@pytest.mark.parametrize("given, kept", [
    ("scans/营业执照.pdf", "营业执照.pdf"),
    ("C:\\Users\\lina\\合同.pdf", "合同.pdf"),
    ("  名片.png \t", "名片.png"),
    ("a\x00b\x1f.txt", "ab.txt"),
])
def test_file_names_keep_the_name_without_folders(given, kept):
    assert clean_file_name(given) == kept


@pytest.mark.parametrize("given", ["", "   ", "folder/", "..", "x" * 256])
def test_file_names_that_are_no_names_are_422(given):
    with pytest.raises(ValidationFailed):
        clean_file_name(given)


def test_the_openapi_document_describes_uploads_as_multipart():
    app = Flask("gateway")
    register_routes(app)
    paths = build_spec(app)["paths"]
    for path in ("/api/v1/customers/{customer_id}/attachments",
                 "/api/v1/customers/{customer_id}/followups/{followup_id}/attachments",
                 "/api/v1/tickets/{ticket_id}/attachments"):
        upload = paths[path]["post"]
        form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert form["properties"]["file"] == {
            "type": "string", "format": "binary",
            "description": "the file, with its name in the part's filename"}
        assert {"201", "413", "415", "422"} <= set(upload["responses"])
        assert "Idempotency-Key" in [parameter.get("name") for parameter in upload["parameters"]]
    download = paths["/api/v1/attachments/{attachment_id}"]["get"]
    assert "application/octet-stream" in download["responses"]["200"]["content"]
