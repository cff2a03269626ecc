"""The monolith baseline of ``bench/tickets.py``: one Flask process (served by gunicorn as the
gateway is) doing what the services do for a customer or ticket create, with their own
domain functions and models, in ONE transaction and with no broker.

Every table of the customer, ticket, reporting and notification services lives in one
database (their kernel tables ``outbox``, ``processed_requests``… share one definition).
A create validates as the service does, runs under the same idempotency key rule
(``processed_requests``), and instead of an outbox row applies each event it emits right
away, inside the same transaction, with the consumers' own code: the reporting read model,
the notification inbox, the customer's last activity, the ticket service's view of
customers. The bearer token is checked (a JWT, as the gateway checks it; the users-table
lookup the gateway adds is not).

``MONOLITH_DATABASE_URL`` names the database; ``MONOLITH_JWT_SECRET`` the token secret.
Served by ``gunicorn 'bench.monolith:create_app()'``.
"""
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests
from flask import Flask, jsonify, request
from sqlalchemy.orm import sessionmaker

from gateway.auth import issue_token, read_token
from scripts.run import die_with_parent
from gateway.errors import from_deskflow_error
from services.common.clock import SystemClock
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.errors import DeskflowError, NotFound, Unauthorized, ValidationFailed
from services.common.events import make_envelope
from services.common.outbox import UnitOfWork
from services.customer import consumed, customers, models as customer_models
from services.notification import domain as notification_domain, models as notification_models
from services.notification import intake
from services.reporting import models as reporting_models, reports
from services.ticket import customers as ticket_customers, models as ticket_models, tickets
from tests.support.stack import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVICE_MODELS = (customer_models, ticket_models, reporting_models, notification_models)
FIRST_ADMIN = "admin"


def create_schema(engine) -> None:
    for models in SERVICE_MODELS:
        models.Base.metadata.create_all(engine)


class InProcessEvents:
    """What a consumer's use case needs of a unit of work, on the monolith's one session:
    its ``commit()`` only flushes (the request's transaction commits once), and nothing
    deduplicates deliveries because nothing is delivered twice."""

    def __init__(self, uow: "MonolithUnitOfWork"):
        self.session = uow.session
        self.context = uow.context
        self.now = uow.now

    def claim(self, consumer: str, event_id: str) -> bool:
        return True

    def claim_many(self, consumer: str, event_ids) -> set:
        return set(event_ids)

    def commit(self):
        self.session.flush()

    def rollback(self):
        raise RuntimeError("a consumer of the monolith refused an event")


class MonolithUnitOfWork(UnitOfWork):
    """The services' unit of work, but an emitted event is applied by every consumer in the
    same transaction instead of being written to the outbox."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._events = []

    def emit(self, event_type: str, data: dict) -> dict:
        envelope = make_envelope(event_type, data, "monolith", self.context.request_id,
                                 self.now())
        self._events.append(envelope)
        return envelope

    def commit(self, answer=None):
        if not self._holding:
            consumers = InProcessEvents(self)
            while self._events:
                apply_event(consumers, self._events.pop(0))
        super().commit(answer)


def apply_event(consumers: InProcessEvents, envelope: dict) -> None:
    reports.consume_batch(consumers, [envelope])
    if envelope["type"] in notification_domain.EVENT_TYPES:
        intake.handle_events(consumers, [envelope], False, FIRST_ADMIN)
    if envelope["type"] == "ticket.created":
        consumed.record_activity(consumers.session, {
            envelope["data"]["ticket"]["customer_id"]: datetime.fromisoformat(
                envelope["occurred_at"])})
    if envelope["type"] in ticket_customers.CONSUMED["customers"]:
        ticket_customers.learn_customers(consumers, [envelope])


def create_app() -> Flask:
    engine = make_engine(os.environ["MONOLITH_DATABASE_URL"])
    create_schema(engine)
    session_factory = sessionmaker(engine, expire_on_commit=False)
    secret, clock = os.environ["MONOLITH_JWT_SECRET"], SystemClock()
    app = Flask(__name__)
    app.json.sort_keys = False

    def unit_of_work() -> MonolithUnitOfWork:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthorized("Send 'Authorization: Bearer <token>'.")
        claims = read_token(secret, token.strip())
        context = CallContext(request_id=None, actor=claims["sub"], actor_role=claims["role"],
                              idempotency_key=request.headers.get("Idempotency-Key"))
        return MonolithUnitOfWork(session_factory, ticket_models, "monolith", context, clock)

    def find_customer(uow):
        def find(customer_id: str) -> dict:
            try:
                return customers.get_customer(uow, customer_id)
            except NotFound:
                raise ValidationFailed(f"customer_id: no customer {customer_id}.") from None
        return find

    def handled(work, status: int = 200):
        uow = unit_of_work()
        try:
            response = jsonify(work(uow))
            response.status_code = status
            return response
        finally:
            uow.close()

    @app.post("/api/v1/customers")
    def create_customer():
        body = request.get_json()
        return handled(lambda uow: uow.once("customers.create",
                                            lambda: customers.create_customer(uow, body)), 201)

    @app.post("/api/v1/tickets")
    def create_ticket():
        body = request.get_json()
        return handled(lambda uow: uow.once(
            "tickets.create", lambda: tickets.create_ticket(uow, body, find_customer(uow))), 201)

    @app.get("/api/v1/tickets/<ticket_id>")
    def get_ticket(ticket_id):
        return handled(lambda uow: tickets.get_ticket(uow, ticket_id))

    app.register_error_handler(DeskflowError, from_deskflow_error)
    return app


class Monolith:
    """The monolith served by gunicorn (one worker, 16 threads, as the gateway) on a free
    port, on a new PostgreSQL database of ``databases`` or a SQLite file in ``workdir``."""

    def __init__(self, backend: str, workdir: Path, databases):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.pg_names = []
        if backend == "postgres":
            name = f"{databases.run_id}_monolith"
            self.pg_names.append(databases.create(name))
            url = databases.url_of(self.pg_names[0])
        else:
            url = f"sqlite:///{workdir / 'monolith.db'}"
        secret = uuid.uuid4().hex
        self.token = issue_token(secret, FIRST_ADMIN, "admin", datetime.now(timezone.utc), 86400)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "MONOLITH_DATABASE_URL": url,
                    "MONOLITH_JWT_SECRET": secret}
        self.log_path = workdir / "monolith.log"
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", "16",
             "--keep-alive", "75", "-b", f"127.0.0.1:{self.port}", "bench.monolith:create_app()"],
            cwd=ROOT, env=self.env, stdout=self.log_path.open("w"), stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent)
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(self.base_url + "/api/v1/tickets/none", timeout=2)
                return self
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the monolith did not start:\n"
                                       + self.log_path.read_text()[-3000:]) from None
                time.sleep(0.3)

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
