import pytest

from tests.support.stack import start_stack, stop_stack


@pytest.fixture(scope="session")
def stack(rabbit_manager, databases, tmp_path_factory):
    """The whole system on PostgreSQL, shared by the end-to-end tests of a run."""
    running = start_stack(rabbit_manager, databases, tmp_path_factory.mktemp("stack"))
    yield running
    stop_stack(running, rabbit_manager)


@pytest.fixture(scope="module")
def sqlite_stack(rabbit_manager, databases, tmp_path_factory):
    """The embedded default: the same processes on SQLite files."""
    running = start_stack(rabbit_manager, databases, tmp_path_factory.mktemp("sqlite"),
                          backend="sqlite")
    yield running
    stop_stack(running, rabbit_manager)
