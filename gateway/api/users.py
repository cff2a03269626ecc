from flask import Blueprint, current_app, g

from gateway.api.endpoint import call_context, endpoint, json_body
from gateway.schemas import (
    TemporaryPasswordSchema, UserInputSchema, UserSchema, UserUpdateSchema,
)

blueprint = Blueprint("users", __name__)


def _users():
    return current_app.extensions["deskflow"].users


@endpoint(blueprint, "/users", "POST",
          "Create a user; it must change the password given here at its first login.",
          "users.manage",
          body=UserInputSchema, response=UserSchema, status=201, errors=(409, 422))
def create_user():
    return _users().create(json_body(), call_context())


@endpoint(blueprint, "/users", "GET", "List users.", "users.manage", response=UserSchema,
          many=True)
def list_users():
    return _users().list(call_context())


@endpoint(blueprint, "/users/me", "GET", "The caller's own account.", "account.own",
          response=UserSchema)
def current_user():
    return _users().get(g.user.username, call_context())


@endpoint(blueprint, "/users/<key:username>", "PATCH",
          "Change a user's role, display name, email, team or active flag; a role change or a "
          "deactivation ends the user's sessions at once; 409 for a change of one's own role "
          "or active flag (an admin cannot lock themselves out).", "users.manage",
          body=UserUpdateSchema, response=UserSchema, errors=(404, 409, 422))
def update_user(username):
    return _users().update(username, json_body(), call_context())


@endpoint(blueprint, "/users/<key:username>/reset-password", "POST",
          "Give a user a temporary password (shown once) to change at its next login; its "
          "sessions end. A repeat makes a new one (the earlier stops working): the password is "
          "never kept for an Idempotency-Key replay. 409 for one's own (change it with "
          "POST /auth/password).", "users.manage",
          response=TemporaryPasswordSchema, errors=(404, 409), idempotent=False)
def reset_password(username):
    return _users().reset_password(username, call_context())
