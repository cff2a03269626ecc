from flask import Blueprint

from gateway.api.endpoint import endpoint, json_body, rpc
from services.ticket.schemas import SlaPolicySchema

blueprint = Blueprint("sla", __name__)


@endpoint(blueprint, "/sla/policy", "GET", "The SLA targets in seconds (and business calendar).",
          "sla.read", response=SlaPolicySchema)
def get_policy():
    return rpc("tickets", "sla_policy")


@endpoint(blueprint, "/sla/policy", "PUT",
          "Replace the SLA policy; it applies to tickets created afterwards.", "sla.write",
          body=SlaPolicySchema, response=SlaPolicySchema, errors=(422,))
def set_policy():
    return rpc("tickets", "set_sla_policy", json_body())
