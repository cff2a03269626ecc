"""Sessions: logging in, the user behind each request, password changes and logouts.

A token is valid while its user is active, its ``gen`` claim equals the user's token
generation (raised by a password change or reset, a role change, a deactivation) and its
``jti`` is not in ``revoked_tokens`` (a logout). All of it is read from the gateway's own
database on every request: no other service is asked.
"""
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, exists, func, select

from gateway import auth
from gateway.models import LoginAttempt, RevokedToken, User
from gateway.schemas import LoginSchema, PasswordChangeSchema
from gateway.users import GatewayStore, get_user
from services.common.errors import TooManyRequests, Unauthorized, ValidationFailed
from services.common.schemas import load_or_422, schema_of


@dataclass(frozen=True)
class Actor:
    """The user behind a request, as the database knows it now."""

    username: str
    role: str
    team: str | None
    team_members: tuple[str, ...] = ()
    must_change_password: bool = False


class Sessions(GatewayStore):
    def actor(self, claims: dict, context) -> Actor:
        """Who a token speaks for; 401 when the token was revoked or its user is gone or
        deactivated. A manager's team members travel with its calls."""
        revoked = exists().where(RevokedToken.jti == claims["jti"])
        with self.work(context) as uow:
            row = uow.session.execute(select(User, revoked).where(
                User.username == claims["sub"])).first()
            if row is None or row[1] or not row[0].active:
                raise Unauthorized("This session has ended; log in again.")
            user = row[0]
            if user.token_generation != claims["gen"]:
                raise Unauthorized("This session has ended; log in again.")
            members = ()
            if user.role == "manager" and user.team:
                members = tuple(uow.session.scalars(
                    select(User.username).where(User.team == user.team, User.active.is_(True))
                    .order_by(User.username)))
            return Actor(user.username, user.role, user.team, members, user.must_change_password)

    def authenticate(self, payload: dict, remote_addr: str | None, context) -> User:
        """The user whose credentials these are; 401 otherwise, 429 after repeated failures."""
        credentials = load_or_422(schema_of(LoginSchema), payload)
        with self.work(context) as uow:
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

    def change_password(self, username: str, payload: dict, context) -> User:
        """Set a new password (the rule applies; the old one is refused); every token issued
        before is revoked, so the caller needs the fresh one."""
        data = load_or_422(schema_of(PasswordChangeSchema), payload)
        with self.work(context) as uow:
            user = get_user(uow.session, username)
            if not auth.verify_password(user.password_hash, data["current_password"]):
                raise ValidationFailed("The current password is wrong.", {
                    "fields": {"current_password": ["Does not match your password."]}})
            if data["new_password"] == data["current_password"]:
                raise ValidationFailed("Choose a password other than the current one.", {
                    "fields": {"new_password": ["Must differ from the current password."]}})
            auth.check_password_rule(data["new_password"], "new_password")
            user.password_hash = auth.hash_password(data["new_password"])
            user.must_change_password = False
            user.token_generation += 1
            uow.commit()
        return user

    def logout(self, claims: dict, context) -> None:
        """Revoke the token of ``claims``; revocations past their token's expiry are dropped."""
        with self.work(context) as uow:
            now = uow.now()
            uow.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
            uow.session.merge(RevokedToken(
                jti=claims["jti"], username=claims["sub"],
                expires_at=datetime.fromtimestamp(claims["exp"], timezone.utc)))
            uow.commit()

