"""Alembic for every database: ``python -m services.common.migrate [upgrade|check|revision -m MSG] [NAME ...]``.

One Alembic environment (``services/common/alembic``) serves every database; each keeps its
versions in ``<package>/migrations``. The database URL comes from
:mod:`services.common.config`, so migrations run against whatever the services will use.
"""
import argparse
import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config

from services.common.config import SERVICE_NAMES, load_settings
from services.common.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "customer": "services.customer",
    "ticket": "services.ticket",
    "notification": "services.notification",
    "reporting": "services.reporting",
    "workflow": "services.workflow",
    "gateway": "gateway",
}


def versions_dir(name: str) -> Path:
    return ROOT / PACKAGES[name].replace(".", "/") / "migrations"


def alembic_config(name: str, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "alembic"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(versions_dir(name)))
    config.attributes["database_url"] = url or load_settings().database_url(name)
    config.attributes["models_module"] = f"{PACKAGES[name]}.models"
    return config


def upgrade(name: str, url: str | None = None) -> None:
    if (url or load_settings().database_url(name)).startswith("sqlite"):
        load_settings().data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(name, url), "head")


def _render_item(type_, obj, autogen_context):
    """Render our UTC timestamp type as the plain column type it is underneath."""
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_env(context) -> None:
    """Body of every ``migrations/env.py``: migrate online with the service's metadata."""
    attributes = context.config.attributes
    metadata = importlib.import_module(attributes["models_module"]).Base.metadata
    engine = make_engine(attributes["database_url"])
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata,
                              render_item=_render_item, render_as_batch=True,
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["upgrade", "check", "revision"])
    parser.add_argument("names", nargs="*", choices=[[], *SERVICE_NAMES], default=[])
    parser.add_argument("-m", "--message", default="change")
    args = parser.parse_args(argv)
    for name in args.names or SERVICE_NAMES:
        if args.action == "upgrade":
            upgrade(name)
            print(f"migrated {name}")
        elif args.action == "check":
            command.check(alembic_config(name))
        else:
            command.revision(alembic_config(name), message=args.message, autogenerate=True)


if __name__ == "__main__":
    main()
