"""Webhooks go to public addresses only, checked when subscribed and again when sent (to the
very address that was checked); receivers can tell a fresh delivery from a replayed one; the
delivery log shows a status code or a generic reason. The notification service runs in a real
container on a real broker and PostgreSQL; receivers are real HTTP servers."""
import socket

import pytest
import requests

from services.notification.service import NotificationService
from services.notification.targets import Target, UnsafeTarget, post_pinned, resolve_target
from tests.integration.test_notification_service import (  # noqa: F401 (fixtures)
    FAST_DELIVERY, handle, service, subscribe, ticket,
)
from tests.support.receiver import SECRET, TOLERANCE_SECONDS, receivers  # noqa: F401
from tests.support.services import call, event
from tests.support.smtp import smtp  # noqa: F401 (a fixture)
from tests.support.stack import free_port
from tests.support.waiting import wait_until

NOT_PUBLIC = ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook",
              "http://172.16.0.9/hook", "http://192.168.1.20/hook", "http://169.254.169.254/latest",
              "http://[::1]:9000/hook", "http://[fe80::1]/hook", "http://[fd00::5]/hook",
              "http://224.0.0.1/hook", "http://0.0.0.0/hook", "http://100.64.0.1/hook",
              "http://[::ffff:127.0.0.1]/hook"]


def resolver(*addresses):
    """A DNS answer of ``addresses`` for any name."""
    def resolve(host, port, type=None):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in addresses]
    return resolve


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_non_public_addresses_are_refused_unless_allowed(url):
    with pytest.raises(UnsafeTarget, match="public addresses only"):
        resolve_target(url, allow_private=False)
    assert resolve_target(url, allow_private=True).address


def test_a_name_with_one_private_answer_among_public_ones_is_refused():
    with pytest.raises(UnsafeTarget):
        resolve_target("https://hooks.example.com/x", False, resolver("93.184.215.14", "10.0.0.7"))
    target = resolve_target("https://hooks.example.com:8443/x?a=1", False,
                            resolver("93.184.215.14"))
    assert (target.address, target.port, target.path) == ("93.184.215.14", 8443, "/x?a=1")
    assert target.host_header == "hooks.example.com:8443"


def test_an_unresolvable_name_is_refused():
    with pytest.raises(UnsafeTarget, match="cannot be resolved"):
        resolve_target("http://no-such-host.invalid/hook", True)


def test_the_request_goes_to_the_pinned_address_under_the_urls_host_name(receivers):
    hook = receivers()
    port = int(hook.url.rsplit(":", 1)[1].split("/")[0])
    # The name would resolve elsewhere (or nowhere): the request still goes to the address
    # that was checked, and the receiver sees the URL's host name.
    target = Target("http", "hooks.example.test", port, "127.0.0.1", "/hook")
    status = post_pinned(target, b'{"type": "x"}', {"Content-Type": "application/json"}, 5)
    assert status == 401  # unsigned: the receiver refuses it, but it did receive it
    (received,) = hook.requests
    assert received.host == f"hooks.example.test:{port}"


def test_subscribing_a_loopback_url_is_a_422_naming_the_url(service, receivers):
    container = service(WEBHOOK_ALLOW_PRIVATE=False)
    with pytest.raises(Exception) as refused:
        subscribe(container, receivers(), "ticket.created")
    assert refused.value.status == 422
    assert "public addresses only" in refused.value.details["fields"]["url"][0]
    assert call(container, "list_webhooks") == []


def test_the_address_is_checked_again_when_sending(container_factory, make_config, receivers):
    config = {**make_config("notification"), **FAST_DELIVERY, "NOTIFY_MAX_ATTEMPTS": 1}
    allowed = container_factory(NotificationService, config)
    allowed.start()
    hook = receivers()
    subscribe(allowed, hook, "ticket.created")
    allowed.stop()
    # The same database, now run without WEBHOOK_ALLOW_PRIVATE.
    strict = container_factory(NotificationService, {**config, "WEBHOOK_ALLOW_PRIVATE": False})
    strict.start()
    handle(strict, event("ticket.created", {"ticket": ticket("olga")}))
    (failed,) = wait_until(lambda: call(strict, "deliveries", {"status": "failed"})["items"])
    assert "public addresses only" in failed["last_error"]
    assert hook.requests == []


def test_a_delivery_is_timestamped_and_a_replay_is_refused(service, receivers):
    container, hook = service(), receivers()
    subscribe(container, hook, "ticket.created")
    handle(container, event("ticket.created", {"ticket": ticket("pia")}))
    (received,) = wait_until(hook.accepted)
    assert received.signature_valid and received.timestamp.isdigit()

    def resend(target, timestamp=received.timestamp):
        return requests.post(target.url, data=received.body, timeout=10, headers={
            "Content-Type": "application/json", "X-Deskflow-Timestamp": timestamp,
            "X-Deskflow-Signature": received.signature}).status_code

    later = receivers(clock=lambda: int(received.timestamp) + TOLERANCE_SECONDS + 60)
    assert resend(later) == 401  # the same request, replayed ten minutes later
    assert resend(hook, str(int(received.timestamp) + 1)) == 401  # a forged fresh time
    assert resend(hook) == 200  # within the tolerance the receiver dedups on the delivery id


def test_the_delivery_log_shows_a_generic_reason(service):
    container = service(NOTIFY_MAX_ATTEMPTS=1)
    dead = call(container, "create_webhook", {"url": f"http://127.0.0.1:{free_port()}/hook",
                                              "secret": SECRET, "event_types": ["ticket.created"]})
    handle(container, event("ticket.created", {"ticket": ticket("quinn")}))
    (failed,) = wait_until(lambda: call(container, "deliveries", {"status": "failed"},
                                        dead["id"])["items"])
    assert failed["last_error"] == "could not connect or the connection broke"
