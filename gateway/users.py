"""Users, logins and the first admin, kept in the gateway's own database.

User changes are events too (``user.created``): the notification service learns who the
admins are from them, never from this database.
"""
from sqlalchemy import func, select

from gateway import auth
from gateway.models import LoginAttempt, User
from gateway.schemas import LoginSchema, UserInputSchema, UserSchema
from services.common.errors import Conflict, TooManyRequests, Unauthorized
from services.common.schemas import load_or_422, schema_of

USER_EVENT_FIELDS = ("username", "display_name", "email", "role", "active")


class UserStore:
    def __init__(self, unit_of_work, relay):
        """``unit_of_work(context)`` opens a :class:`UnitOfWork` on the gateway database."""
        self.unit_of_work = unit_of_work
        self.relay = relay

    def create(self, payload: dict, context) -> dict:
        data = load_or_422(schema_of(UserInputSchema), payload)
        auth.check_password_rule(data["password"])
        uow = self.unit_of_work(context)
        try:
            if uow.session.scalars(select(User).where(User.username == data["username"])).first():
                raise Conflict(f"User {data['username']} already exists.",
                               {"username": data["username"]})
            user = User(password_hash=auth.hash_password(data.pop("password")), active=True,
                        created_at=uow.now(), **data)
            uow.session.add(user)
            uow.session.flush()
            shown = schema_of(UserSchema).dump(user)
            uow.emit("user.created", {"user": {name: shown[name] for name in USER_EVENT_FIELDS}})
            uow.commit()
        finally:
            uow.close()
        self.relay.publish_committed(uow.committed)
        return shown

    def list(self, context) -> list[dict]:
        uow = self.unit_of_work(context)
        try:
            users = uow.session.scalars(select(User).order_by(User.id))
            return schema_of(UserSchema, many=True).dump(users)
        finally:
            uow.close()

    def authenticate(self, payload: dict, remote_addr: str | None, context) -> User:
        """The user whose credentials these are; 401 otherwise, 429 after repeated failures."""
        credentials = load_or_422(schema_of(LoginSchema), payload)
        uow = self.unit_of_work(context)
        try:
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
        finally:
            uow.close()
        if not ok:
            raise Unauthorized("Wrong username or password.")
        return user

    def ensure_admin(self, username: str, password: str, context) -> bool:
        """Create the first admin unless that user exists; True if it was created."""
        uow = self.unit_of_work(context)
        try:
            exists = uow.session.scalars(select(User).where(User.username == username)).first()
        finally:
            uow.close()
        if exists:
            return False
        self.create({"username": username, "password": password, "role": "admin",
                     "display_name": "Administrator"}, context)
        return True
