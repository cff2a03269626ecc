"""Every consumer of every service — RPC, events, commands, RPC replies — takes its messages
through the screening queue consumer, so an undecodable message is dead-lettered, never
dropped. A service (or a new entrypoint) built on Nameko's plain ``rpc`` or ``RpcProxy``
fails here."""
import importlib

import pytest
from nameko.containers import ServiceContainer
from nameko.messaging import QueueConsumer

from services.common.config import SERVICE_CLASSES
from services.common.dead_letters import ScreeningQueueConsumer


def service_class(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("path", sorted(SERVICE_CLASSES.values()))
def test_every_queue_consumer_of_the_service_screens(path):
    container = ServiceContainer(service_class(path), {"AMQP_URI": "memory://"})
    consumers = [extension for extension in container.shared_extensions.values()
                 if isinstance(extension, QueueConsumer)]
    assert consumers, "the service consumes nothing?"
    assert all(isinstance(consumer, ScreeningQueueConsumer) for consumer in consumers), \
        [type(consumer).__name__ for consumer in consumers]
