"""``make backup`` of a populated stack, a wipe, ``make restore``, and the same API answers
(the attachment files' bytes included).

The stack runs its customer and ticket databases on PostgreSQL and the others on SQLite,
so one round trip covers ``pg_dump``/``pg_restore`` and SQLite's online backup API."""
import hashlib
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from services.common.config import SERVICE_NAMES, sqlite_url
from tests.support import files
from tests.support.customers import customer_payload
from tests.support.stack import ROOT, running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ON_POSTGRES = ("customer", "ticket")
CLOCK_READINGS = ("remaining_seconds", "elapsed_seconds")


def populate(api):
    first = api.post("/api/v1/customers", json=customer_payload(
        name="Backup Steel Works", industry="MFG", grade="A", phone="13900001111")).json()
    second = api.post("/api/v1/customers", json=customer_payload(
        name="Backup Retail", industry="RETAIL")).json()
    assert api.patch(f"/api/v1/customers/{first['id']}", json={
        "type": "deal", "deal_amount": 600000, "deal_product": "Line upgrade",
        "signed_date": "2026-11-20"}).status_code == 200
    assert api.post(f"/api/v1/customers/{first['id']}/followups", json={
        "at": "2026-11-25T10:30:00+08:00", "channel": "visit", "subject": "Kick-off",
        "outcome": "positive"}).status_code == 201
    assert api.post(f"/api/v1/customers/{first['id']}/attachments", files={
        "file": ("营业执照.pdf", files.pdf("备份的执照"))}).status_code == 201
    ticket = api.post("/api/v1/tickets", json={
        "customer_id": first["id"], "service_type": "aftersales", "category": "complaint",
        "priority": "high", "title": "Conveyor stops"}).json()
    for step in ({"to": "in_progress", "note": "On site"},
                 {"to": "done", "solution": "New belt", "resolution": "resolved"}):
        assert api.post(f"/api/v1/tickets/{ticket['id']}/transitions", json=step).status_code == 200
    assert api.post(f"/api/v1/tickets/{ticket['id']}/comments",
                    json={"body": "Fixed", "public": True}).status_code == 201
    assert api.post(f"/api/v1/tickets/{ticket['id']}/rating",
                    json={"score": 5, "nps_score": 9, "comment": "Quick"}).status_code == 201
    api.post("/api/v1/tickets", json={"customer_id": second["id"], "service_type": "presales",
                                      "category": "inquiry", "title": "Price list"})
    return [first["id"], second["id"]]


def without_clock_readings(value):
    """An answer without what moves with the clock (the SLA clocks' readings)."""
    if isinstance(value, dict):
        return {key: without_clock_readings(item) for key, item in value.items()
                if key not in CLOCK_READINGS}
    if isinstance(value, list):
        return [without_clock_readings(item) for item in value]
    return value


def answers(api, customer_ids) -> dict:
    today = datetime.now(timezone.utc).date()
    window = {"from": (today - timedelta(days=1)).isoformat(),
              "to": (today + timedelta(days=1)).isoformat()}
    paths = ["/api/v1/customers", "/api/v1/tickets"]
    for customer_id in customer_ids:
        paths += [f"/api/v1/customers/{customer_id}", f"/api/v1/customers/{customer_id}/history",
                  f"/api/v1/customers/{customer_id}/followups",
                  f"/api/v1/customers/{customer_id}/attachments"]
    for ticket in api.get("/api/v1/tickets").json()["items"]:
        paths += [f"/api/v1/tickets/{ticket['id']}", f"/api/v1/tickets/{ticket['id']}/history"]
    found = {}
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, (path, response.text)
        found[path] = without_clock_readings(response.json())
    found["summary"] = api.get("/api/v1/reports/summary", params=window).json()
    for customer_id in customer_ids:
        for attachment in found[f"/api/v1/customers/{customer_id}/attachments"]:
            download = api.get(attachment["url"])
            assert download.status_code == 200, download.text
            found[attachment["url"]] = hashlib.sha256(download.content).hexdigest()
    return found


def backup_command(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts/backup.py"), *args], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_backup_wipe_restore_gives_the_same_answers(rabbit_manager, databases, tmp_path):
    data_dir = tmp_path / "data"
    urls = {f"{name.upper()}_DATABASE_URL": databases.fresh(name) if name in ON_POSTGRES
            else sqlite_url(data_dir, name) for name in SERVICE_NAMES}
    with running_stack(rabbit_manager, databases, tmp_path, **urls) as stack:
        api = stack.admin()
        customer_ids = populate(api)
        wait_until(lambda: answers(api, customer_ids)["summary"]["satisfaction"]["count"] == 1,
                   timeout=60, message="the report counts the rating")
        before = answers(api, customer_ids)
        made = backup_command({**stack.env, "BACKUP_DIR": str(tmp_path / "backups")}, "backup")
        assert made.returncode == 0, made.stderr
        env = stack.env
    print(made.stdout)
    backup_dir, = (tmp_path / "backups").iterdir()
    assert "sha256" in (backup_dir / "manifest.json").read_text()

    for name in ON_POSTGRES:  # the wipe
        database = env[f"{name.upper()}_DATABASE_URL"].rsplit("/", 1)[1]
        databases._execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    shutil.rmtree(data_dir)

    restored = backup_command(env, "restore", str(backup_dir))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    again = backup_command(env, "restore", str(backup_dir))
    assert again.returncode == 2 and "holds data" in again.stderr, again.stderr
    forced = backup_command(env, "restore", str(backup_dir), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr

    with running_stack(rabbit_manager, databases, tmp_path, **urls) as stack:
        api = stack.admin()
        assert answers(api, customer_ids) == before
