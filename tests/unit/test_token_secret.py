"""The gateway signs tokens only with a secret nobody else can read, and its tokens name
their issuer and audience."""
import re
import secrets
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import jwt
import pytest

from gateway import auth
from gateway.app import create_app
from gateway.token_secret import PUBLISHED_SECRETS, WeakSecret, check_secret
from services.common.config import load_settings
from services.common.errors import Unauthorized

ROOT = Path(__file__).resolve().parents[2]
# JWT_SECRET: value / JWT_SECRET=value / "JWT_SECRET": "value" / ${JWT_SECRET:-value}
SECRET_VALUE = re.compile(r"""JWT_SECRET["']?\s*(?::-|[:=])\s*(?:\$\{JWT_SECRET:-)?["']?([^"'\s}]+)""")


def tracked_text_files():
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    names = listed.stdout.split() if listed.returncode == 0 else [
        str(path.relative_to(ROOT)) for path in ROOT.rglob("*")
        if path.is_file() and not {".git", ".venv", "var"} & set(path.relative_to(ROOT).parts)]
    for name in names:
        try:
            yield name, (ROOT / name).read_text()
        except (UnicodeDecodeError, OSError):
            continue


def test_every_jwt_secret_written_in_the_repository_is_refused():
    found = {(name, value) for name, text in tracked_text_files()
             for value in SECRET_VALUE.findall(text)}
    assert {value for _, value in found} >= {"CHANGE-to-the-output-of-openssl-rand-hex-32"}
    for name, value in found:
        with pytest.raises(WeakSecret):
            check_secret(value)


@pytest.mark.parametrize("secret, reason", [
    ("x" * 31, "at least 32 bytes"),
    ("s" * 32, "not random enough"),
    ("ab" * 40, "not random enough"),
    *[(value, "published") for value in sorted(PUBLISHED_SECRETS)],
])
def test_weak_secrets_are_refused(secret, reason):
    with pytest.raises(WeakSecret, match=reason):
        check_secret(secret)


def test_random_and_generated_secrets_are_accepted(tmp_path):
    assert check_secret(secrets.token_hex(32))
    assert check_secret(secrets.token_urlsafe(32))
    assert check_secret(auth.load_or_create_secret(tmp_path / "jwt-secret"))


def test_the_gateway_refuses_to_start_with_a_published_secret(tmp_path):
    settings = load_settings({"DATA_DIR": str(tmp_path),
                              "JWT_SECRET": "change-this-secret-before-production"})
    with pytest.raises(WeakSecret, match="published"):
        create_app(settings)
    assert not (tmp_path / "gateway.db").exists()


def test_tokens_carry_and_check_issuer_and_audience():
    key = secrets.token_hex(32)
    now = datetime.now(timezone.utc)
    token = auth.issue_token(key, "alice", "sales", now, 60)
    claims = auth.read_token(key, token)
    assert (claims["iss"], claims["aud"]) == (auth.TOKEN_ISSUER, auth.TOKEN_AUDIENCE)
    # every claim of a real token, so only the issuer or the audience differs
    base = {name: value for name, value in claims.items() if name not in ("iss", "aud")}
    genuine = jwt.encode({**base, "iss": auth.TOKEN_ISSUER, "aud": auth.TOKEN_AUDIENCE}, key,
                         algorithm=auth.TOKEN_ALGORITHM)
    assert auth.read_token(key, genuine)["sub"] == "alice"
    for other in ({"iss": "elsewhere", "aud": auth.TOKEN_AUDIENCE},
                  {"iss": auth.TOKEN_ISSUER, "aud": "another-api"},
                  {"aud": auth.TOKEN_AUDIENCE}, {"iss": auth.TOKEN_ISSUER}):
        forged = jwt.encode({**base, **other}, key, algorithm=auth.TOKEN_ALGORITHM)
        with pytest.raises(Unauthorized):
            auth.read_token(key, forged)
