"""The deployment files refer only to what exists: commands to real modules, environment
variables the code reads, metrics the code exports, files in the repository. (No Docker
engine or cluster is needed to check this.)"""
import importlib.util
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from services.common.config import METRICS_PORTS, SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "\n".join(path.read_text() for folder in ("services", "gateway", "scripts")
                   for path in (ROOT / folder).rglob("*.py"))
METRIC = re.compile(r"\b(deskflow_[a-z_]+)")
METRIC_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def environment_variables_read_by_code() -> set[str]:
    names = set(re.findall(r"""environ(?:\.get)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", SOURCE))
    names |= set(re.findall(r"""environ\[["']([A-Z][A-Z0-9_]+)["']\]""", SOURCE))
    names |= set(re.findall(r"""_env\(environ, ["']([A-Z][A-Z0-9_]+)["']\)""", SOURCE))
    return (names | {f"{name.upper()}_DATABASE_URL" for name in SERVICE_NAMES}
            | {f"{name.upper()}_METRICS_PORT" for name in METRICS_PORTS})


def check_command(command) -> None:
    """Every ``python -m module`` names an importable module; gunicorn configs exist."""
    text = command if isinstance(command, str) else " ".join(shlex.quote(part) for part in command)
    for module in re.findall(r"python -m ([\w.]+)", text):
        assert importlib.util.find_spec(module) is not None, module
    for script in re.findall(r"python (scripts/\S+\.py)", text):
        assert (ROOT / script).exists(), script
    for config in re.findall(r"gunicorn -c (\S+)", text):
        assert (ROOT / config).exists(), config


def exported_metric(name: str) -> bool:
    """The code names ``name`` (less a sample suffix), whole or as the key it is built from
    (``f"deskflow_ticket_{key}"``)."""
    base = next((name.removesuffix(suffix) for suffix in METRIC_SUFFIXES if name.endswith(suffix)),
                name)
    parts = base.split("_")
    tails = ["_".join(parts[i:]) for i in range(1, len(parts) - 1)]
    return f'"{base}"' in SOURCE or any(f'"{tail}"' in SOURCE for tail in tails)


def test_compose_services_run_real_modules_with_known_settings():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    known = environment_variables_read_by_code()
    for name, service in compose["services"].items():
        if "command" in service:
            check_command(service["command"])
        for variable in service.get("environment", {}):
            assert variable in known or name in ("postgres", "rabbitmq"), (name, variable)
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], (name, dependency)
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            assert not host.startswith("./") or (ROOT / host).exists(), volume
    assert {"customer", "ticket", "notification", "reporting", "workflow", "gateway", "migrate"} <= set(compose["services"])


def test_dockerfile_copies_existing_paths():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), source
    check_command(" ".join(json.loads(re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE).group(1))))


def test_kubernetes_manifests_run_real_modules_with_known_settings():
    documents = list(yaml.safe_load_all((ROOT / "deploy/kubernetes/deskflow.yaml").read_text()))
    known = environment_variables_read_by_code()
    kinds = [document["kind"] for document in documents]
    assert kinds.count("Deployment") == 6 and "Job" in kinds
    backup, = [document for document in documents if document["kind"] == "CronJob"]
    assert backup["spec"]["schedule"].split()[2:] == ["1", "*", "*"]  # monthly
    for document in documents:
        if document["kind"] in ("ConfigMap", "Secret"):
            for variable in {**document.get("data", {}), **document.get("stringData", {})}:
                assert variable in known, variable
        pod = {"Deployment": lambda spec: spec["template"]["spec"],
               "Job": lambda spec: spec["template"]["spec"],
               "CronJob": lambda spec: spec["jobTemplate"]["spec"]["template"]["spec"]}
        if document["kind"] in pod:
            for container in pod[document["kind"]](document["spec"])["containers"]:
                check_command(container["command"])
                for variable in container.get("env", []):
                    assert variable["name"] in known, variable


def test_each_kubernetes_service_connects_as_its_own_broker_user():
    documents = list(yaml.safe_load_all((ROOT / "deploy/kubernetes/deskflow.yaml").read_text()))
    definitions = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())
    users = {user["name"] for user in definitions["users"]}
    uris = {document["metadata"]["name"]: document["stringData"]["AMQP_URI"]
            for document in documents if document["kind"] == "Secret"
            and "AMQP_URI" in document.get("stringData", {})}
    used = []
    for document in documents:
        if document["kind"] != "Deployment":
            continue
        (container,) = document["spec"]["template"]["spec"]["containers"]
        (amqp,) = [item for item in container.get("env", []) if item["name"] == "AMQP_URI"]
        user = re.match(r"amqp://([^:]+):", uris[amqp["valueFrom"]["secretKeyRef"]["name"]])[1]
        assert user in users, user
        used.append(user)
    assert len(used) == len(set(used)) == 6 and "integration" not in used
    assert all(grant["vhost"] == "deskflow" for grant in definitions["permissions"])


@pytest.mark.parametrize("path", ["deploy/prometheus/rules.yml", "deploy/grafana/dashboards/deskflow.json"])
def test_alerts_and_dashboards_use_exported_metrics(path):
    text = (ROOT / path).read_text()
    names = set(METRIC.findall(text))
    assert names
    assert [name for name in names if not exported_metric(name)] == []


def test_alert_rules_are_well_formed():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert {"alert", "expr", "labels", "annotations"} <= set(rule)
            assert rule["expr"].count("(") == rule["expr"].count(")")


def test_readme_documents_every_environment_variable():
    readme = (ROOT / "README.md").read_text()
    internal = {"PYTHONPATH", "PROMETHEUS_MULTIPROC_DIR", "PSYCOPG_WAIT_FUNC"}
    missing = sorted(name for name in environment_variables_read_by_code() - internal
                     if f"`{name}`" not in readme)
    assert missing == []


def test_compose_takes_its_secrets_from_a_dot_env_the_example_of_which_does_not_work():
    from gateway.auth import password_problems
    from gateway.token_secret import secret_problem

    compose = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", compose))
    assert {"JWT_SECRET", "ADMIN_PASSWORD", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD"} <= required
    assert not re.search(r"\$\{(?:JWT_SECRET|[A-Z_]*PASSWORD):-", compose)  # no default secret
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert required <= set(example)
    assert secret_problem(example["JWT_SECRET"])
    assert password_problems(example["ADMIN_PASSWORD"])
    assert ".env" in (ROOT / ".gitignore").read_text().split()
