"""Passwords, tokens and the login throttle: plain functions, no Flask."""
import re
import secrets
import time
import uuid
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.common.errors import Unauthorized, ValidationFailed

MIN_PASSWORD_LENGTH = 8
TOKEN_ALGORITHM = "HS256"
# Who made a token and for whom: a token signed with the same key for another purpose or by
# another deployment sharing it is refused.
TOKEN_ISSUER = "deskflow-gateway"
TOKEN_AUDIENCE = "deskflow-api"
KNOWN_TOKENS = 4096  # tokens whose checked claims are remembered (about 1 kB each)
_hasher = PasswordHasher()


def password_problems(password: str) -> list[str]:
    """What keeps ``password`` from meeting the rule of SPEC §6 (empty when it does)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"At least {MIN_PASSWORD_LENGTH} characters.")
    if not re.search(r"[A-Za-z]", password):
        problems.append("At least one letter.")
    if not re.search(r"\d", password):
        problems.append("At least one digit.")
    if not re.search(r"[^A-Za-z0-9]", password):
        problems.append("At least one special character.")
    return problems


def check_password_rule(password: str, field: str = "password") -> None:
    problems = password_problems(password)
    if problems:
        raise ValidationFailed("The password is too weak.", {"fields": {field: problems}})


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; without a hash (an unknown user) a dummy hash is
    verified instead, so the answer takes as long as for a real user."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def generate_password() -> str:
    """A random password that meets the rule."""
    return f"{secrets.token_urlsafe(12)}-7a"


def issue_token(secret: str, username: str, role: str, now: datetime, ttl_seconds: int,
                generation: int = 0) -> str:
    """A signed token; ``jti`` names it for a logout, ``gen`` is the user's token generation
    it was issued under (raising the generation revokes every earlier token)."""
    claims = {"sub": username, "role": role, "iss": TOKEN_ISSUER, "aud": TOKEN_AUDIENCE,
              "iat": int(now.timestamp()), "exp": int(now.timestamp()) + ttl_seconds,
              "jti": uuid.uuid4().hex, "gen": generation}
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def read_token(secret: str, token: str, now: float | None = None) -> dict:
    """The claims of a valid token (at ``now``, a Unix time; the clock's by default); 401
    otherwise. Whether the session behind it still stands (logout, password change,
    deactivation) is for :mod:`gateway.sessions`."""
    claims = _checked(secret, token)
    if int(claims["exp"]) <= (time.time() if now is None else now):
        raise _expired()
    return dict(claims)


def _expired() -> Unauthorized:
    return Unauthorized("The token has expired; log in again.")


@lru_cache(maxsize=KNOWN_TOKENS)
def _checked(secret: str, token: str) -> dict:
    """A token's claims, checked in full once per token and then remembered: PyJWT's checks
    cost more CPU than the rest of a request's authentication, and none of them can turn out
    differently for the same token later except its expiry, which :func:`read_token` checks
    every time. A refused token is not remembered (an exception is never cached)."""
    try:
        return jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM], issuer=TOKEN_ISSUER,
                          audience=TOKEN_AUDIENCE,
                          options={"require": ["sub", "role", "exp", "iss", "aud", "jti",
                                               "gen"]})
    except jwt.ExpiredSignatureError:
        raise _expired() from None
    except jwt.InvalidTokenError:
        raise Unauthorized("The token is not valid; log in again.") from None


def load_or_create_secret(path: Path) -> str:
    """The token-signing secret kept in ``path`` (made on first use, readable by us only)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
