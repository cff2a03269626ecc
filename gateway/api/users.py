from flask import Blueprint, current_app, g

from gateway.api.endpoint import call_context, endpoint, json_body
from gateway.schemas import UserInputSchema, UserSchema, UserUpdateSchema

blueprint = Blueprint("users", __name__)


def _users():
    return current_app.extensions["deskflow"].users


@endpoint(blueprint, "/users", "POST", "Create a user.", "users.manage",
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


@endpoint(blueprint, "/users/<username>", "PATCH",
          "Change a user's role, display name, email, team or active flag.", "users.manage",
          body=UserUpdateSchema, response=UserSchema, errors=(404, 422))
def update_user(username):
    return _users().update(username, json_body(), call_context())
