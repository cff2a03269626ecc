"""What the workflow benchmarks share: a fresh, migrated workflow database on the local
PostgreSQL (dropped afterwards) and units of work on it acting as the ``bench`` user."""
import os
from contextlib import contextmanager

from sqlalchemy.orm import sessionmaker

from services.common.config import load_settings
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.outbox import UnitOfWork
from services.workflow import models
from services.workflow.options import WorkflowOptions
from tests.support.databases import PostgresDatabases

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CONTEXT = CallContext(request_id=None, actor="bench", actor_role=None)


@contextmanager
def workflow_database():
    """``(session_factory, options)`` on a new workflow database, dropped at the end."""
    databases = PostgresDatabases(POSTGRES)
    try:
        engine = make_engine(databases.fresh("workflow"))
        try:
            yield (sessionmaker(engine, expire_on_commit=False),
                   WorkflowOptions.from_settings(load_settings()))
        finally:
            engine.dispose()
    finally:
        databases.drop_all()


def unit_of_work(session_factory, clock) -> UnitOfWork:
    return UnitOfWork(session_factory, models, "workflow", CONTEXT, clock)
