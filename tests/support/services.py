"""Driving the services from tests: run an entrypoint of a running container, and publish
events the way the services' outboxes do."""
import uuid
from datetime import datetime, timezone

from nameko.amqp.publish import Publisher
from nameko.events import get_event_exchange
from nameko.runners import ServiceRunner
from nameko.testing.services import entrypoint_hook

from services.common.events import make_envelope


def call(target, method: str, *args, actor: str | None = None):
    """Run ``method`` through its entrypoint in a real container: ``call(container, "get",
    id)``, or ``call(runner, "tickets.get", id)`` for one service of a runner. It runs as
    ``actor`` when given, else as the system."""
    if isinstance(target, ServiceRunner):
        service, method = method.split(".", 1)
        target = target.service_map[service]
    with entrypoint_hook(target, method, context_data={"actor": actor} if actor else None) as hook:
        return hook(*args)


def event(event_type: str, data: dict, source: str = "tickets",
          occurred_at: datetime | None = None) -> dict:
    """An envelope as ``source``'s outbox writes it."""
    return make_envelope(event_type, data, source, uuid.uuid4().hex,
                         occurred_at or datetime.now(timezone.utc))


def publish(amqp_uri: str, *envelopes: dict, actor: str | None = None) -> None:
    """Publish as the services' outboxes do: ``<source>.events``, routing key = event type,
    the actor in the ``nameko.actor`` header when given."""
    exchanges = {envelope["source"]: get_event_exchange(envelope["source"], {})
                 for envelope in envelopes}
    publisher = Publisher(amqp_uri, declare=list(exchanges.values()))
    headers = {"nameko.actor": actor} if actor else {}
    for envelope in envelopes:
        publisher.publish(envelope, exchange=exchanges[envelope["source"]],
                          routing_key=envelope["type"], headers=headers)
