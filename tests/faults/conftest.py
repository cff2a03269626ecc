"""One private RabbitMQ node and one private PostgreSQL cluster for the whole fault suite
(a node takes tens of seconds to start); each test gets its own vhost and databases on
them, and its own stack."""
import shutil
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from nameko.testing.rabbit import Client as RabbitManager

from tests.support.databases import PostgresDatabases
from tests.support.load import read
from tests.support.private import PrivatePostgres, PrivateRabbit, private_workdir
from tests.support.stack import running_stack
from tests.support.waiting import wait_until

CATCH_UP_SECONDS = 180


@pytest.fixture(scope="session")
def private_servers():
    workdir = private_workdir()
    rabbit = PrivateRabbit(workdir / "rabbit", f"deskflow_faults_{workdir.name[-8:]}")
    postgres = PrivatePostgres(workdir / "postgres")
    # The node boots while the cluster initialises.
    booting = threading.Thread(target=rabbit.start)
    booting.start()
    try:
        postgres.start()
        booting.join()
        servers = SimpleNamespace(rabbit=rabbit, postgres=postgres,
                                  manager=RabbitManager(rabbit.management_uri),
                                  databases=PostgresDatabases(postgres.admin_url))
        yield servers
    finally:
        booting.join()
        rabbit.shutdown()
        postgres.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def fault_stack(private_servers, tmp_path_factory):
    """The whole system on a fresh vhost of the private node and fresh databases of the
    private cluster, shared by a module's scenarios (each audits only its own records)."""
    with running_stack(private_servers.manager, private_servers.databases,
                       tmp_path_factory.mktemp("faults"),
                       broker=private_servers.rabbit.address) as stack:
        yield stack


def total(api, path: str, **params) -> int:
    return read(api, path, per_page=1, **params)["total"]


def assert_caught_up(stack, owner):
    """After the load: the report counts every customer and ticket the services hold, and
    the tickets' owner has one notice per ticket."""
    admin = stack.admin()
    today = datetime.now(timezone.utc).date()
    window = {"from": (today - timedelta(days=1)).isoformat(),
              "to": (today + timedelta(days=1)).isoformat()}
    held = (total(admin, "/api/v1/customers"), total(admin, "/api/v1/tickets"))
    owned = total(admin, "/api/v1/tickets", owner=owner.username)

    def reported():
        summary = read(admin, "/api/v1/reports/summary", **window)
        return summary["customers"]["total"], summary["tickets"]["created"]

    wait_until(lambda: reported() == held, timeout=CATCH_UP_SECONDS, interval=1,
               message=f"the report shows the {held[0]} customers and {held[1]} tickets held")
    wait_until(lambda: total(owner, "/api/v1/notifications") == owned,
               timeout=CATCH_UP_SECONDS, interval=1,
               message=f"the owner's inbox holds one notice for each of {owned} tickets")
