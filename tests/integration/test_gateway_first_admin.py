"""The first admin (``python -m gateway.admin``, run by ``make run``): a password it
generated must be changed at the first login; one from ``ADMIN_PASSWORD`` was chosen."""
import secrets

import pytest

from gateway import admin
from tests.support.gateway_app import gateway_app


@pytest.mark.parametrize("given, must_change", [(None, True), ("Chosen#2026", False)])
def test_a_generated_admin_password_must_be_changed(monkeypatch, tmp_path, rabbit_config,
                                                    given, must_change, capsys):
    secret = secrets.token_hex(32)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    monkeypatch.setenv("JWT_SECRET", secret)
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    if given:
        monkeypatch.setenv("ADMIN_PASSWORD", given)
    else:
        monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    client = gateway_app(tmp_path, rabbit_config["AMQP_URI"], JWT_SECRET=secret).test_client()
    admin.main()
    printed = capsys.readouterr().out
    password = given or (tmp_path / "admin-password").read_text().strip()
    assert ("must be changed at the first login" in printed) is must_change

    login = client.post("/api/v1/auth/login", json={"username": "admin", "password": password})
    assert login.status_code == 200
    assert login.get_json()["must_change_password"] is must_change
    me = client.get("/api/v1/users/me",
                    headers={"Authorization": f"Bearer {login.get_json()['access_token']}"})
    if must_change:
        assert me.status_code == 403
        assert me.get_json()["error"]["code"] == "password_change_required"
    else:
        assert me.status_code == 200 and me.get_json()["username"] == "admin"
