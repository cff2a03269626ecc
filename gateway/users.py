"""Users, logins and the first admin, kept in the gateway's own database.

User changes are events too (``user.created``, ``user.updated``, carrying role, team, email
and active): other services keep their own view of users from them, never from this
database.
"""
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import func, select

from gateway import auth
from gateway.models import LoginAttempt, User
from gateway.schemas import LoginSchema, UserInputSchema, UserSchema, UserUpdateSchema
from services.common.errors import Conflict, NotFound, TooManyRequests, Unauthorized
from services.common.schemas import load_or_422, schema_of

USER_EVENT_FIELDS = ("username", "display_name", "email", "role", "team", "active")


@dataclass(frozen=True)
class Actor:
    """The user behind a request, as the database knows it now."""

    username: str
    role: str
    team: str | None
    team_members: tuple[str, ...] = ()


def user_event(user: User) -> dict:
    shown = schema_of(UserSchema).dump(user)
    return {name: shown[name] for name in USER_EVENT_FIELDS}


class UserStore:
    def __init__(self, unit_of_work, relay):
        """``unit_of_work(context)`` opens a :class:`UnitOfWork` on the gateway database."""
        self.unit_of_work = unit_of_work
        self.relay = relay

    @contextmanager
    def _work(self, context):
        """A unit of work whose committed events are published once it closes."""
        uow = self.unit_of_work(context)
        try:
            yield uow
        finally:
            uow.close()
        self.relay.publish_committed(uow.committed)

    def create(self, payload: dict, context) -> dict:
        data = load_or_422(schema_of(UserInputSchema), payload)
        auth.check_password_rule(data["password"])
        with self._work(context) as uow:
            if _find(uow.session, data["username"]):
                raise Conflict(f"User {data['username']} already exists.",
                               {"username": data["username"]})
            user = User(password_hash=auth.hash_password(data.pop("password")), active=True,
                        created_at=uow.now(), **data)
            uow.session.add(user)
            uow.session.flush()
            uow.emit("user.created", {"user": user_event(user)})
            uow.commit()
        return schema_of(UserSchema).dump(user)

    def update(self, username: str, payload: dict, context) -> dict:
        """Change role, display name, email, team or active; emits ``user.updated`` with the
        changes when anything changed."""
        data = load_or_422(schema_of(UserUpdateSchema), payload)
        with self._work(context) as uow:
            user = _get(uow.session, username)
            changes = [{"field": name, "before": getattr(user, name), "after": value}
                       for name, value in data.items() if getattr(user, name) != value]
            for change in changes:
                setattr(user, change["field"], change["after"])
            if changes:
                uow.emit("user.updated", {"user": user_event(user), "changes": changes})
                uow.commit()
        return schema_of(UserSchema).dump(user)

    def get(self, username: str, context) -> dict:
        with self._work(context) as uow:
            return schema_of(UserSchema).dump(_get(uow.session, username))

    def list(self, context) -> list[dict]:
        with self._work(context) as uow:
            users = uow.session.scalars(select(User).order_by(User.id))
            return schema_of(UserSchema, many=True).dump(users)

    def actor(self, claims: dict, context) -> Actor:
        """Who a valid token speaks for, read on every request; 401 when that user is gone
        or deactivated. A manager's team members travel with its calls."""
        with self._work(context) as uow:
            user = _find(uow.session, claims["sub"])
            if user is None or not user.active:
                raise Unauthorized("This account is no longer active.")
            members = ()
            if user.role == "manager" and user.team:
                members = tuple(uow.session.scalars(
                    select(User.username).where(User.team == user.team, User.active.is_(True))
                    .order_by(User.username)))
            return Actor(user.username, user.role, user.team, members)

    def authenticate(self, payload: dict, remote_addr: str | None, context) -> User:
        """The user whose credentials these are; 401 otherwise, 429 after repeated failures."""
        credentials = load_or_422(schema_of(LoginSchema), payload)
        with self._work(context) as uow:
            session, now = uow.session, uow.now()
            failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.username == credentials["username"],
                LoginAttempt.success.is_(False),
                LoginAttempt.at >= now - auth.FAILED_LOGIN_WINDOW))
            if auth.too_many_failures(failures):
                raise TooManyRequests("Too many failed logins; wait 15 minutes and try again.",
                                      {"retry_after_seconds": "900"})
            user = session.scalars(select(User).where(
                User.username == credentials["username"], User.active.is_(True))).first()
            ok = user is not None and auth.verify_password(user.password_hash,
                                                           credentials["password"])
            session.add(LoginAttempt(username=credentials["username"], remote_addr=remote_addr,
                                     success=ok, at=now))
            uow.commit()
        if not ok:
            raise Unauthorized("Wrong username or password.")
        return user

    def ensure_admin(self, username: str, password: str, context) -> bool:
        """Create the first admin unless that user exists; True if it was created."""
        with self._work(context) as uow:
            exists = _find(uow.session, username) is not None
        if exists:
            return False
        self.create({"username": username, "password": password, "role": "admin",
                     "display_name": "Administrator"}, context)
        return True


def _find(session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def _get(session, username: str) -> User:
    user = _find(session, username)
    if user is None:
        raise NotFound(f"User {username} does not exist.", {"username": username})
    return user
