"""The customer's side of a ticket: the departments a ticket may name, and the satisfaction
survey a customer answers without logging in."""
from flask import Blueprint, current_app, request

from gateway import logins
from gateway.api.endpoint import endpoint, json_body, rpc
from services.ticket.schemas import DepartmentsSchema, RatingSchema, SurveyInputSchema, SurveySchema

blueprint = Blueprint("feedback", __name__)


@endpoint(blueprint, "/departments", "GET", "The departments a ticket may name (责任部门).",
          "departments.read", response=DepartmentsSchema)
def get_departments():
    return rpc("tickets", "departments")


@endpoint(blueprint, "/departments", "PUT",
          "Replace the department list; tickets naming a removed one keep it.",
          "departments.write", body=DepartmentsSchema, response=DepartmentsSchema, errors=(422,))
def set_departments():
    return rpc("tickets", "set_departments", json_body())


def _address() -> str:
    """The caller's address, which the survey rate limit counts by (``X-Forwarded-For`` only
    from ``TRUSTED_PROXIES``, as for logins)."""
    return logins.client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                                 current_app.extensions["deskflow"].trusted_proxies)


@endpoint(blueprint, "/surveys/<token>", "GET",
          "The survey of a done ticket: its number, title and the questions. No login; 404 "
          "unknown, 409 answered, 410 expired, 429 too many requests from this address.",
          response=SurveySchema, errors=(404, 409, 410, 429))
def get_survey(token):
    return rpc("tickets", "survey", token, _address())


@endpoint(blueprint, "/surveys/<token>", "POST",
          "Answer the survey once; the answers become the ticket's rating. No login.",
          body=SurveyInputSchema, response=RatingSchema, status=201,
          errors=(404, 409, 410, 422, 429))
def answer_survey(token):
    return rpc("tickets", "answer_survey", token, json_body(), _address())
