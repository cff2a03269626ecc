"""``scripts/backup.py`` on SQLite files and a file store: the manifest, a damaged backup,
the refusal to overwrite, and the stored files coming back byte for byte."""
import json
import sqlite3

import pytest

from scripts.backup import MANIFEST, Refused, backup, restore, sha256_of
from services.common import migrate
from services.common.config import SERVICE_NAMES, sqlite_url


@pytest.fixture
def environ(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in SERVICE_NAMES:
        migrate.upgrade(name, sqlite_url(data, name))
    with sqlite3.connect(data / "customer.db") as connection:
        connection.execute("INSERT INTO sequence_counters (scope, value) VALUES ('2026-TECH', 7)")
    stored = data / "attachments" / "ab" / "abcdef"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"%PDF-1.7 the signed contract")
    return {"DATA_DIR": str(data)}


def test_backup_lists_every_file_with_its_size_and_sha256(environ, tmp_path):
    made = backup(tmp_path / "backups", environ)
    manifest = json.loads((made / MANIFEST).read_text())
    assert [entry["service"] for entry in manifest["databases"]] == list(SERVICE_NAMES)
    for entry in manifest["databases"] + manifest["files"]:
        assert (made / entry["path"]).stat().st_size == entry["size"]
        assert sha256_of(made / entry["path"]) == entry["sha256"]
    assert [entry["path"] for entry in manifest["files"]] == ["files/ab/abcdef"]


def test_restore_refuses_data_and_damage_then_brings_everything_back(environ, tmp_path):
    made = backup(tmp_path / "backups", environ)
    with pytest.raises(Refused, match="customer: the target database holds data"):
        restore(made, environ=environ)

    copy = made / "files/ab/abcdef"
    original = copy.read_bytes()
    copy.write_bytes(original.replace(b"signed", b"forged"))
    with pytest.raises(Refused, match="files/ab/abcdef does not match the manifest"):
        restore(made, force=True, environ=environ)
    copy.write_bytes(original)

    data = tmp_path / "data"
    for path in data.glob("*.db*"):
        path.unlink()
    with pytest.raises(Refused, match="attachment store .* is not empty"):
        restore(made, environ=environ)
    (data / "attachments/ab/abcdef").unlink()
    restore(made, environ=environ)
    with sqlite3.connect(data / "customer.db") as connection:
        assert connection.execute("SELECT value FROM sequence_counters").fetchall() == [(7,)]
    assert (data / "attachments/ab/abcdef").read_bytes() == original
    restore(made, force=True, environ=environ)  # over what it just restored
