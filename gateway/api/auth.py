from flask import Blueprint, current_app, g, request

from gateway import auth
from gateway.api.endpoint import call_context, endpoint, json_body
from gateway.schemas import LoginSchema, TokenSchema
from gateway.users import Actor
from services.common.clock import utcnow

blueprint = Blueprint("auth", __name__)


@endpoint(blueprint, "/auth/login", "POST", "Log in and get a bearer token.",
          body=LoginSchema, response=TokenSchema, errors=(401, 422, 429))
def login():
    state = current_app.extensions["deskflow"]
    user = state.users.authenticate(json_body(), request.remote_addr, call_context())
    g.user = Actor(user.username, user.role, user.team)
    token = auth.issue_token(state.jwt_secret, user.username, user.role, utcnow(),
                             state.settings.token_ttl_seconds)
    return {"access_token": token, "token_type": "Bearer",
            "expires_in": state.settings.token_ttl_seconds, "role": user.role}
