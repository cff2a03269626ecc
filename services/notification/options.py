"""The delivery settings of the notification service, read in this one place.

Each comes from the container's config (tests set them there), else the environment, else
its default. ``SMTP_URL`` itself is a common setting (:mod:`services.common.config`)."""
import os
from dataclasses import dataclass

DEFAULTS = {
    # Exponential backoff: 30, 60, 120, 240, 480 s between 6 tries (about 15 minutes).
    "NOTIFY_RETRY_BASE_SECONDS": 30.0,
    "NOTIFY_MAX_ATTEMPTS": 6,
    # At most one email per recipient and event type in this window; the rest make a digest.
    "NOTIFY_EMAIL_WINDOW_SECONDS": 60.0,
    "NOTIFY_POLL_SECONDS": 0.5,
    "NOTIFY_HTTP_TIMEOUT_SECONDS": 5.0,
    "NOTIFY_CONCURRENCY": 20,
    "NOTIFY_MAIL_FROM": "deskflow@localhost",
    # Webhooks to loopback and private addresses: only for receivers on your own network.
    "WEBHOOK_ALLOW_PRIVATE": False,
}
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class DeliveryOptions:
    retry_base_seconds: float
    max_attempts: int
    email_window_seconds: float
    poll_seconds: float
    http_timeout_seconds: float
    concurrency: int
    mail_from: str
    allow_private_webhooks: bool

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery is left alone before it counts as abandoned."""
        return self.http_timeout_seconds * 4 + 10


def delivery_options(config: dict, environ=None) -> DeliveryOptions:
    environ = os.environ if environ is None else environ

    def value(name):
        default = DEFAULTS[name]
        given = config.get(name, environ.get(name))
        if given in (None, ""):
            return default
        if isinstance(default, bool):
            return given is True or str(given).strip().lower() in TRUE
        return type(default)(given)

    return DeliveryOptions(
        retry_base_seconds=value("NOTIFY_RETRY_BASE_SECONDS"),
        max_attempts=value("NOTIFY_MAX_ATTEMPTS"),
        email_window_seconds=value("NOTIFY_EMAIL_WINDOW_SECONDS"),
        poll_seconds=value("NOTIFY_POLL_SECONDS"),
        http_timeout_seconds=value("NOTIFY_HTTP_TIMEOUT_SECONDS"),
        concurrency=value("NOTIFY_CONCURRENCY"),
        mail_from=value("NOTIFY_MAIL_FROM"),
        allow_private_webhooks=value("WEBHOOK_ALLOW_PRIVATE"),
    )
