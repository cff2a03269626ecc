import pytest

from tests.support.stack import running_stack


@pytest.fixture(scope="session")
def stack(rabbit_manager, databases, tmp_path_factory):
    """The whole system on PostgreSQL, shared by the end-to-end tests of a run."""
    with running_stack(rabbit_manager, databases, tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="module")
def sqlite_stack(rabbit_manager, databases, tmp_path_factory):
    """The embedded default: the same processes on SQLite files."""
    with running_stack(rabbit_manager, databases, tmp_path_factory.mktemp("sqlite"),
                       backend="sqlite") as running:
        yield running
