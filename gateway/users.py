"""Users and the first admin, kept in the gateway's own database.

User changes are events too (``user.created``, ``user.updated``, carrying role, team, email
and active): other services keep their own view of users from them, never from this
database.
"""
from contextlib import contextmanager

from sqlalchemy import select

from gateway import auth
from gateway.events import USER_EVENT_FIELDS
from gateway.models import User
from gateway.schemas import UserInputSchema, UserSchema, UserUpdateSchema
from services.common.context import ACTOR
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.schemas import load_or_422, schema_of


def user_event(user: User) -> dict:
    shown = schema_of(UserSchema).dump(user)
    return {name: shown[name] for name in USER_EVENT_FIELDS}


def revokes_sessions(field: str, after) -> bool:
    """A role change or a deactivation ends every session of the user."""
    return field == "role" or (field == "active" and after is False)


def find_user(session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def get_user(session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"User {username} does not exist.", {"username": username})
    return user


class GatewayStore:
    """A unit of work on the gateway database whose committed events are published once
    it closes."""

    def __init__(self, unit_of_work, relay):
        """``unit_of_work(context)`` opens a :class:`UnitOfWork` on the gateway database."""
        self.unit_of_work = unit_of_work
        self.relay = relay

    @contextmanager
    def work(self, context):
        uow = self.unit_of_work(context)
        try:
            yield uow
        finally:
            uow.close()
        self.relay.publish_committed(uow.committed)


class UserStore(GatewayStore):
    def create(self, payload: dict, context, must_change_password: bool = True) -> dict:
        """A new user; one an admin made must choose its own password at first login."""
        data = load_or_422(schema_of(UserInputSchema), payload)
        auth.check_password_rule(data["password"])
        with self.work(context) as uow:
            if find_user(uow.session, data["username"]):
                raise Conflict(f"User {data['username']} already exists.",
                               {"username": data["username"]})
            user = User(password_hash=auth.hash_password(data.pop("password")), active=True,
                        must_change_password=must_change_password, token_generation=0,
                        created_at=uow.now(), **data)
            uow.session.add(user)
            uow.session.flush()
            uow.emit("user.created", {"user": user_event(user)})
            uow.commit()
        return schema_of(UserSchema).dump(user)

    def update(self, username: str, payload: dict, context) -> dict:
        """Change role, display name, email, team or active; emits ``user.updated`` with the
        changes when anything changed. A role change or a deactivation revokes the user's
        tokens in the same transaction."""
        data = load_or_422(schema_of(UserUpdateSchema), payload)
        with self.work(context) as uow:
            user = get_user(uow.session, username)
            changes = [{"field": name, "before": getattr(user, name), "after": value}
                       for name, value in data.items() if getattr(user, name) != value]
            if username == context.get(ACTOR) and any(
                    revokes_sessions(change["field"], change["after"]) for change in changes):
                raise Conflict("You cannot change your own role or deactivate yourself; ask "
                               "another admin.", {"username": username})
            for change in changes:
                setattr(user, change["field"], change["after"])
            if any(revokes_sessions(change["field"], change["after"]) for change in changes):
                user.token_generation += 1
            if changes:
                uow.emit("user.updated", {"user": user_event(user), "changes": changes})
                uow.commit()
        return schema_of(UserSchema).dump(user)

    def reset_password(self, username: str, context) -> dict:
        """A temporary password, shown once: the user must change it at its next login, and
        its current sessions end."""
        if username == context.get(ACTOR):
            raise Conflict("Change your own password with POST /auth/password.",
                           {"username": username})
        password = auth.generate_password()
        with self.work(context) as uow:
            user = get_user(uow.session, username)
            user.password_hash = auth.hash_password(password)
            user.must_change_password = True
            user.token_generation += 1
            uow.commit()
        return {"username": username, "temporary_password": password}

    def get(self, username: str, context) -> dict:
        with self.work(context) as uow:
            return schema_of(UserSchema).dump(get_user(uow.session, username))

    def list(self, context) -> list[dict]:
        with self.work(context) as uow:
            users = uow.session.scalars(select(User).order_by(User.id))
            return schema_of(UserSchema, many=True).dump(users)

    def team_members(self, team: str, context) -> tuple[str, ...]:
        """The usernames of ``team``'s members; 422 for a team nobody is in."""
        with self.work(context) as uow:
            members = tuple(uow.session.scalars(
                select(User.username).where(User.team == team).order_by(User.username)))
        if not members:
            raise ValidationFailed(f"No team {team}.", {"fields": {"team": [f"No team {team}."]}})
        return members

    def ensure_admin(self, username: str, password: str, generated: bool, context) -> bool:
        """Create the first admin unless that user exists; True if it was created. A
        generated password must be changed at the first login; one from ``ADMIN_PASSWORD``
        was chosen and is kept."""
        with self.work(context) as uow:
            exists = find_user(uow.session, username) is not None
        if exists:
            return False
        self.create({"username": username, "password": password, "role": "admin",
                     "display_name": "Administrator"}, context, must_change_password=generated)
        return True
