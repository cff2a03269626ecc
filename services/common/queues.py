"""The queues the services declare: the dead-letter exchange and queue they share
(:mod:`services.common.dead_letters`), and the type of their queues: ``AMQP_QUEUE_TYPE`` =
``classic`` (default) or ``quorum`` (replicated across a RabbitMQ cluster's nodes, e.g. the
Cluster Operator's ``RabbitmqCluster``).

Only durable, shared queues can be quorum queues: a service's RPC queue, its event and
command queues, the dead-letter queue. Nameko's RPC reply queues are exclusive or expire with
their client and stay classic. A queue's type is fixed when it is first declared: switching
an existing deployment means new queues (drain and delete the old ones first).
"""
from kombu import Exchange, Queue

QUEUE_TYPES = ("classic", "quorum")


def queue_arguments(queue_type: str) -> dict:
    if queue_type not in QUEUE_TYPES:
        raise ValueError(f"AMQP_QUEUE_TYPE must be one of {QUEUE_TYPES}, not {queue_type!r}")
    return {"x-queue-type": queue_type} if queue_type == "quorum" else {}


def can_be_quorum(queue: Queue) -> bool:
    return bool(queue.durable) and not queue.exclusive and not queue.auto_delete


def apply_queue_type(queue: Queue, queue_type: str) -> Queue:
    """Give ``queue`` the configured type, when it is a queue that can have it."""
    arguments = queue_arguments(queue_type)
    if arguments and can_be_quorum(queue):
        queue.queue_arguments = {**(queue.queue_arguments or {}), **arguments}
    return queue


DEAD_LETTER_EXCHANGE = Exchange("deskflow.dead-letter", type="topic", durable=True)


def dead_letter_queue(queue_type: str = "classic") -> Queue:
    """The dead-letter queue, of the deployment's queue type (``AMQP_QUEUE_TYPE``)."""
    return Queue("deskflow.dead-letter", exchange=DEAD_LETTER_EXCHANGE, routing_key="#",
                 durable=True, queue_arguments=queue_arguments(queue_type))


DEAD_LETTER_QUEUE = dead_letter_queue()
