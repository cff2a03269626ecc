"""Configuration, read from the environment in this one place.

Every setting has a default that works on a developer's machine: SQLite files under
``DATA_DIR`` and a RabbitMQ broker on localhost. Nothing is read at import time; callers
ask for a :class:`Settings` when they start.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_NAMES = ("customer", "ticket", "notification", "reporting", "workflow", "gateway")
# The Nameko services, by the name ``python -m services.common.run NAME`` takes.
SERVICE_CLASSES = {
    "customer": "services.customer.service:CustomerService",
    "ticket": "services.ticket.service:TicketService",
    "notification": "services.notification.service:NotificationService",
    "reporting": "services.reporting.service:ReportingService",
    "workflow": "services.workflow.service:WorkflowService",
}

# Where each process serves its Prometheus ``/metrics`` (``<NAME>_METRICS_PORT``; 0 turns it off).
METRICS_PORTS = {"gateway": 9100, "customer": 9101, "ticket": 9102, "notification": 9103,
                 "reporting": 9104, "workflow": 9105}

DEFAULTS = {
    "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/",
    "DATA_DIR": "var",
    "GATEWAY_PORT": "8000",
    "ADMIN_USERNAME": "admin",
    "RPC_TIMEOUT": "10",
    "RPC_POOL_SIZE": "8",
    "TOKEN_TTL_SECONDS": "43200",
    "OUTBOX_RELAY_SECONDS": "2",
    "SLA_SWEEP_SECONDS": "5",
    "LOG_LEVEL": "INFO",
    "MAX_BODY_BYTES": str(1024 * 1024),
    "RETENTION_YEARS": "3",
    "CHURN_WARNING_DAYS": "60",
    "MAX_MESSAGE_BYTES": str(1024 * 1024),
    "ARCHIVE_AFTER_MONTHS": "12",
    "MAINTENANCE_CHECK_SECONDS": "3600",
    "TASK_REMIND_BEFORE_SECONDS": "3600",
    "WORKFLOW_SWEEP_SECONDS": "5",
    # A sweep that knows of nothing due (and saw no change here) still queries this often,
    # for rows another replica wrote (services/common/wakeups.py).
    "SWEEP_IDLE_CHECK_SECONDS": "60",
    # Rules that name no time zone count days and calendars here; set it to the zone of the
    # SLA policy's business calendar when that names another.
    "WORKFLOW_TIME_ZONE": "Asia/Shanghai",
    # The link a customer's outcome email carries; {token} is the survey's token.
    "SURVEY_URL": "http://localhost:8000/api/v1/surveys/{token}",
    "SURVEY_TTL_DAYS": "14",
    # Requests to the survey endpoints one address may make per window.
    "SURVEY_RATE_LIMIT": "20",
    "SURVEY_RATE_WINDOW_SECONDS": "600",
    # The currency deal amounts are in, as the report files show it.
    "REPORT_CURRENCY": "CNY",
    # How often the reporting service checks that last month's feedback report is built.
    "MONTHLY_REPORT_CHECK_SECONDS": "3600",
    "ATTACHMENT_MAX_BYTES": str(20 * 1024 * 1024),
    # A stored file no attachment points at is deleted once it is this old (an upload's
    # file is stored a moment before its attachment is recorded).
    "ATTACHMENT_GC_GRACE_SECONDS": "3600",
    "METRICS_HOST": "127.0.0.1",
    # How often a service refreshes the figures it reads from its database and the broker.
    "METRICS_REFRESH_SECONDS": "15",
    # The type of the services' durable queues: "classic", or "quorum" (services/common/queues.py).
    "AMQP_QUEUE_TYPE": "classic",
}


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    data_dir: Path
    gateway_port: int
    admin_username: str
    admin_password: str | None
    jwt_secret: str | None
    rpc_timeout: float
    rpc_pool_size: int
    token_ttl_seconds: int
    outbox_relay_seconds: float
    sla_sweep_seconds: float
    smtp_url: str | None
    log_level: str
    max_body_bytes: int = 1024 * 1024
    retention_years: int = 3
    churn_warning_days: int = 60
    max_message_bytes: int = 1024 * 1024
    archive_after_months: int = 12
    maintenance_check_seconds: float = 3600
    trusted_proxies: str | None = None
    task_remind_before_seconds: float = 3600
    workflow_sweep_seconds: float = 5
    sweep_idle_check_seconds: float = 60
    workflow_time_zone: str = "Asia/Shanghai"
    survey_url: str = DEFAULTS["SURVEY_URL"]
    survey_ttl_days: float = 14
    survey_rate_limit: int = 20
    survey_rate_window_seconds: float = 600
    # A TrueType CJK font file the PDF reports embed (default: the first of
    # services.reporting.exports.fonts.CANDIDATES that is installed).
    report_font: str | None = None
    report_currency: str = "CNY"
    monthly_report_check_seconds: float = 3600
    database_urls: dict = field(default_factory=dict)
    # Where attachment files live: a directory (a path or file:// URL) or s3://bucket[/prefix].
    attachment_store: str = "var/attachments"
    attachment_s3_endpoint: str | None = None
    attachment_max_bytes: int = 20 * 1024 * 1024
    attachment_gc_grace_seconds: float = 3600
    metrics_ports: dict = field(default_factory=dict)
    metrics_host: str = "127.0.0.1"
    metrics_refresh_seconds: float = 15
    amqp_queue_type: str = "classic"

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def nameko_config(self) -> dict:
        """The config dict a Nameko container of ours runs with."""
        return {
            "AMQP_URI": self.amqp_uri,
            "DESKFLOW_SETTINGS": self,
            "max_workers": 10,
            "parent_calls_tracked": 10,
            "serializer": "json",
        }


def _env(environ, name):
    value = environ.get(name)
    return value if value not in (None, "") else DEFAULTS.get(name)


def sqlite_url(data_dir: Path, service: str) -> str:
    return f"sqlite:///{(data_dir / f'{service}.db').resolve()}"


def metrics_port(environ, name: str) -> int:
    """``<NAME>_METRICS_PORT``: unset means the default port, 0 or empty means none."""
    value = environ.get(f"{name.upper()}_METRICS_PORT")
    if value is None:
        return METRICS_PORTS[name]
    return int(value) if value.strip() else 0


def load_settings(environ=None) -> Settings:
    environ = os.environ if environ is None else environ
    data_dir = Path(_env(environ, "DATA_DIR"))
    urls = {
        name: environ.get(f"{name.upper()}_DATABASE_URL") or sqlite_url(data_dir, name)
        for name in SERVICE_NAMES
    }
    ports = {name: metrics_port(environ, name) for name in METRICS_PORTS}
    return Settings(
        amqp_uri=_env(environ, "AMQP_URI"),
        data_dir=data_dir,
        gateway_port=int(_env(environ, "GATEWAY_PORT")),
        admin_username=_env(environ, "ADMIN_USERNAME"),
        admin_password=environ.get("ADMIN_PASSWORD") or None,
        jwt_secret=environ.get("JWT_SECRET") or None,
        rpc_timeout=float(_env(environ, "RPC_TIMEOUT")),
        rpc_pool_size=int(_env(environ, "RPC_POOL_SIZE")),
        token_ttl_seconds=int(_env(environ, "TOKEN_TTL_SECONDS")),
        outbox_relay_seconds=float(_env(environ, "OUTBOX_RELAY_SECONDS")),
        sla_sweep_seconds=float(_env(environ, "SLA_SWEEP_SECONDS")),
        smtp_url=environ.get("SMTP_URL") or None,
        log_level=_env(environ, "LOG_LEVEL"),
        max_body_bytes=int(_env(environ, "MAX_BODY_BYTES")),
        retention_years=int(_env(environ, "RETENTION_YEARS")),
        churn_warning_days=int(_env(environ, "CHURN_WARNING_DAYS")),
        max_message_bytes=int(_env(environ, "MAX_MESSAGE_BYTES")),
        archive_after_months=int(_env(environ, "ARCHIVE_AFTER_MONTHS")),
        maintenance_check_seconds=float(_env(environ, "MAINTENANCE_CHECK_SECONDS")),
        trusted_proxies=environ.get("TRUSTED_PROXIES") or None,
        task_remind_before_seconds=float(_env(environ, "TASK_REMIND_BEFORE_SECONDS")),
        workflow_sweep_seconds=float(_env(environ, "WORKFLOW_SWEEP_SECONDS")),
        sweep_idle_check_seconds=float(_env(environ, "SWEEP_IDLE_CHECK_SECONDS")),
        workflow_time_zone=_env(environ, "WORKFLOW_TIME_ZONE"),
        survey_url=_env(environ, "SURVEY_URL"),
        survey_ttl_days=float(_env(environ, "SURVEY_TTL_DAYS")),
        survey_rate_limit=int(_env(environ, "SURVEY_RATE_LIMIT")),
        survey_rate_window_seconds=float(_env(environ, "SURVEY_RATE_WINDOW_SECONDS")),
        report_font=environ.get("REPORT_FONT") or None,
        report_currency=_env(environ, "REPORT_CURRENCY"),
        monthly_report_check_seconds=float(_env(environ, "MONTHLY_REPORT_CHECK_SECONDS")),
        database_urls=urls,
        attachment_store=environ.get("ATTACHMENT_STORE") or str(data_dir / "attachments"),
        attachment_s3_endpoint=environ.get("ATTACHMENT_S3_ENDPOINT") or None,
        attachment_max_bytes=int(_env(environ, "ATTACHMENT_MAX_BYTES")),
        attachment_gc_grace_seconds=float(_env(environ, "ATTACHMENT_GC_GRACE_SECONDS")),
        metrics_ports=ports,
        metrics_host=_env(environ, "METRICS_HOST"),
        metrics_refresh_seconds=float(_env(environ, "METRICS_REFRESH_SECONDS")),
        amqp_queue_type=_env(environ, "AMQP_QUEUE_TYPE"),
    )


def settings_from(nameko_config: dict) -> Settings:
    """The settings a container was started with (tests may pass a partial config)."""
    settings = nameko_config.get("DESKFLOW_SETTINGS")
    if settings is None:
        settings = load_settings()
        amqp = nameko_config.get("AMQP_URI")
        if amqp:
            settings = Settings(**{**settings.__dict__, "amqp_uri": amqp})
    return settings
