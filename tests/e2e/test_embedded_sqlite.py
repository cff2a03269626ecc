"""The embedded default (SQLite files, no database server) runs the same API."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.customers import customer_payload

pytestmark = pytest.mark.e2e


def test_customers_on_sqlite(sqlite_stack):
    api = sqlite_stack.admin()
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda n: api.post("/api/v1/customers", json=customer_payload(
            name=f"Embedded {n}", industry="SVC", phone=f"1391234{n:04d}")), range(10)))
    assert [r.status_code for r in responses] == [201] * 10
    sequences = sorted(int(r.json()["id"].rsplit("-", 1)[1]) for r in responses)
    assert sequences == list(range(sequences[0], sequences[0] + 10))
    duplicate = api.post("/api/v1/customers", json=customer_payload(
        name="Other", industry="SVC", phone="139 1234 0003"))
    assert duplicate.status_code == 409
    customer_id = responses[0].json()["id"]
    patched = api.patch(f"/api/v1/customers/{customer_id}", json={"grade": "A"})
    assert patched.status_code == 200
    assert api.get(f"/api/v1/customers/{customer_id}/history").json()[0]["changes"] == [
        {"field": "grade", "before": "C", "after": "A"}]
    assert (sqlite_stack.env.get("CUSTOMER_DATABASE_URL") is None
            and (sqlite_stack.log_path.parent / "data" / "customer.db").exists())
