"""Test set-up shared by every tier. Eventlet must patch the standard library before
anything else imports it: Nameko's containers and test helpers need green sockets."""
import eventlet

eventlet.monkey_patch()

import os  # noqa: E402

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import pytest  # noqa: E402

from services.common.clock import CLOCK_CONFIG_KEY  # noqa: E402
from services.common.config import METRICS_PORTS, load_settings  # noqa: E402
from services.common.db import use_green_wait  # noqa: E402
from services.common.errors import register_remote_errors  # noqa: E402
from tests.support.databases import PostgresDatabases  # noqa: E402
from tests.support.s3 import running_s3  # noqa: E402

register_remote_errors()
use_green_wait()  # as the services wait (services/common/run.py)
# Containers a test starts serve no /metrics unless the test gives a port: several tests and
# stacks share this machine's ports (start_stack picks free ones for its processes).
for _name in METRICS_PORTS:
    os.environ.setdefault(f"{_name.upper()}_METRICS_PORT", "0")


@pytest.fixture(scope="session")
def databases():
    """Fresh PostgreSQL databases, cloned from a migrated template per service."""
    dbs = PostgresDatabases(os.environ.get(
        "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    yield dbs
    dbs.drop_all()


@pytest.fixture
def make_config(rabbit_config, databases, tmp_path):
    """``make_config("customer", clock=...)``: a Nameko config on a throwaway vhost, with a
    fresh PostgreSQL database for each named service. Containers serve no ``/metrics``
    unless a test gives a port (``CUSTOMER_METRICS_PORT=...``)."""

    def build(*services, clock=None, **environ):
        env = {"AMQP_URI": rabbit_config["AMQP_URI"], "DATA_DIR": str(tmp_path),
               "OUTBOX_RELAY_SECONDS": "0.2",
               **{f"{name.upper()}_METRICS_PORT": "0" for name in METRICS_PORTS}, **environ}
        for name in services:
            env[f"{name.upper()}_DATABASE_URL"] = databases.fresh(name)
        settings = load_settings(env)
        config = {**rabbit_config, **settings.nameko_config()}
        if clock is not None:
            config[CLOCK_CONFIG_KEY] = clock
        return config

    return build


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """An S3-compatible server (moto's, in its own process) with a fresh bucket."""
    with running_s3(tmp_path_factory.mktemp("s3")) as server:
        yield server
