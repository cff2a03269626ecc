"""examples/integration.py, run as an integrator would run it (a separate process, kombu
only) against the stack: its commands make a customer and a ticket, and its durable queue
keeps the events that happen while it is stopped for its next run."""
import json
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kombu import Connection

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "integration.py"


def run_example(stack, *args) -> list[dict]:
    done = subprocess.run([sys.executable, str(EXAMPLE), "--amqp", stack.amqp_uri, "--idle", "60",
                           *args], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_example_sends_commands_and_reads_events_across_its_restart(stack):
    queue, name = f"integration.test-{uuid.uuid4().hex[:8]}", f"Example {uuid.uuid4().hex[:8]}"
    try:
        phone = f"139{random.randrange(10**8):08d}"
        first = run_example(stack, "--queue", queue, "--send", "--name", name, "--phone", phone,
                            "--until", "ticket.created")
        types = [event["type"] for event in first]
        assert types[0] == "customer.created" and types[-1] == "ticket.created"
        customer_id = first[0]["subject"].removeprefix("customer:")
        ticket_id = first[-1]["subject"].removeprefix("ticket:")
        assert ticket_id.startswith(customer_id)
        assert stack.admin().get(f"/api/v1/tickets/{ticket_id}").json()["title"] == \
            "Asks for a quotation"

        # While the example is stopped, the ticket is taken up: its queue keeps the event.
        moved = stack.admin().post(f"/api/v1/tickets/{ticket_id}/transitions",
                                   json={"to": "in_progress"})
        assert moved.status_code == 200, moved.text
        second = run_example(stack, "--queue", queue, "--customer", customer_id,
                             "--until", "ticket.transitioned")
        assert second[-1]["type"] == "ticket.transitioned"
        assert second[-1]["subject"] == f"ticket:{ticket_id}"
        assert {event["id"] for event in first}.isdisjoint(event["id"] for event in second)
    finally:
        with Connection(stack.amqp_uri) as connection:
            connection.default_channel.queue_delete(queue)
