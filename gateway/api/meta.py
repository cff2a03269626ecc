"""Health, readiness and the OpenAPI document. (Metrics are served on their own port:
:mod:`gateway.metrics`.)"""
from flask import Blueprint, current_app, jsonify

from gateway.openapi import build_spec
from services.common.errors import DeskflowError

blueprint = Blueprint("meta", __name__)
api_blueprint = Blueprint("openapi", __name__)

# Failures that concern one service; any other means the broker cannot be reached.
SERVICE_FAILURES = ("UnknownService", "RpcTimeout")
# The Nameko services the gateway needs; each answers ``ping``.
READY_SERVICES = ("customers", "tickets", "notifications", "reporting", "workflow")


@blueprint.get("/healthz")
def healthz():
    return {"status": "ok"}


def _ping(pool, service: str) -> tuple[str, bool]:
    """The service's state, and whether the failure was the broker's rather than its own."""
    try:
        pool.call(service, "ping", context={})
        return "ok", False
    except DeskflowError as exc:
        return exc.message, exc.details.get("reason") not in SERVICE_FAILURES


@blueprint.get("/readyz")
def readyz():
    state = current_app.extensions["deskflow"]
    checks, broker_failure = {}, None
    for service in READY_SERVICES:
        if broker_failure is None:  # with the broker down, asking the others only waits longer
            result, broker_down = _ping(state.ready_pool, service)
            broker_failure = result if broker_down else None
        checks[service] = broker_failure or result
    ready = all(result == "ok" for result in checks.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@api_blueprint.get("/openapi.json")
def openapi():
    state = current_app.extensions["deskflow"]
    if state.openapi is None:
        state.openapi = build_spec(current_app)
    return state.openapi
