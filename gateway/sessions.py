"""Sessions: logging in (throttled, with alerts for new networks), the user behind each
request, password changes and logouts.

A token is valid while its user is active, its ``gen`` claim equals the user's token
generation (raised by a password change or reset, a role change, a deactivation) and its
``jti`` is not in ``revoked_tokens`` (a logout). All of it is read from the gateway's own
database on every request: no other service is asked.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, bindparam, exists, func, select

from gateway import auth, logins
from gateway.models import LoginAttempt, RevokedToken, User
from gateway.schemas import LoginSchema, PasswordChangeSchema
from gateway.users import GatewayStore, get_user, user_event
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


# Built once: the per-request lookup then costs no statement construction. The columns it
# needs, not the User entity: no ORM session or identity map per request.
_ACTOR = select(
    User.username, User.role, User.team, User.active, User.token_generation,
    User.must_change_password,
    exists().where(RevokedToken.jti == bindparam("jti")).label("revoked"),
).where(User.username == bindparam("username"))
_TEAM = (select(User.username).where(User.team == bindparam("team"), User.active.is_(True))
         .order_by(User.username))


class Sessions(GatewayStore):
    def __init__(self, unit_of_work, relay, reads):
        """``reads()`` opens a connection for the per-request lookup of :meth:`actor` (see
        :func:`gateway.statements.connector`)."""
        super().__init__(unit_of_work, relay)
        self.reads = reads

    def actor(self, claims: dict) -> Actor:
        """Who a token speaks for; 401 when the token was revoked or its user is gone or
        deactivated. A manager's team members travel with its calls. Only reads: no
        transaction, no events."""
        with self.reads() as connection:
            user = connection.execute(_ACTOR, {"username": claims["sub"],
                                               "jti": claims["jti"]}).first()
            if user is None or user.revoked or not user.active \
                    or user.token_generation != claims["gen"]:
                raise Unauthorized("This session has ended; log in again.")
            members = ()
            if user.role == "manager" and user.team:
                members = tuple(connection.execute(_TEAM, {"team": user.team}).scalars())
            return Actor(user.username, user.role, user.team, members, user.must_change_password)

    def authenticate(self, payload: dict, address: str, user_agent: str | None,
                     context) -> User:
        """The user whose credentials these are; 401 otherwise. 429 with the seconds to wait
        after 5 failures for this username from this address, or 50 from this address, in 15
        minutes: another address is not locked out. A login from a network the user has not
        used for 90 days emits ``user.login_alert`` (never the very first login)."""
        credentials = load_or_422(schema_of(LoginSchema), payload)
        username, user_agent = credentials["username"], (user_agent or "")[:300] or None
        with self.work(context) as uow:
            session, now = uow.session, uow.now()
            _refuse_when_throttled(session, username, address, now)
            user = session.scalars(select(User).where(
                User.username == username, User.active.is_(True))).first()
            ok = auth.verify_password(user.password_hash if user else None,
                                      credentials["password"])
            network = logins.network_of(address)
            if ok and logins.deserves_alert(user.last_login_at is not None,
                                            _network_seen(session, username, network, now)):
                uow.emit("user.login_alert", {"user": user_event(user), "at": now.isoformat(),
                                              "address": address, "network": network,
                                              "user_agent": user_agent})
            if ok:
                user.last_login_at = now
            session.add(LoginAttempt(username=username, remote_addr=address, network=network,
                                     user_agent=user_agent, success=ok, at=now))
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
        """Revoke the token of ``claims`` until it expires."""
        with self.work(context) as uow:
            uow.session.merge(RevokedToken(
                jti=claims["jti"], username=claims["sub"],
                expires_at=datetime.fromtimestamp(claims["exp"], timezone.utc)))
            uow.commit()


def expiring_columns() -> list:
    """For the gateway's purge round: login records past :data:`logins.LOGIN_MEMORY`, and
    revocations of tokens that have expired anyway."""
    return [(LoginAttempt.at, logins.LOGIN_MEMORY), (RevokedToken.expires_at, timedelta(0))]


def _recent_failures(session, condition, limit: int, now) -> list:
    return list(session.scalars(
        select(LoginAttempt.at).where(condition, LoginAttempt.success.is_(False),
                                      LoginAttempt.at >= now - logins.FAILURE_WINDOW)
        .order_by(LoginAttempt.at.desc()).limit(limit)))


def _refuse_when_throttled(session, username: str, address: str, now) -> None:
    last_success = session.scalar(select(func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username, LoginAttempt.remote_addr == address,
        LoginAttempt.success.is_(True)))
    pair = and_(LoginAttempt.username == username, LoginAttempt.remote_addr == address)
    if last_success is not None:  # a success from there starts the count again
        pair = and_(pair, LoginAttempt.at > last_success)
    checks = (("user_and_address", pair, logins.MAX_FAILURES_PER_USER_AND_ADDRESS),
              ("address", LoginAttempt.remote_addr == address, logins.MAX_FAILURES_PER_ADDRESS))
    for scope, condition, limit in checks:
        wait = logins.retry_after(_recent_failures(session, condition, limit, now), limit, now)
        if wait is not None:
            raise TooManyRequests(
                f"Too many failed logins from this address; try again in {wait} seconds.",
                {"retry_after_seconds": wait, "scope": scope})


def _network_seen(session, username: str, network: str, now) -> bool:
    return session.scalar(select(exists().where(
        LoginAttempt.username == username, LoginAttempt.network == network,
        LoginAttempt.success.is_(True), LoginAttempt.at >= now - logins.LOGIN_MEMORY)))
