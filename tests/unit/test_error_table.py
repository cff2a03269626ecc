import pytest
from flask import Flask
from nameko.exceptions import RemoteError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import MethodNotAllowed, NotFound as HttpNotFound, RequestEntityTooLarge

from gateway.errors import register_error_handlers
from services.common import errors


@pytest.mark.parametrize("error, status, code", [
    (errors.BadRequest("x"), 400, "bad_request"),
    (errors.Unauthorized("x"), 401, "unauthorized"),
    (errors.Forbidden("x"), 403, "forbidden"),
    (errors.PasswordChangeRequired("x"), 403, "password_change_required"),
    (errors.NotOwner("x", {"owner": "lina"}), 403, "not_owner"),
    (errors.NotFound("x"), 404, "not_found"),
    (errors.Conflict("x"), 409, "conflict"),
    (errors.Duplicate("x", {"existing_id": "2026-TECH-001"}), 409, "duplicate"),
    (errors.InvalidTransition("x", {"allowed": ["done"]}), 409, "invalid_transition"),
    (errors.Archived("x", {"id": "2026-TECH-001-001"}), 409, "archived"),
    (errors.RetentionPeriod("x", {"purge_after": "2029-11-26"}), 409, "retention_period"),
    (errors.InProgress("x"), 409, "in_progress"),
    (errors.SamePerson("x", {"author": "lina"}), 409, "same_person"),
    (errors.ReviewOutOfOrder("x", {"allowed": ["verified"]}), 409, "review_out_of_order"),
    (errors.Stale("x", {"current_version": 3}), 412, "stale"),
    (errors.ValidationFailed("x", {"fields": {"name": ["bad"]}}), 422, "validation_failed"),
    (errors.PayloadTooLarge("x", {"max_bytes": 10}), 413, "payload_too_large"),
    (RequestEntityTooLarge(), 413, "payload_too_large"),
    (errors.UnsupportedMediaType("x", {"detected": "application/x-executable"}), 415,
     "unsupported_media_type"),
    (errors.KeyReused("x"), 422, "idempotency_key_reused"),
    (errors.TooManyRequests("x"), 429, "rate_limited"),
    (errors.Unavailable("x"), 503, "unavailable"),
    (OperationalError("SELECT 1", {}, ConnectionRefusedError()), 503, "unavailable"),
    (HttpNotFound(), 404, "not_found"),
    (MethodNotAllowed(valid_methods=["GET"]), 405, "method_not_allowed"),
    (RemoteError("KeyError", "boom"), 500, "internal_error"),
    (RuntimeError("boom"), 500, "internal_error"),
])
def test_each_error_maps_to_one_status_and_body(error, status, code):
    app = Flask(__name__)
    register_error_handlers(app)

    @app.get("/")
    def fail():
        raise error

    response = app.test_client().get("/")
    assert response.status_code == status
    body = response.get_json()["error"]
    assert body["code"] == code
    assert set(body) == {"code", "message", "details"}
    if isinstance(error, errors.DeskflowError):
        assert body["details"] == error.details


def test_typed_errors_survive_nameko_serialisation():
    from nameko.exceptions import deserialize, serialize

    errors.register_remote_errors()
    original = errors.Duplicate("already there", {"existing_id": "2026-TECH-001"})
    revived = deserialize(serialize(original))
    assert isinstance(revived, errors.Duplicate)
    assert (revived.message, revived.details, revived.status) == (
        "already there", {"existing_id": "2026-TECH-001"}, 409)



def test_a_405_names_the_allowed_methods_in_its_allow_header():
    """RFC 9110 §15.5.6: a 405 carries ``Allow``."""
    app = Flask(__name__)
    register_error_handlers(app)
    app.add_url_rule("/things", "things", lambda: "", methods=["GET", "POST"])
    response = app.test_client().delete("/things")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert response.get_json()["error"]["details"]["allowed_methods"] == \
        ["GET", "HEAD", "OPTIONS", "POST"]
