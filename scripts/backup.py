"""Back up and restore every service's database and the stored files.

    python scripts/backup.py backup            # make backup: BACKUP_DIR/<UTC timestamp>/
    python scripts/backup.py restore DIR       # make restore BACKUP=DIR
    python scripts/backup.py restore DIR --force

A backup holds one file per database — a ``pg_dump`` custom-format archive for PostgreSQL
(one consistent snapshot per database), a copy made with SQLite's online backup API for
SQLite (consistent while the services write) — the stored attachment files, and
``manifest.json`` with each file's size and sha256.

A restore checks every file against the manifest first, then restores each database into
an empty one (created when missing; "empty" means no rows in any table, so a freshly
migrated database counts) and refuses a database that holds data unless ``--force``.
Stop the services before restoring.
"""
import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from gateway.store import directory_of  # noqa: E402
from services.common.config import SERVICE_NAMES, load_settings  # noqa: E402

MANIFEST = "manifest.json"
FILES = "files"
CHUNK = 1 << 20


class Refused(Exception):
    """A restore that would overwrite data, or a backup that does not match its manifest."""


def say(message: str):
    print(f"[backup] {message}", flush=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def attachment_store(environ=None) -> Path | None:
    """Where attachment files live: ``ATTACHMENT_STORE`` (a path or ``file://`` URL),
    default ``$DATA_DIR/attachments``. An object store (``s3://``) is backed up by its
    provider's tools, not here."""
    return directory_of(load_settings(environ).attachment_store)


# --- one database ------------------------------------------------------------------------

class Database:
    """A service's database, by its SQLAlchemy URL."""

    def __init__(self, service: str, url: str):
        self.service = service
        self.url = make_url(url)
        self.backend = "postgresql" if self.url.get_backend_name() == "postgresql" else "sqlite"

    @property
    def file_name(self) -> str:
        return f"{self.service}.{'dump' if self.backend == 'postgresql' else 'sqlite3'}"

    # PostgreSQL: libpq's URL (no "+psycopg"), for pg_dump and pg_restore.
    def _libpq(self, database: str | None = None) -> str:
        url = self.url.set(drivername="postgresql")
        if database:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)

    def _sqlite_path(self) -> Path:
        return Path(self.url.database)

    def dump(self, target: Path):
        if self.backend == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), self._libpq()])
        else:
            _sqlite_copy(self._sqlite_path(), target)

    def exists(self) -> bool:
        return self.backend == "postgresql" or self._sqlite_path().exists()

    def holds_data(self) -> bool:
        """True when any table other than Alembic's holds a row."""
        if self.backend == "postgresql":
            try:
                connection = psycopg.connect(self._libpq(), autocommit=True)
            except psycopg.OperationalError as exc:
                if "does not exist" in str(exc):
                    return False
                raise
            with connection:
                tables = [row[0] for row in connection.execute(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) "
                    "FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
                    "AND tablename <> 'alembic_version'")]
                return any(connection.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]
                           for table in tables)
        path = self._sqlite_path()
        if not path.exists():
            return False
        with closing(sqlite3.connect(path)) as connection:
            tables = [row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version'")]
            return any(connection.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone()[0]
                       for table in tables)

    def restore(self, source: Path):
        if self.backend == "postgresql":
            self._create_if_missing()
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                  "--dbname", self._libpq(), str(source)])
        else:
            path = self._sqlite_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(source, path)

    def _create_if_missing(self):
        name = self.url.database
        with psycopg.connect(self._libpq("postgres"), autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                        (name,)).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{name}"')


def _sqlite_copy(source: Path, target: Path):
    """SQLite's online backup API: a consistent copy even while another process writes."""
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def _run(command: list[str]):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip()}")


def databases(environ=None) -> list[Database]:
    settings = load_settings(environ)
    return [Database(name, settings.database_url(name)) for name in SERVICE_NAMES]


# --- backup and restore ------------------------------------------------------------------

def _entry(path: Path, root: Path) -> dict:
    return {"path": str(path.relative_to(root)), "size": path.stat().st_size,
            "sha256": sha256_of(path)}


def backup(backup_dir: Path, environ=None) -> Path:
    """Write a backup into a new ``<UTC timestamp>`` directory of ``backup_dir``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / stamp
    target.mkdir(parents=True)
    manifest = {"format": 1, "created_at": datetime.now(timezone.utc).isoformat(),
                "databases": [], "files": []}
    for database in databases(environ):
        if not database.exists():
            say(f"{database.service:<13} {database.backend:<10} absent, skipped")
            continue
        started = time.monotonic()
        path = target / database.file_name
        database.dump(path)
        entry = {"service": database.service, "backend": database.backend, **_entry(path, target)}
        manifest["databases"].append(entry)
        say(f"{database.service:<13} {database.backend:<10} {entry['size']:>12,} bytes "
            f"in {time.monotonic() - started:.1f}s")
    store = attachment_store(environ)
    if store is not None and store.is_dir():
        files = [path for path in sorted(store.rglob("*")) if path.is_file()]
        for number, path in enumerate(files, 1):
            copy = target / FILES / path.relative_to(store)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
            manifest["files"].append(_entry(copy, target))
            if number % 100 == 0 or number == len(files):
                say(f"stored files: {number}/{len(files)}")
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    total = sum(entry["size"] for entry in manifest["databases"] + manifest["files"])
    say(f"done: {target} ({total:,} bytes, manifest with sha256 sums)")
    return target


def verify(source: Path) -> dict:
    """The manifest, once every file it lists has its size and sha256."""
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise Refused(f"{source} has no {MANIFEST}; is it a backup directory?")
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["databases"] + manifest["files"]:
        path = source / entry["path"]
        if not path.is_file() or path.stat().st_size != entry["size"] or \
                sha256_of(path) != entry["sha256"]:
            raise Refused(f"{entry['path']} does not match the manifest (damaged or missing)")
    say(f"verified {len(manifest['databases'])} databases and {len(manifest['files'])} files "
        f"against the manifest")
    return manifest


def restore(source: Path, force: bool = False, environ=None):
    manifest = verify(source)
    targets = {database.service: database for database in databases(environ)}
    entries = [entry for entry in manifest["databases"] if entry["service"] in targets]
    for entry in entries:
        database = targets[entry["service"]]
        if database.backend != entry["backend"]:
            raise Refused(f"{entry['service']}: the backup is {entry['backend']}, the target "
                          f"is {database.backend}")
        if database.holds_data() and not force:
            raise Refused(f"{entry['service']}: the target database holds data; restore into "
                          "an empty one, or pass --force to overwrite it")
    store = attachment_store(environ)
    if manifest["files"] and store is not None and not force and \
            any(path.is_file() for path in store.rglob("*")):
        raise Refused(f"the attachment store {store} is not empty; pass --force to overwrite")
    for entry in entries:
        started = time.monotonic()
        targets[entry["service"]].restore(source / entry["path"])
        say(f"restored {entry['service']:<13} in {time.monotonic() - started:.1f}s")
    for number, entry in enumerate(manifest["files"], 1):
        target = store / Path(entry["path"]).relative_to(FILES)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / entry["path"], target)
        if number % 100 == 0 or number == len(manifest["files"]):
            say(f"stored files: {number}/{len(manifest['files'])}")
    say(f"done: restored {source}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backup", help="write BACKUP_DIR/<UTC timestamp>/ (default: backups)")
    restoring = commands.add_parser("restore", help="restore a backup directory")
    restoring.add_argument("source", type=Path)
    restoring.add_argument("--force", action="store_true",
                           help="overwrite databases and files that hold data")
    args = parser.parse_args(argv)
    try:
        if args.command == "backup":
            backup(Path(os.environ.get("BACKUP_DIR") or "backups"))
        else:
            restore(args.source, force=args.force)
    except Refused as exc:
        print(f"[backup] refused: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
