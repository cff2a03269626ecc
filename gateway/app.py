"""The gateway's composition root: ``create_app(settings)`` wires everything; nothing is
built at import time. Served by gunicorn as ``gateway.app:create_app()``."""
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from flask import Flask, g, request
from werkzeug.routing import BaseConverter
from sqlalchemy.orm import sessionmaker

from gateway import attachment_gc, idempotency, logins, models, sessions, statements
from gateway.api import (
    admin, attachments, auth, customers, docs, feedback, meta, notifications, reports, sla,
    tasks, tickets, users, workflow,
)
from gateway.api.endpoint import limit_body
from gateway.auth import load_or_create_secret
from gateway.dead_letters import DeadLetterBox
from gateway.errors import register_error_handlers
from gateway.metrics import HTTP_LATENCY, count_published, observe_rpc
from gateway.rpc import RpcPool
from gateway.token_secret import check_secret
from gateway.sessions import Sessions
from gateway.store import open_store
from gateway.users import UserStore
from services.common.clock import SystemClock
from services.common.config import Settings, load_settings
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.errors import NotFound, register_remote_errors
from services.common.logs import configure_logging, set_request_id
from services.common.outbox import UnitOfWork
from services.common.periodic import run_every
from services.common.relay import OutboxRelay

API_PREFIX = "/api/v1"
API_BLUEPRINTS = (auth.blueprint, users.blueprint, customers.blueprint, tickets.blueprint,
                  sla.blueprint, feedback.blueprint, notifications.blueprint, reports.blueprint,
                  admin.blueprint, tasks.blueprint, workflow.blueprint, attachments.blueprint)
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
READINESS_TIMEOUT_SECONDS = 3

log = logging.getLogger(__name__)


@dataclass
class GatewayState:
    """What the views need, kept in ``app.extensions["deskflow"]``."""

    settings: Settings
    jwt_secret: str
    rpc_pool: RpcPool
    ready_pool: RpcPool
    users: UserStore
    sessions: Sessions
    trusted_proxies: tuple
    relay: OutboxRelay
    idempotency: idempotency.IdempotencyStore
    dead_letters: DeadLetterBox
    attachment_store: object = None  # gateway.store.FileStore or S3Store
    openapi: dict | None = None


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    register_remote_errors()
    app = Flask(__name__)
    app.json.sort_keys = False
    state = app.extensions["deskflow"] = _build_state(settings)
    app.before_request(_start_request)
    app.before_request(limit_body)
    app.before_request(_refuse_nul_in_path)
    app.after_request(_finish_request)
    register_error_handlers(app)
    register_routes(app)
    return app


class KeyConverter(BaseConverter):
    """``<key:...>``: a path segment naming one resource, never a word a sibling route
    spells out (``/users/me``, ``/tasks/summary``, ``/workflow/rules/dry-run``). Those routes
    then match alone: ``PATCH /users/me`` is a 405 naming ``GET`` in ``Allow``, as the
    OpenAPI document says, not a change to a user called "me"."""

    regex = r"(?!(?:me|summary|dry-run)\Z)[^/]+"


def register_routes(app: Flask) -> None:
    """Every route of the gateway (the permission tests enumerate them from here)."""
    app.url_map.converters["key"] = KeyConverter
    for blueprint in API_BLUEPRINTS:
        app.register_blueprint(blueprint, url_prefix=API_PREFIX)
    app.register_blueprint(meta.api_blueprint, url_prefix=API_PREFIX)
    app.register_blueprint(meta.blueprint)
    app.register_blueprint(docs.blueprint)


def _build_state(settings: Settings) -> GatewayState:
    jwt_secret = check_secret(settings.jwt_secret
                              or load_or_create_secret(settings.data_dir / "jwt-secret"))
    engine = make_engine(settings.database_url("gateway"))
    session_factory = sessionmaker(engine, expire_on_commit=False)
    # Each request's user lookup and idempotency claim are single statements.
    single_statement = statements.connector(engine)
    clock = SystemClock()
    relay = OutboxRelay(settings.amqp_uri, "gateway", session_factory, models.Outbox, clock,
                        expiring=[idempotency.expiring_column(), *sessions.expiring_columns()])
    relay.observers.append(count_published)
    threading.Thread(target=relay.relay_forever, args=(settings.outbox_relay_seconds, time.sleep),
                     name="outbox-relay", daemon=True).start()

    def unit_of_work(context: dict) -> UnitOfWork:
        return UnitOfWork(session_factory, models, "gateway", CallContext.from_data(context), clock)

    rpc_pool = RpcPool(settings.amqp_uri, settings.rpc_pool_size, settings.rpc_timeout,
                       observe=observe_rpc)
    store = open_store(settings.attachment_store, settings.attachment_s3_endpoint)
    threading.Thread(target=run_every, name="attachment-gc", daemon=True, args=(
        settings.maintenance_check_seconds,
        partial(attachment_gc.collect_round, store, rpc_pool, clock,
                settings.attachment_gc_grace_seconds),
        lambda: True, time.sleep, "attachment garbage collection")).start()
    return GatewayState(
        settings=settings,
        jwt_secret=jwt_secret,
        rpc_pool=rpc_pool,
        ready_pool=RpcPool(settings.amqp_uri, 1, READINESS_TIMEOUT_SECONDS),
        dead_letters=DeadLetterBox(settings.amqp_uri, READINESS_TIMEOUT_SECONDS,
                                   settings.amqp_queue_type),
        users=UserStore(unit_of_work, relay),
        sessions=Sessions(unit_of_work, relay, single_statement),
        trusted_proxies=logins.parse_networks(settings.trusted_proxies),
        relay=relay,
        attachment_store=store,
        # A claim still in flight after a few RPC timeouts belongs to a gateway that died.
        idempotency=idempotency.IdempotencyStore(
            single_statement, clock,
            abandoned_after=timedelta(seconds=3 * settings.rpc_timeout + 30)),
    )


def _start_request():
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID_PATTERN.match(given) else uuid.uuid4().hex
    g.started = time.perf_counter()
    set_request_id(g.request_id)


def _refuse_nul_in_path():
    """No resource has a NUL character in its name (and no database column can hold one)."""
    if "\x00" in request.path:
        raise NotFound("No resource has this name.")


def _finish_request(response):
    route = request.url_rule.rule if request.url_rule else "<unmatched>"
    HTTP_LATENCY.labels(route, request.method, str(response.status_code)).observe(
        time.perf_counter() - g.get("started", time.perf_counter()))
    response.headers["X-Request-ID"] = g.get("request_id", "")
    log.info("%s %s %s", request.method, request.path, response.status_code)
    set_request_id(None)
    return response
