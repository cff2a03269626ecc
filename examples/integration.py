"""Integrating with deskflow over RabbitMQ, with nothing but kombu.

Another system (an ERP, a web shop) sends commands to ``deskflow.commands`` and reads the
events that follow from a durable queue of its own, bound to the services' event exchanges.
The queue outlives this program: events published while it is stopped wait there, and the
next run prints them.

    # create (or update) a customer, open a ticket for it, print events until that ticket
    # is created
    python examples/integration.py --send --until ticket.created
    # later: print what happened meanwhile (a reply, a transition ...), until quiet for 10 s
    python examples/integration.py --idle 10

Each event is printed as one JSON line: ``{"type", "id", "occurred_at", "source",
"subject"}``. The contract (every event's data, the commands) is docs/asyncapi.yaml.
"""
import argparse
import json
import os
import socket
import sys
import uuid

from kombu import Connection, Exchange, Queue, binding

COMMANDS = Exchange("deskflow.commands", type="topic", durable=True)
# The services' event exchanges and the events this integration wants from each.
SUBSCRIPTIONS = {"customers.events": "customer.#", "tickets.events": "ticket.#"}

CUSTOMER = {"name": "Example Trading Co.", "contact_name": "Wang Li", "industry": "RETAIL",
            "type": "prospect", "source": "online", "phone": "13800138000",
            "email": "wang.li@example.com"}


def event_queue(name: str) -> Queue:
    """A durable queue bound to every subscription. The exchanges belong to the services:
    they are only looked up (passively), never made here."""
    return Queue(name, durable=True, bindings=[
        binding(Exchange(exchange, type="topic", durable=True, passive=True), routing_key=key)
        for exchange, key in SUBSCRIPTIONS.items()])


def send_command(connection, command_type: str, data: dict) -> str:
    """Publish a command: an envelope ``{id, type, data}`` (the id makes a resend harmless:
    each id is applied once)."""
    command_id = str(uuid.uuid4())
    producer = connection.Producer(serializer="json")
    producer.publish({"id": command_id, "type": command_type, "data": data},
                     exchange=COMMANDS, routing_key=command_type, declare=[COMMANDS],
                     delivery_mode=2, retry=True)
    return command_id


def customer_of(envelope: dict) -> str | None:
    """The customer an event concerns (its own id, or its ticket's customer)."""
    data = envelope.get("data", {})
    if isinstance(data.get("customer"), dict):
        return data["customer"].get("id")
    if isinstance(data.get("ticket"), dict):
        return data["ticket"].get("customer_id")
    return None


def subject_of(envelope: dict) -> str | None:
    data = envelope.get("data", {})
    for kind in ("ticket", "customer", "followup"):
        if isinstance(data.get(kind), dict):
            return f"{kind}:{data[kind].get('id')}"
    return None


def run(amqp_uri: str, queue_name: str, send: bool, until: str | None, idle: float,
        customer: dict, only_customer: str | None = None) -> int:
    """Print events as they come (only those about ``only_customer`` if given; with ``send``,
    those about the customer it sent); returns how many were printed."""
    printed = 0
    ticket_sent = not send
    with Connection(amqp_uri) as connection:
        queue = event_queue(queue_name)(connection.default_channel)
        queue.declare()  # before sending: no event that follows can be missed
        if send:
            send_command(connection, "customer.upsert", customer)
        done = False

        def on_message(body, message):
            nonlocal printed, ticket_sent, done, only_customer
            if done:  # came in the same read as the last one: left for the next run, unacked
                return
            envelope = json.loads(body) if isinstance(body, (str, bytes)) else body
            data = envelope.get("data", {})
            if (not ticket_sent and envelope.get("type") in ("customer.created", "customer.updated")
                    and data.get("customer", {}).get("name") == customer["name"]):
                # The customer's id comes with its event: open a ticket for it.
                only_customer = data["customer"]["id"]
                send_command(connection, "ticket.create", {
                    "customer_id": only_customer, "service_type": "presales",
                    "category": "inquiry", "priority": "medium",
                    "title": "Asks for a quotation", "channel": "online_form"})
                ticket_sent = True
            if (send and not ticket_sent) or (
                    only_customer is not None and customer_of(envelope) != only_customer):
                message.ack()  # another customer's business
                return
            print(json.dumps({"type": envelope.get("type"), "id": envelope.get("id"),
                              "occurred_at": envelope.get("occurred_at"),
                              "source": envelope.get("source"),
                              "subject": subject_of(envelope)}, ensure_ascii=False),
                  flush=True)
            printed += 1
            message.ack()
            if until is not None and envelope.get("type") == until:
                done = True

        with connection.Consumer(queue, callbacks=[on_message], accept=["json"]):
            while not done:
                try:
                    connection.drain_events(timeout=idle)
                except socket.timeout:
                    break  # quiet for ``idle`` seconds
    return printed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--amqp", default=os.environ.get(
        "AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"), help="the broker (env AMQP_URI)")
    parser.add_argument("--queue", default="integration.example",
                        help="this integration's durable queue (kept across runs)")
    parser.add_argument("--send", action="store_true",
                        help="send customer.upsert, then ticket.create for that customer")
    parser.add_argument("--name", default=CUSTOMER["name"], help="the customer's name")
    parser.add_argument("--phone", default=CUSTOMER["phone"],
                        help="the customer's phone (a customer is matched by name or phone)")
    parser.add_argument("--customer", help="print only events about this customer id")
    parser.add_argument("--until", help="stop after printing an event of this type")
    parser.add_argument("--idle", type=float, default=30.0,
                        help="stop after this many seconds without an event")
    args = parser.parse_args(argv)
    customer = {**CUSTOMER, "name": args.name, "phone": args.phone}
    run(args.amqp, args.queue, args.send, args.until, args.idle, customer, args.customer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
