"""docs/asyncapi.yaml is generated from the producers' catalogues, current, and complete."""
import re

import yaml

from scripts import asyncapi
from services.common.events import catalogues


def test_committed_document_is_current():
    assert asyncapi.OUTPUT.read_text() == asyncapi.render(), "run: python scripts/asyncapi.py"


def test_every_declared_event_and_command_has_a_channel():
    channels = yaml.safe_load(asyncapi.OUTPUT.read_text())["channels"]
    for source, events in catalogues().items():
        assert all(f"{source}.events/{event}" in channels for event in events.events)
        assert all(f"deskflow.commands/{command}" in channels for command in events.commands)


def test_every_message_payload_resolves():
    document = yaml.safe_load(asyncapi.OUTPUT.read_text())
    schemas = document["components"]["schemas"]
    references = re.findall(r"#/components/schemas/(\w+)", asyncapi.OUTPUT.read_text())
    assert references and all(name in schemas for name in references)
    assert document["asyncapi"].startswith("2.")
