"""One private RabbitMQ node and one private PostgreSQL cluster for the whole fault suite
(a node takes tens of seconds to start); each test gets its own vhost and databases on
them, and its own stack."""
import shutil
import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from nameko.testing.rabbit import Client as RabbitManager

from services.common.config import SERVICE_NAMES
from tests.support.databases import PostgresDatabases
from tests.support.load import read
from tests.support.private import PrivatePostgres, PrivateRabbit, private_workdir
from tests.support.stack import running_stack
from tests.support.waiting import wait_until

CATCH_UP_SECONDS = 180


SCENARIOS = []  # (test name, figures, seconds), for the table at the end of the run
COLUMNS = ("sent", "201", "503", "other", "lost", "duplicated")


@pytest.fixture
def scenario(request):
    """Times a scenario (set-up of shared fixtures excluded) and keeps its figures, which
    the test sets as ``scenario.figures``, for the table printed after the run."""
    started = time.monotonic()
    phases = {}
    record = SimpleNamespace(figures=None, phase=lambda name: phases.setdefault(
        name, time.monotonic() - started - sum(phases.values())))
    yield record
    seconds = time.monotonic() - started
    SCENARIOS.append((request.node.name, record.figures, seconds))
    spent = ", ".join(f"{name} {part:.1f} s" for name, part in phases.items())
    print(f"\n[{request.node.name}] {seconds:.1f} s ({spent})", flush=True)


def pytest_terminal_summary(terminalreporter):
    if not SCENARIOS:
        return
    write = terminalreporter.write_line
    write("fault scenarios: " + ", ".join(COLUMNS) + ", seconds")
    for name, figures, seconds in SCENARIOS:
        numbers = ", ".join(str(figures[column]) for column in COLUMNS) if figures else "-"
        write(f"  {name}: {numbers}, {seconds:.1f}")


@pytest.fixture(scope="session")
def private_servers():
    workdir = private_workdir()
    rabbit = PrivateRabbit(workdir / "rabbit", f"deskflow_faults_{workdir.name[-8:]}")
    postgres = PrivatePostgres(workdir / "postgres")
    # The node boots while the cluster initialises.
    started = time.monotonic()
    booting = threading.Thread(target=rabbit.start)
    booting.start()
    try:
        postgres.start()
        databases = PostgresDatabases(postgres.admin_url)
        for service in SERVICE_NAMES:  # each service's migrated template, meanwhile too
            databases.template(service)
        booting.join()
        print(f"\n[private servers] up in {time.monotonic() - started:.1f} s", flush=True)
        yield SimpleNamespace(rabbit=rabbit, postgres=postgres, databases=databases,
                              manager=RabbitManager(rabbit.management_uri))
    finally:
        booting.join()
        stopping = time.monotonic()
        rabbit.shutdown()
        postgres.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"\n[private servers] down in {time.monotonic() - stopping:.1f} s", flush=True)


@pytest.fixture(scope="module")
def fault_stack(private_servers, tmp_path_factory):
    """The whole system on a fresh vhost of the private node and fresh databases of the
    private cluster, shared by a module's scenarios (each audits only its own records)."""
    started = time.monotonic()
    with running_stack(private_servers.manager, private_servers.databases,
                       tmp_path_factory.mktemp("faults"),
                       broker=private_servers.rabbit.address) as stack:
        print(f"\n[fault stack] up in {time.monotonic() - started:.1f} s", flush=True)
        yield stack
        stopping = time.monotonic()
    print(f"\n[fault stack] down in {time.monotonic() - stopping:.1f} s", flush=True)


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

    wait_until(lambda: reported() == held, timeout=CATCH_UP_SECONDS, interval=0.25,
               message=f"the report shows the {held[0]} customers and {held[1]} tickets held")
    wait_until(lambda: total(owner, "/api/v1/notifications") == owned,
               timeout=CATCH_UP_SECONDS, interval=0.25,
               message=f"the owner's inbox holds one notice for each of {owned} tickets")
