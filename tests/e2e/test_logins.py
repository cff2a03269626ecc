"""Logins through the real gateway: the throttle per (username, address) and per address,
and login alerts mailed through the real notification service to a real SMTP server. The
tests are the gateway's trusted proxy: ``X-Forwarded-For`` plays the client's address."""
import random
import uuid

import pytest

from tests.support.commands import listening
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def some_network() -> str:
    """The first three octets of an address nobody else in the run uses."""
    return f"198.{random.randint(18, 19)}.{random.randint(0, 255)}"


def login(stack, username, password, address=None, agent="pytest-browser/1.0"):
    headers = {"User-Agent": agent}
    if address:
        headers["X-Forwarded-For"] = address
    return stack.anonymous().post("/api/v1/auth/login", headers=headers,
                                  json={"username": username, "password": password})


def test_five_failures_lock_one_address_out_while_the_user_logs_in_from_another(stack):
    user = stack.user("sales")
    attacker, office = f"{some_network()}.10", f"{some_network()}.20"
    statuses = [login(stack, user.username, "Wrong#pass1", attacker).status_code
                for _ in range(5)]
    assert statuses == [401] * 5
    locked = login(stack, user.username, user.password, attacker)  # even the right password
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    assert locked.json()["error"]["details"]["scope"] == "user_and_address"
    assert login(stack, user.username, user.password, office).status_code == 200


def test_fifty_failures_from_one_address_lock_it_for_every_username(stack):
    user = stack.user("support")
    sprayer = f"{some_network()}.30"
    for n in range(50):
        name = f"nobody-{uuid.uuid4().hex[:6]}" if n % 2 else f"guess{n}"
        assert login(stack, name, "Wrong#pass1", sprayer).status_code == 401
    locked = login(stack, user.username, user.password, sprayer)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert locked.json()["error"]["details"]["scope"] == "address"
    assert login(stack, user.username, user.password, f"{some_network()}.31").status_code == 200


def test_an_unknown_username_is_refused_like_a_wrong_password(stack):
    unknown = login(stack, f"ghost-{uuid.uuid4().hex[:6]}", "Wrong#pass1")
    wrong = login(stack, "admin", "Wrong#pass1", f"{some_network()}.40")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["error"] == wrong.json()["error"]


def test_a_login_from_a_new_network_is_mailed_and_one_from_a_known_network_is_not(stack, smtp):
    user = stack.user("sales")  # its first login (from 127.0.0.1) raised no alert
    address = f"{some_network()}.77"
    with listening(stack.amqp_uri, "gateway", "user.login_alert") as alerts:
        assert login(stack, user.username, user.password, address,
                     agent="Mozilla/5.0 Firefox/140.0").status_code == 200
        (mail,) = wait_until(lambda: smtp.messages(f"{user.username}@example.com"),
                             message="the login alert email")
        assert "New sign-in" in mail["Subject"] and "登录异常提醒" in mail["Subject"]
        text = mail.get_content()
        assert address in text and "Firefox/140.0" in text and "90 天" in text

        # the same /24, and the first network: known; then a new one, whose alert comes
        neighbour = address.rsplit(".", 1)[0] + ".78"
        assert login(stack, user.username, user.password, neighbour).status_code == 200
        assert login(stack, user.username, user.password).status_code == 200
        later = f"{some_network()}.79"
        assert login(stack, user.username, user.password, later).status_code == 200
        received = []
        wait_until(lambda: received.extend(alerts()) or len(received) >= 2)
    mine = [event["data"] for event in received
            if event["data"]["user"]["username"] == user.username]
    assert [alert["address"] for alert in mine] == [address, later]
    assert mine[0]["network"] == address.rsplit(".", 1)[0] + ".0/24"

    def both_alerts_in_inbox():  # the notification service takes each alert in its own time
        items = user.get("/api/v1/notifications", params={"lang": "zh"}).json()["items"]
        entries = [entry for entry in items if entry["kind"] == "login_alert"]
        return entries if len(entries) == 2 else None

    entries = wait_until(both_alerts_in_inbox, message="both alerts in the inbox")
    assert address in entries[-1]["body"] or address in entries[0]["body"]


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(sqlite_stack):
    """The embedded stack trusts no proxy: every attempt counts for 127.0.0.1."""
    user = sqlite_stack.user("support")
    for n in range(5):
        assert login(sqlite_stack, user.username, "Wrong#pass1",
                     f"{some_network()}.{n}").status_code == 401
    assert login(sqlite_stack, user.username, user.password,
                 f"{some_network()}.9").status_code == 429
