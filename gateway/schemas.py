"""HTTP schemas of the gateway's own resources (users and logins)."""
from marshmallow import Schema, fields, validate

from gateway.permissions import ROLES
from services.common.schemas import StrictSchema


class LoginSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    role = fields.String()
    must_change_password = fields.Boolean(metadata={
        "description": "While true, every endpoint but POST /auth/password and /auth/logout "
                       "answers 403 password_change_required."})


class PasswordChangeSchema(StrictSchema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TemporaryPasswordSchema(Schema):
    username = fields.String()
    temporary_password = fields.String(metadata={
        "description": "Shown once; the user must change it at the next login."})


class _UserFields(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    display_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    email = fields.Email(allow_none=True)
    team = fields.String(allow_none=True, validate=validate.Regexp(
        r"^\S(.{0,78}\S)?$", error="1-80 characters, not starting or ending with a space."))


class UserInputSchema(_UserFields):
    username = fields.String(required=True, validate=[
        validate.Regexp(r"^[A-Za-z0-9_.-]{2,80}$", error="2-80 letters, digits, '_', '.' or '-'."),
        validate.NoneOf(["me"], error="'me' names the caller in /users/me.")])
    password = fields.String(required=True, validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class UserUpdateSchema(_UserFields):
    """What an admin may change on a user (PATCH)."""

    active = fields.Boolean()


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    role = fields.String()
    team = fields.String(allow_none=True)
    active = fields.Boolean()
    must_change_password = fields.Boolean()
    created_at = fields.AwareDateTime()
