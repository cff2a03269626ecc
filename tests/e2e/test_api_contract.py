"""The OpenAPI document says exactly what the API does: schemathesis, with every check and
every phase (the stateful one included), against the real processes. A bounded number of
examples per operation keeps the run to a few minutes; ``DESKFLOW_CONTRACT_EXAMPLES`` and
``DESKFLOW_CONTRACT_SEED`` change them. The run has a stack of its own: it changes the SLA
policy, workflow rules, departments and users at random, which the shared stacks' tests
must not see.

What JSON Schema cannot state (another field's value, stored state, the clock, a file's
kind sniffed from its bytes) each operation lists in ``x-rules``; those operations may refuse
a schema-valid request with 422 (the service names the field) or, for uploads, 415, and only
those."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import ADMIN_PASSWORD, running_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = os.environ.get("DESKFLOW_CONTRACT_EXAMPLES", "8")
SEED = os.environ.get("DESKFLOW_CONTRACT_SEED", "20261126")
# What schemathesis accepts for a schema-valid request, by default; 422 joins it where the
# document names rules beyond the schema.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]


@pytest.fixture(scope="module")
def contract_stack(rabbit_manager, databases, tmp_path_factory):
    with running_stack(rabbit_manager, databases, tmp_path_factory.mktemp("contract"),
                       WEBHOOK_ALLOW_PRIVATE="true", TRUSTED_PROXIES="127.0.0.1") as running:
        yield running


def config_for(document: dict) -> str:
    """The run's schemathesis.toml: the document's ``bearer`` scheme logs in as the admin
    (again after a 401: a logout the run makes ends the session), and operations with
    ``x-rules`` may answer 422 to schema-valid requests."""
    entries = ['[auth.dynamic.openapi.bearer]\npath = "/api/v1/auth/login"\n'
               'payload = { username = "${DESKFLOW_USERNAME}", '
               'password = "${DESKFLOW_PASSWORD}" }\n'
               'extract_selector = "/access_token"\n',
               # Only an upload answers 415 (its file's kind is sniffed from its bytes, a
               # rule it lists); allowed everywhere, as schemathesis 4.32.5 gave an upload the
               # entry of another operation below.
               f"[checks.positive_data_acceptance]\nexpected-statuses = "
               f"{json.dumps(ACCEPTED + ['415'])}\n"]
    for path, operations in sorted(document["paths"].items()):
        for method, operation in sorted(operations.items()):
            if operation.get("x-rules"):
                refusals = ["415", "422"]  # a broken rule; a file of a kind not recognised
                entries.append(
                    # a regex, anchored: a plain include-path also takes longer paths
                    f"[[operations]]\ninclude-path-regex = '^{re.escape(path)}$'\n"
                    f'include-method = "{method.upper()}"\n'
                    f"checks.positive_data_acceptance.expected-statuses = "
                    f"{json.dumps(ACCEPTED + refusals)}\n")
    return "\n".join(entries)


def test_the_api_does_what_its_openapi_document_says(contract_stack, tmp_path):
    admin = contract_stack.login("admin", ADMIN_PASSWORD)
    document_url = f"{contract_stack.base_url}/api/v1/openapi.json"
    config = tmp_path / "schemathesis.toml"
    config.write_text(config_for(admin.get("/api/v1/openapi.json").json()))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.contract.hooks",
           "DESKFLOW_USERNAME": "admin", "DESKFLOW_PASSWORD": ADMIN_PASSWORD,
           "PYTHONPATH": str(ROOT)}
    output = tmp_path / "schemathesis.out"  # kept whole, also when the run is cut short
    with output.open("w") as out:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(config),
             "run", document_url, "--checks", "all", "--max-examples", EXAMPLES, "--seed", SEED,
             "--workers", "1", "--request-timeout", "30"],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=3000)
    assert run.returncode == 0, f"{output}:\n" + output.read_text()[-60000:]
