"""Health, readiness, metrics and the OpenAPI document."""
from flask import Blueprint, Response, current_app, jsonify

from gateway.metrics import render
from gateway.openapi import build_spec
from services.common.errors import DeskflowError

blueprint = Blueprint("meta", __name__)
api_blueprint = Blueprint("openapi", __name__)

# The Nameko services the gateway needs; each answers ``ping``.
READY_SERVICES = ("customers", "tickets", "notifications", "reporting")


@blueprint.get("/healthz")
def healthz():
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz():
    state = current_app.extensions["deskflow"]
    checks = {}
    for service in READY_SERVICES:
        try:
            state.ready_pool.call(service, "ping", context={})
            checks[service] = "ok"
        except DeskflowError as exc:
            checks[service] = exc.message
    ready = all(result == "ok" for result in checks.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@blueprint.get("/metrics")
def metrics():
    state = current_app.extensions["deskflow"]
    text, content_type = render(state.scrape_collectors)
    return Response(text, content_type=content_type)


@api_blueprint.get("/openapi.json")
def openapi():
    state = current_app.extensions["deskflow"]
    if state.openapi is None:
        state.openapi = build_spec(current_app)
    return state.openapi
