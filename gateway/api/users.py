from flask import Blueprint, current_app

from gateway.api.endpoint import call_context, endpoint, json_body
from gateway.schemas import UserInputSchema, UserSchema

blueprint = Blueprint("users", __name__)


@endpoint(blueprint, "/users", "POST", "Create a user.", "users.manage",
          body=UserInputSchema, response=UserSchema, status=201, errors=(409, 422))
def create_user():
    return current_app.extensions["deskflow"].users.create(json_body(), call_context())


@endpoint(blueprint, "/users", "GET", "List users.", "users.manage", response=UserSchema,
          many=True)
def list_users():
    return current_app.extensions["deskflow"].users.list(call_context())
