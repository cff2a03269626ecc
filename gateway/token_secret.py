"""Which token-signing secrets the gateway accepts.

A secret that anyone can read is no secret: the gateway refuses to start with one shorter
than :data:`MIN_SECRET_BYTES`, with too few distinct characters to be random, or equal to a
value published in this repository (the placeholders of ``docker-compose.yml``,
``.env.example``, the Kubernetes manifest and the README). The list is kept here rather than
found by scanning the repository at start (the installed image has no repository);
``tests/unit/test_token_secret.py`` scans every tracked file for ``JWT_SECRET`` values and
fails when one is missing from it.
"""
MIN_SECRET_BYTES = 32
MIN_DISTINCT_CHARACTERS = 8
PUBLISHED_SECRETS = frozenset({
    "change-this-secret-before-production",
    "CHANGE-to-the-output-of-openssl-rand-hex-32",
})


class WeakSecret(ValueError):
    """The configured ``JWT_SECRET`` may not sign tokens."""


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` may not sign tokens, or None when it may."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
    if secret.strip() in PUBLISHED_SECRETS:
        return "JWT_SECRET is a value published in deskflow's repository"
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        return "JWT_SECRET is not random enough (too few distinct characters)"
    return None


def check_secret(secret: str) -> str:
    """``secret`` when it may sign tokens; otherwise :class:`WeakSecret` saying why and how
    to make a good one."""
    problem = secret_problem(secret)
    if problem:
        raise WeakSecret(f"{problem}; generate one with `openssl rand -hex 32`, "
                         "or leave it unset to have one generated in $DATA_DIR/jwt-secret.")
    return secret
