from flask import Blueprint, current_app, g, request

from gateway import auth, logins
from gateway.api.endpoint import call_context, endpoint, json_body
from gateway.permissions import SESSION
from gateway.schemas import LoginSchema, PasswordChangeSchema, TokenSchema
from gateway.sessions import Actor
from services.common.clock import utcnow

blueprint = Blueprint("auth", __name__)


def _token_answer(user) -> dict:
    state = current_app.extensions["deskflow"]
    ttl = state.settings.token_ttl_seconds
    token = auth.issue_token(state.jwt_secret, user.username, user.role, utcnow(), ttl,
                             user.token_generation)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "role": user.role,
            "must_change_password": user.must_change_password}


@endpoint(blueprint, "/auth/login", "POST",
          "Log in and get a bearer token. 5 failures for one username from one address, or 50 "
          "from one address, within 15 minutes answer 429 with Retry-After; a login from a "
          "network new to the user sends it a login alert.",
          body=LoginSchema, response=TokenSchema, errors=(401, 422, 429))
def login():
    state = current_app.extensions["deskflow"]
    address = logins.client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                                    state.trusted_proxies)
    user = state.sessions.authenticate(json_body(), address, request.headers.get("User-Agent"),
                                       call_context())
    g.user = Actor(user.username, user.role, user.team)
    return _token_answer(user)


@endpoint(blueprint, "/auth/password", "POST",
          "Change the caller's password; every earlier token is revoked and a fresh one is "
          "returned.", SESSION, body=PasswordChangeSchema, response=TokenSchema, errors=(422,),
          idempotent=False)  # its answer is a bearer token: never kept at rest
def change_password():
    sessions = current_app.extensions["deskflow"].sessions
    return _token_answer(sessions.change_password(g.user.username, json_body(), call_context()))


@endpoint(blueprint, "/auth/logout", "POST", "End the session of the token sent.", SESSION,
          status=204)
def logout():
    current_app.extensions["deskflow"].sessions.logout(g.claims, call_context())
