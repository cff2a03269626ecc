"""The one Alembic environment; each database's versions live in its own package."""
from alembic import context

from services.common.migrate import run_env

run_env(context)
