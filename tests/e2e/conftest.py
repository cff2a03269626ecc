"""The stacks the end-to-end tests share. Starting one costs seconds of both cores, so a run
starts three: ``stack`` (PostgreSQL) and ``sqlite_stack`` (the embedded default) for the
whole session, and ``reports_stack`` inside the reports module, whose exact figures must not
mix with other tests' data. A test that needs something the shared stacks lack should make
its data distinct (a new user, customer or webhook) rather than start a stack of its own;
a test that changes shared settings (the SLA policy) puts them back before it returns."""
import pytest

from tests.support.smtp import SmtpServer
from tests.support.stack import running_stack

EMAIL_WINDOW_SECONDS = 5
# Short delivery retries and fast SLA and workflow sweeps: notification, breach and task
# tests then wait for fractions of a second, and nothing else minds. Without a due-soon
# reminder, a task that falls due sends exactly one reminder (task.overdue). The webhook
# receivers listen on 127.0.0.1, so private webhook addresses are allowed. The tests act as
# the gateway's proxy (TRUSTED_PROXIES): their X-Forwarded-For headers play clients at other
# addresses.
FAST_ENV = {"NOTIFY_RETRY_BASE_SECONDS": "0.1", "NOTIFY_MAX_ATTEMPTS": "5",
            "NOTIFY_POLL_SECONDS": "0.1", "NOTIFY_HTTP_TIMEOUT_SECONDS": "2",
            "NOTIFY_EMAIL_WINDOW_SECONDS": str(EMAIL_WINDOW_SECONDS),
            "SLA_SWEEP_SECONDS": "0.5", "WEBHOOK_ALLOW_PRIVATE": "true",
            "TRUSTED_PROXIES": "127.0.0.1", "WORKFLOW_SWEEP_SECONDS": "0.5",
            "TASK_REMIND_BEFORE_SECONDS": "0"}


@pytest.fixture(scope="session")
def smtp(tmp_path_factory):
    """The SMTP server every e2e stack mails; read it by recipient (``messages(to)``)."""
    server = SmtpServer(tmp_path_factory.mktemp("mail")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(rabbit_manager, databases, tmp_path_factory, smtp):
    """The whole system on PostgreSQL, shared by the end-to-end tests of a run."""
    with running_stack(rabbit_manager, databases, tmp_path_factory.mktemp("stack"),
                       SMTP_URL=smtp.url, **FAST_ENV) as running:
        yield running


@pytest.fixture(scope="session")
def sqlite_stack(rabbit_manager, databases, tmp_path_factory, s3):
    """The embedded default: the same processes on SQLite files, shared like ``stack``;
    its attachments go to an S3 bucket (moto's server), ``stack``'s to a directory, so the
    attachment tests cover both stores."""
    with running_stack(rabbit_manager, databases, tmp_path_factory.mktemp("sqlite"),
                       backend="sqlite", **s3.env("attachments")) as running:
        yield running
