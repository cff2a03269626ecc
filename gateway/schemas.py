"""HTTP schemas of the gateway's own resources (users, logins, dead letters)."""
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
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "current_password is the caller's password; new_password keeps the password rule and "
        "differs from it.",
    )
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
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "password: at least 8 characters with a letter, a digit and a special character.",
    )
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


class DeadLetterSelectionSchema(StrictSchema):
    """Which dead letters: all of them, one consumer's (``customers.rpc``,
    ``reporting.on_ticket_event`` ...) or one by id."""

    consumer = fields.String(validate=validate.Length(min=1, max=160))
    id = fields.String(validate=validate.Length(min=1, max=64))


class DeadLetterSchema(Schema):
    id = fields.String()
    reason = fields.String()
    consumer = fields.String()
    routing_key = fields.String()
    queue = fields.String()
    first_seen = fields.String(metadata={"description": "ISO 8601, UTC"})
    content_type = fields.String(allow_none=True)
    size = fields.Integer(metadata={"description": "Body size in bytes"})
    body_preview = fields.String(metadata={"description": "The first 300 bytes, as text"})


class DeadLetterListSchema(Schema):
    items = fields.List(fields.Nested(DeadLetterSchema))
    total = fields.Integer()
    browsed = fields.Integer(metadata={"description": "Dead letters read (at most 1000)"})


class DeadLetterCountSchema(Schema):
    count = fields.Integer()
