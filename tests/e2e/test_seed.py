"""``make seed`` loads its data through the API and can run twice."""
import subprocess
import sys

import pytest

from tests.support.stack import ADMIN_PASSWORD, ROOT

pytestmark = pytest.mark.e2e


def run_seed(stack, count):
    return subprocess.run([sys.executable, str(ROOT / "scripts/seed.py"), "--customers", str(count),
                           "--base-url", stack.base_url, "--password", ADMIN_PASSWORD],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=stack.env)


def test_seed_loads_customers_with_followups_and_skips_them_the_second_time(sqlite_stack):
    first = run_seed(sqlite_stack, 12)
    assert first.returncode == 0, first.stderr
    assert "customers: 12 created, 0 already there" in first.stdout
    assert "12/12" in first.stderr  # the progress bar
    customers = sqlite_stack.admin().get("/api/v1/customers", params={"q": "Co. No."}).json()
    assert customers["total"] == 12
    some = customers["items"][0]["id"]
    assert sqlite_stack.admin().get(f"/api/v1/customers/{some}/followups").json()["total"] >= 1
    second = run_seed(sqlite_stack, 12)
    assert "customers: 0 created, 12 already there" in second.stdout
