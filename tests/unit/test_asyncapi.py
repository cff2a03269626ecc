"""docs/asyncapi.yaml is generated from the schemas, current, and complete."""
import re
from pathlib import Path

import yaml

from scripts import asyncapi

ROOT = Path(__file__).resolve().parents[2]
SERVICE_SOURCE = "\n".join(path.read_text() for folder in ("services", "gateway")
                           for path in (ROOT / folder).rglob("*.py")
                           if "simulate" not in path.name)


def test_committed_document_is_current():
    assert asyncapi.OUTPUT.read_text() == asyncapi.render(), "run: python scripts/asyncapi.py"


def test_every_emitted_event_is_documented():
    emitted = set(re.findall(r"""\.emit\(\s*"([a-z_]+\.[a-z_]+)\"""", SERVICE_SOURCE))
    documented = {event for events in asyncapi.EVENTS.values() for event in events}
    assert emitted and emitted <= documented


def test_every_command_has_a_consumer():
    consumed = set(re.findall(r"""consume_command\(\s*"([a-z_]+\.[a-z_]+)"\s*\)""", SERVICE_SOURCE))
    assert consumed == set(asyncapi.COMMANDS)


def test_every_message_payload_resolves():
    document = yaml.safe_load(asyncapi.OUTPUT.read_text())
    schemas = document["components"]["schemas"]
    references = re.findall(r"#/components/schemas/(\w+)", asyncapi.OUTPUT.read_text())
    assert references and all(name in schemas for name in references)
    assert document["asyncapi"].startswith("2.")
