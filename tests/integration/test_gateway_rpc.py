"""The gateway's RPC pool against a real container on a throwaway vhost: answers with the
context data the service sees, remote errors raised as themselves, a service nobody runs
refused at once, a timeout, a pooled client whose connection broke, and what the broker is
left holding (transient requests, no reply queue once a client is gone)."""
import threading
import time

import pytest
from kombu import Connection

from gateway.rpc import REPLY_QUEUE_PREFIX, RpcPool
from services.common.context import ACTOR, CallContextProvider
from services.common.dead_letters import rpc
from services.common.errors import NotFound, Unavailable
from tests.support.waiting import wait_until


class Echo:
    name = "echo"
    context = CallContextProvider()

    @rpc
    def who(self, value, suffix=""):
        return {"value": value + suffix, "actor": self.context.actor}

    @rpc(expected_exceptions=NotFound)
    def missing(self, record_id):
        raise NotFound(f"No {record_id}.", {"id": record_id})

    @rpc
    def slow(self, seconds):
        time.sleep(seconds)
        return seconds


@pytest.fixture
def echo(container_factory, rabbit_config):
    container = container_factory(Echo, {**rabbit_config, "serializer": "json"})
    container.start()
    return container


@pytest.fixture
def pool(rabbit_config):
    pool = RpcPool(rabbit_config["AMQP_URI"], 2, 5)
    yield pool
    pool.close()


def reply_queues(rabbit_manager, vhost: str) -> list[str]:
    return [queue["name"] for queue in rabbit_manager.get_queues(vhost)
            if queue["name"].startswith(REPLY_QUEUE_PREFIX)]


def test_answers_with_the_context_and_raises_remote_errors(echo, pool):
    assert pool.call("echo", "who", "a", suffix="b", context={ACTOR: "lina"}) == {
        "value": "ab", "actor": "lina"}
    with pytest.raises(NotFound) as refused:
        pool.call("echo", "missing", "x-1", context={})
    assert refused.value.details == {"id": "x-1"}
    assert pool.call("echo", "who", "c", context={}) == {"value": "c", "actor": "system"}


def test_threads_share_the_pool(echo, pool):
    answers, errors = [], []

    def caller(n):
        try:
            for i in range(10):
                answers.append(pool.call("echo", "who", f"{n}-{i}", context={})["value"])
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(answers) == sorted(f"{n}-{i}" for n in range(4) for i in range(10))
    assert pool._opened <= 2


def test_a_service_nobody_runs_is_refused_at_once(rabbit_config, pool):
    started = time.monotonic()
    with pytest.raises(Unavailable) as refused:
        pool.call("nobody", "ping", context={})
    assert str(refused.value) == "The nobody service is not running."
    assert time.monotonic() - started < pool.timeout  # the broker returned it: no timeout


def test_a_timeout_replaces_the_client(echo, rabbit_config):
    pool = RpcPool(rabbit_config["AMQP_URI"], 1, 0.5)
    try:
        with pytest.raises(Unavailable) as late:
            pool.call("echo", "slow", 2, context={})
        assert late.value.details == {"reason": "RpcTimeout"}
        assert pool._opened == 0
        # the late answer of the first call never reaches the next one
        time.sleep(2)
        assert pool.call("echo", "who", "after", context={})["value"] == "after"
    finally:
        pool.close()


def test_a_client_the_broker_closed_in_the_pool_opens_again(echo, pool, rabbit_manager):
    """What a broker restart leaves in the pool: connections the broker closed. A request
    sent on one would be lost; the client sees the close and sends on a new connection."""
    assert pool.call("echo", "who", "before", context={})["value"] == "before"
    client = pool._idle.get_nowait()
    port = client.connection.connection.sock.getsockname()[1]

    def close_it() -> bool:
        for connection in rabbit_manager.get_connections():
            if connection.get("peer_port") == port:
                rabbit_manager.delete_connection(connection["name"])
                return True
        return False

    wait_until(close_it, timeout=30, message="the client's connection in the management API")
    wait_until(client._closed_by_broker, timeout=10)
    pool._idle.put(client)
    assert pool.call("echo", "who", "after", context={})["value"] == "after"
    assert pool._opened == 1


def test_requests_are_transient_and_reply_queues_go_with_their_client(rabbit_config,
                                                                     rabbit_manager):
    pool = RpcPool(rabbit_config["AMQP_URI"], 1, 0.3)
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.channel()
        channel.exchange_declare("nameko-rpc", "topic", durable=True, auto_delete=False)
        channel.queue_declare("rpc-echo", durable=True)
        channel.queue_bind("rpc-echo", "nameko-rpc", "echo.*")
        with pytest.raises(Unavailable):  # nothing consumes the queue: a timeout
            pool.call("echo", "who", "x", context={ACTOR: "lina"})
        message = channel.basic_get("rpc-echo", no_ack=True)
        assert message.properties["delivery_mode"] == 1
        assert message.headers == {"nameko.actor": "lina"}
    wait_until(lambda: reply_queues(rabbit_manager, rabbit_config["vhost"]) == [], timeout=10)
