"""The migrations build exactly what the models declare, on PostgreSQL."""
import pytest
from alembic import command

from services.common.config import SERVICE_NAMES
from services.common.migrate import alembic_config


@pytest.mark.parametrize("database", SERVICE_NAMES)
def test_autogenerate_finds_no_difference(databases, database):
    url = databases.fresh(database)
    command.check(alembic_config(database, url))  # raises when models and migrations differ


@pytest.mark.parametrize("database", SERVICE_NAMES)
def test_migrations_also_run_on_sqlite(tmp_path, database):
    url = f"sqlite:///{tmp_path / database}.db"
    command.upgrade(alembic_config(database, url), "head")
    command.check(alembic_config(database, url))
