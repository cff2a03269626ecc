"""Bodies above MAX_BODY_BYTES are refused with 413 before they are read; an endpoint may
declare a larger limit of its own."""
import io

from flask import Blueprint, request

from gateway.api.endpoint import endpoint
from tests.support.gateway_app import gateway_app

KIB = 1024


def app_with_upload_endpoint(tmp_path, amqp_uri):
    app = gateway_app(tmp_path, amqp_uri, MAX_BODY_BYTES=str(16 * KIB))
    uploads = Blueprint("uploads", __name__)

    @endpoint(uploads, "/uploads", "POST", "An endpoint that takes large bodies.",
              max_body_bytes=lambda settings: 4 * settings.max_body_bytes)
    def upload():
        return {"received": len(request.get_data())}

    app.register_blueprint(uploads, url_prefix="/test")
    return app


def test_a_body_over_the_limit_is_a_413_before_authentication(rabbit_config, tmp_path):
    client = app_with_upload_endpoint(tmp_path, rabbit_config["AMQP_URI"]).test_client()
    response = client.post("/api/v1/customers", data=b"{" + b" " * (17 * KIB) + b"}",
                           content_type="application/json")
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"max_bytes": 16 * KIB, "received_bytes": 17 * KIB + 2}
    # Within the limit the request goes on (and here meets the missing token).
    assert client.post("/api/v1/customers", json={"name": "x"}).status_code == 401


def test_an_endpoint_may_take_a_larger_body(rabbit_config, tmp_path):
    client = app_with_upload_endpoint(tmp_path, rabbit_config["AMQP_URI"]).test_client()
    accepted = client.post("/test/uploads", data=b"x" * (40 * KIB))
    assert accepted.status_code == 200
    assert accepted.get_json() == {"received": 40 * KIB}
    refused = client.post("/test/uploads", data=b"x" * (65 * KIB))
    assert refused.status_code == 413
    assert refused.get_json()["error"]["details"]["max_bytes"] == 64 * KIB


def test_a_chunked_body_is_cut_off_at_the_limit(rabbit_config, tmp_path):
    client = app_with_upload_endpoint(tmp_path, rabbit_config["AMQP_URI"]).test_client()
    # No Content-Length: the server hands over a stream it ends itself (as gunicorn does).
    response = client.post("/test/uploads", input_stream=io.BytesIO(b"x" * (80 * KIB)),
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert response.get_json()["error"]["details"] == {"max_bytes": 64 * KIB}
    within = client.post("/test/uploads", input_stream=io.BytesIO(b"x" * (64 * KIB)),
                         headers={"Transfer-Encoding": "chunked"},
                         environ_overrides={"wsgi.input_terminated": True})
    assert within.get_json() == {"received": 64 * KIB}
