"""The events the gateway emits (exchange ``gateway.events``): user accounts, as other
services need to know them (who the admins are, where to mail); see
:mod:`services.common.events`."""
from marshmallow import fields

from gateway.schemas import UserSchema
from services.common.events import Catalogue
from services.common.schemas import FieldChangeSchema

EVENTS = Catalogue("gateway")
# What a user event says of the user (never the password hash or the token state).
USER_EVENT_FIELDS = ("username", "display_name", "email", "role", "team", "active")


def _user():
    return fields.Nested(UserSchema(only=USER_EVENT_FIELDS), required=True)


EVENTS.declare("user.created", "A user account was created.", user=_user())
EVENTS.declare("user.updated", "An admin changed a user's role, display name, email, team or "
               "active flag.", user=_user(),
               changes=fields.List(fields.Nested(FieldChangeSchema), required=True))
EVENTS.declare("user.login_alert", "A user logged in from a network (IPv4 /24, IPv6 /64) it has "
               "not used in the last 90 days; never sent for a first login.", user=_user(),
               at=fields.AwareDateTime(required=True), address=fields.String(required=True),
               network=fields.String(required=True),
               user_agent=fields.String(required=True, allow_none=True))
