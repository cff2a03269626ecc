"""Declaring an endpoint once: route, permission, schemas and status for the OpenAPI
document, with authentication, idempotency and the RPC context handled in one place."""
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial, wraps

from flask import current_app, g, jsonify, request

from gateway import auth, idempotency, uploads
from gateway.errors import from_deskflow_error
from gateway.permissions import PERMISSIONS, SESSION, is_allowed
from gateway.sessions import Actor
from services.common.config import Settings
from services.common.context import (
    ACTOR, ACTOR_ROLE, ACTOR_TEAM, IDEMPOTENCY_KEY, REQUEST_ID, TEAM_MEMBERS,
)
from services.common.errors import (
    BadRequest, DeskflowError, Forbidden, PasswordChangeRequired, PayloadTooLarge,
    Unauthorized,
)

REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Content-Type", "ETag", "Location")  # replayed with a stored answer


@dataclass(frozen=True)
class EndpointDoc:
    summary: str
    permission: str | None
    body: type | None = None
    query: type | None = None
    response: type | None = None
    status: int = 200
    many: bool = False
    paged: bool = False
    errors: tuple = field(default=())
    # Rules the request must keep that JSON Schema cannot state (another field's value, the
    # stored state, the clock), in words; a body or query schema adds its own ``RULES``.
    rules: tuple = field(default=())
    content_types: tuple = ("application/json",)
    # The largest body this endpoint reads, when not MAX_BODY_BYTES: a number of bytes, or
    # a function of the settings (``lambda settings: settings.attachment_max_bytes``).
    max_body_bytes: int | Callable[[Settings], int] | None = None

    idempotent: bool = False
    # A file upload (multipart/form-data, read as it streams: :mod:`gateway.uploads`).
    upload: bool = False

    def body_limit(self, settings: Settings) -> int:
        if self.upload:
            return uploads.body_limit(settings.attachment_max_bytes)
        limit = self.max_body_bytes
        if limit is None:
            return settings.max_body_bytes
        return limit(settings) if callable(limit) else limit


def endpoint(blueprint, rule: str, method: str, summary: str, permission: str | None = None,
             idempotent: bool | None = None, **doc):
    """Register ``view`` on ``blueprint``; it returns a JSON-able value, a Response or None.

    Every POST that needs a user is idempotent without declaring anything: a repeat under
    the same ``Idempotency-Key`` gets the first answer (:mod:`gateway.idempotency`). Keys
    are scoped to a user, so a POST without a permission (logging in) is not, unless it
    says so and has a user to scope to.
    """
    if permission is not None and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")
    if idempotent is None:
        idempotent = method == "POST" and permission is not None
    if idempotent and permission is None:
        raise ValueError(f"{rule}: idempotency keys are scoped to a user; declare a permission")
    description = EndpointDoc(summary=summary, permission=permission, idempotent=idempotent,
                              **doc)

    def decorator(view):
        @wraps(view)
        def handle(**kwargs):
            if permission is not None:
                require(permission)
            # The key this request carries to the services: RabbitMQ redelivering the call
            # after a broker restart makes no second change.
            g.idempotency_key = uuid.uuid4().hex
            if description.upload:  # stored before anything else, fingerprinted by content
                g.upload = receive_upload()
            respond = partial(_respond, view, kwargs, description.status)
            if idempotent and idempotency.HEADER in request.headers:
                return _once(respond)
            return respond()

        handle.doc = description
        blueprint.add_url_rule(rule, endpoint=view.__name__, view_func=handle, methods=[method])
        return handle

    return decorator


def limit_body() -> None:
    """Refuse a body larger than the endpoint's limit before reading any of it (by its
    ``Content-Length``). A chunked body has no length: at most one byte past the limit
    is read to tell."""
    settings = current_app.extensions["deskflow"].settings
    doc = getattr(current_app.view_functions.get(request.endpoint), "doc", None)
    limit = doc.body_limit(settings) if doc else settings.max_body_bytes
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.",
                              {"max_bytes": limit, "received_bytes": request.content_length})
    if doc is not None and doc.upload:
        return  # counted as it streams (gateway.uploads), never read into memory here
    if request.content_length is None and "Transfer-Encoding" in request.headers:
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.", {"max_bytes": limit})


def receive_upload() -> uploads.Upload:
    """The request's file, streamed into the attachment store."""
    state = current_app.extensions["deskflow"]
    return uploads.receive(request.stream, request.headers.get("Content-Type", ""),
                           state.attachment_store, state.settings.attachment_max_bytes)


def _respond(view, kwargs: dict, status: int):
    result = view(**kwargs)
    if result is None:
        return current_app.response_class(status=status)
    if isinstance(result, current_app.response_class):
        return result
    response = jsonify(result)
    response.status_code = status
    return response


def _once(respond):
    """Answer a request sent with an ``Idempotency-Key`` once; replay that answer to a repeat."""
    store = current_app.extensions["deskflow"].idempotency
    user = g.user.username
    key = idempotency.check_key(request.headers[idempotency.HEADER])
    upload = g.get("upload")
    fingerprint = idempotency.request_hash(request.method, request.path, request.query_string,
                                           upload.fingerprint() if upload else request.get_data())
    earlier = store.claim(user, key, fingerprint)
    if earlier is not None:
        response = current_app.response_class(earlier.body, status=earlier.status)
        response.headers.update(earlier.headers)
        response.headers[REPLAYED_HEADER] = "true"
        return response
    g.idempotency_key = idempotency.service_key(user, key, fingerprint)
    try:
        response = respond()
    except DeskflowError as exc:
        response = from_deskflow_error(exc)
    except BaseException:
        store.release(user, key)
        raise
    if response.status_code >= 500:
        store.release(user, key)  # not an answer: the retry runs again (the service dedups)
    else:
        kept = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        store.finish(user, key, idempotency.Answer(response.status_code,
                                                   response.get_data(as_text=True), kept))
    return response


def current_claims() -> dict:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send 'Authorization: Bearer <token>'; get a token from POST /api/v1/auth/login.")
    return auth.read_token(current_app.extensions["deskflow"].jwt_secret, token.strip())


def require(permission: str) -> Actor:
    """The caller, checked against the users table on every request, if its role holds
    ``permission``; 401 or 403 otherwise. A user who must change its password may only
    change it or log out (the ``session`` permission)."""
    g.claims = claims = current_claims()
    actor = current_app.extensions["deskflow"].sessions.actor(claims)
    g.user = actor
    if actor.must_change_password and permission != SESSION:
        raise PasswordChangeRequired(
            "Change your password first: POST /api/v1/auth/password.",
            {"endpoint": "/api/v1/auth/password"})
    if not is_allowed(actor.role, permission):
        raise Forbidden(f"Role '{actor.role}' may not do this.",
                        {"permission": permission, "role": actor.role})
    return actor


def call_context() -> dict:
    """Who acts (with a manager's team), under which request id and idempotency key. The
    key is derived from the client's ``Idempotency-Key``, else made for this request (never
    the client's request id, which a client may repeat), so a request RabbitMQ redelivers to
    a service after a broker restart is recognised there as the same request."""
    context = {REQUEST_ID: g.get("request_id"),
               IDEMPOTENCY_KEY: g.get("idempotency_key") or uuid.uuid4().hex}
    user = g.get("user")
    if user is not None:
        context.update({ACTOR: user.username, ACTOR_ROLE: user.role})
        if user.team:
            context[ACTOR_TEAM] = user.team
        if user.team_members:
            context[TEAM_MEMBERS] = list(user.team_members)
    return context


def rpc(service: str, method: str, *args, **kwargs):
    """Call a service as the current user, under the current request id."""
    pool = current_app.extensions["deskflow"].rpc_pool
    return pool.call(service, method, *args, context=call_context(), **kwargs)


def tagged(record: dict):
    """``record`` as JSON with its ``ETag`` (the record's version): a client sends it back in
    ``If-Match`` to change the record only if nobody has changed it since."""
    response = jsonify(record)
    if record.get("version") is not None:
        response.set_etag(str(record["version"]))
    return response


def if_match() -> int | None:
    """The version the client's ``If-Match`` names (None without one, or with ``*``); the
    owning service compares it with the record's inside the writing transaction."""
    header = request.headers.get("If-Match", "").strip()
    if header in ("", "*"):
        return None
    tag = header.removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise BadRequest('If-Match: one entity tag as GET answered it in ETag, e.g. "3".',
                         {"header": "If-Match", "received": header[:100]})
    return int(tag)


def json_body() -> dict:
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequest("The body must be JSON with 'Content-Type: application/json'.")
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", {"received": type(body).__name__})
    return body


def query_args() -> dict:
    """Query parameters as a dict; a repeated parameter keeps its last value."""
    return {key: values[-1] for key, values in request.args.lists()}
