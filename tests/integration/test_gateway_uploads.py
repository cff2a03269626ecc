"""Uploads stream into the attachment store as they arrive: the type is decided from the
first bytes (415 without reading on), the size is counted (413 the moment it passes
ATTACHMENT_MAX_BYTES, or before reading anything when Content-Length says so), and nothing
refused is left in the store."""
import hashlib
import io

import pytest
from flask import Blueprint, g

from gateway.api.endpoint import endpoint
from gateway.uploads import FORM_OVERHEAD_BYTES, READ_CHUNK
from tests.support import files
from tests.support.gateway_app import gateway_app
from tests.support.multipart import CONTENT_TYPE, CountingUpload

MIB = 1024 * 1024
CHUNKED = {"headers": {"Transfer-Encoding": "chunked"},
           "environ_overrides": {"wsgi.input_terminated": True}}


@pytest.fixture
def app(rabbit_config, tmp_path):
    app = gateway_app(tmp_path, rabbit_config["AMQP_URI"], ATTACHMENT_MAX_BYTES=str(2 * MIB))
    uploads = Blueprint("uploads", __name__)

    @endpoint(uploads, "/uploads", "POST", "Store a file.", upload=True)
    def upload():
        return {**g.upload.metadata(), "new": g.upload.new}

    app.register_blueprint(uploads, url_prefix="/test")
    return app


def stored(app) -> list:
    return list(app.extensions["deskflow"].attachment_store.objects())


def leftovers(tmp_path) -> list:
    incoming = tmp_path / "attachments" / ".incoming"
    return list(incoming.iterdir()) if incoming.is_dir() else []


def test_a_file_with_a_chinese_name_and_a_note_is_stored_by_its_sha256(app):
    data = files.pdf("营业执照")
    response = app.test_client().post("/test/uploads", data={
        "note": "盖章版", "file": (io.BytesIO(data), "扫描/营业执照 2026.pdf")})
    assert response.status_code == 200, response.text
    assert response.get_json() == {
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
        "content_type": "application/pdf", "file_name": "营业执照 2026.pdf", "note": "盖章版",
        "new": True}
    store = app.extensions["deskflow"].attachment_store
    assert b"".join(store.read(hashlib.sha256(data).hexdigest())) == data
    again = app.test_client().post("/test/uploads", data={"file": (io.BytesIO(data), "copy.pdf")})
    assert again.get_json()["new"] is False
    assert len(stored(app)) == 1


def test_a_declared_length_over_the_limit_is_refused_before_reading(app):
    body = CountingUpload("big.pdf", files.pdf(), 2 * MIB + FORM_OVERHEAD_BYTES)
    response = app.test_client().post("/test/uploads", input_stream=body,
                                      content_type=CONTENT_TYPE,
                                      headers={"Content-Length": str(body.length)})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert body.taken == 0


def test_a_chunked_upload_is_cut_off_when_it_passes_the_limit(app, tmp_path):
    body = CountingUpload("big.pdf", files.pdf(), 3 * MIB)
    response = app.test_client().post("/test/uploads", input_stream=body,
                                      content_type=CONTENT_TYPE, **CHUNKED)
    assert response.status_code == 413
    assert response.get_json()["error"]["details"] == {"max_bytes": 2 * MIB}
    assert body.taken <= 2 * MIB + 2 * READ_CHUNK
    assert stored(app) == [] and leftovers(tmp_path) == []


def test_a_file_of_exactly_the_limit_is_taken(app):
    body = CountingUpload("exact.pdf", files.pdf(), 2 * MIB)
    response = app.test_client().post("/test/uploads", input_stream=body,
                                      content_type=CONTENT_TYPE, **CHUNKED)
    assert response.status_code == 200, response.text
    assert response.get_json()["size"] == 2 * MIB
    assert body.taken == body.length


def test_an_executable_named_pdf_is_refused_after_its_first_bytes(app, tmp_path):
    body = CountingUpload("报价单.pdf", files.elf(), 2 * MIB)
    response = app.test_client().post("/test/uploads", input_stream=body,
                                      content_type=CONTENT_TYPE, **CHUNKED)
    assert response.status_code == 415
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert error["details"] == {"detected": "an ELF executable"}
    assert body.taken <= 2 * READ_CHUNK
    assert stored(app) == [] and leftovers(tmp_path) == []


@pytest.mark.parametrize("data, content_type, status, field", [
    (b'{"file": "x"}', "application/json", 415, None),
    (b"--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--b--\r\n",
     "multipart/form-data; boundary=b", 422, "file"),
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
     b"\r\n--b--\r\n", "multipart/form-data; boundary=b", 422, "file"),
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n"
     b"text\r\n--b--\r\n", "multipart/form-data; boundary=b", 422, "file"),
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
     b"text without its closing boundary", "multipart/form-data; boundary=b", 400, None),
])
def test_malformed_uploads_are_clear_4xx(app, tmp_path, data, content_type, status, field):
    response = app.test_client().post("/test/uploads", data=data, content_type=content_type)
    assert response.status_code == status, response.text
    if field:
        assert field in response.get_json()["error"]["details"]["fields"]
    assert stored(app) == [] and leftovers(tmp_path) == []


def test_form_fields_besides_the_file_are_bounded(app):
    body = CountingUpload("a.txt", b"text", 10, note="x" * (FORM_OVERHEAD_BYTES + 1))
    response = app.test_client().post("/test/uploads", input_stream=body,
                                      content_type=CONTENT_TYPE, **CHUNKED)
    assert response.status_code == 413
