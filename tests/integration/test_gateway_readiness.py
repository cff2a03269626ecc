"""The gateway says it is not ready, with a reason per service, while the broker or a
service does not answer; business calls then fail as 503, never as 500."""
from tests.support.gateway_app import gateway_app as app_for
from tests.support.stack import free_port


def test_not_ready_while_no_service_runs(rabbit_config, tmp_path):
    client = app_for(tmp_path, rabbit_config["AMQP_URI"]).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["customers"] == "The customers service is not running."
    assert client.get("/healthz").status_code == 200


def test_not_ready_and_503_while_the_broker_is_unreachable(tmp_path):
    app = app_for(tmp_path, f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert set(ready.get_json()["checks"].values()) == {"The message broker cannot be reached; retry shortly."}
    app.extensions["deskflow"].users.ensure_admin("admin", "Admin#12345", False, {})
    token = client.post("/api/v1/auth/login", json={"username": "admin",
                                                     "password": "Admin#12345"}).get_json()["access_token"]
    listed = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 503
    assert listed.get_json()["error"]["code"] == "unavailable"
