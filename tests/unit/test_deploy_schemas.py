"""The deployment files against their published schemas, offline: docker-compose.yml against
the Compose specification's JSON schema (as check-jsonschema ships it) and every Kubernetes
manifest against the Kubernetes OpenAPI schemas (as kubernetes-validate ships them, strict:
an unknown field is an error). Then what a scale-out needs, read from the manifests."""
import json
from importlib.resources import files
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from services.common.config import METRICS_PORTS

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.30.0"  # the oldest release still in support when this was written
MANIFESTS = sorted((ROOT / "deploy/kubernetes").glob("*.yaml"))
# Custom resources the Kubernetes schemas do not describe. The RabbitMQ Cluster Operator
# publishes its CRD only with its own release manifests (not on PyPI), so it is not shipped
# here: those documents are checked by test_rabbitmq_runs_as_a_cluster_of_quorum_queues.
CUSTOM_RESOURCES = {("rabbitmq.com/v1beta1", "RabbitmqCluster")}


def compose_validator():
    schema = json.loads(files("check_jsonschema.builtin_schemas.vendor")
                        .joinpath("compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


def documents() -> list[dict]:
    return [document for path in MANIFESTS
            for document in yaml.safe_load_all(path.read_text()) if document]


def of_kind(kind: str) -> list[dict]:
    return [document for document in documents() if document["kind"] == kind]


def test_compose_file_follows_the_compose_specification():
    validator = compose_validator()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert [error.message for error in validator.iter_errors(compose)] == []
    # the schema is strict: a misspelt key of a service is an error
    assert list(validator.iter_errors({"services": {"web": {"imgae": "deskflow:latest"}}}))


def built_in_documents() -> list[dict]:
    """Every manifest document but the custom resources (checked on their own, see above)."""
    return [document for document in documents()
            if (document["apiVersion"], document["kind"]) not in CUSTOM_RESOURCES]


@pytest.mark.parametrize("document", built_in_documents(),
                         ids=lambda document: f"{document['kind']}/{document['metadata']['name']}")
def test_kubernetes_manifest_follows_the_kubernetes_schemas(document):
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_schemas_refuse_a_wrong_manifest():
    deployment = json.loads(json.dumps(of_kind("Deployment")[0]))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def pod_spec(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def test_every_service_runs_replicas_that_compete_for_its_queues_and_stay_up_in_a_drain():
    deployments = {document["metadata"]["name"]: document for document in of_kind("Deployment")}
    assert set(deployments) == {f"deskflow-{name}" for name in METRICS_PORTS}
    budgets = {document["spec"]["selector"]["matchLabels"]["app"]: document
               for document in of_kind("PodDisruptionBudget")}
    for name, deployment in deployments.items():
        assert deployment["spec"]["replicas"] >= 2, name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert budgets[labels["app"]]["spec"]["minAvailable"] == 1, name
    (autoscaler,) = of_kind("HorizontalPodAutoscaler")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "deskflow-gateway"
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert pod_spec(deployments["deskflow-gateway"])["containers"][0]["resources"]["requests"]["cpu"]


def test_probes_ask_only_the_process_itself_and_metrics_are_announced():
    for deployment in of_kind("Deployment"):
        name = deployment["metadata"]["name"].removeprefix("deskflow-")
        (container,) = pod_spec(deployment)["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        for probe in ("livenessProbe", "readinessProbe"):
            # /healthz answers from the process alone; /readyz asks every service
            assert container[probe]["httpGet"]["path"] == "/healthz", (name, probe)
            assert container[probe]["httpGet"]["port"] in ports, (name, probe)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert int(annotations["prometheus.io/port"]) == ports["metrics"] == METRICS_PORTS[name]


def test_rabbitmq_runs_as_a_cluster_of_quorum_queues():
    (cluster,) = [document for document in documents()
                  if (document["apiVersion"], document["kind"]) in CUSTOM_RESOURCES]
    assert cluster["spec"]["replicas"] >= 3 and cluster["spec"]["replicas"] % 2 == 1
    (config,) = [document for document in of_kind("ConfigMap")
                 if document["metadata"]["name"] == "deskflow-config"]
    assert config["data"]["AMQP_QUEUE_TYPE"] == "quorum"
    hosts = {secret["stringData"]["AMQP_URI"].split("@")[1].split(":")[0]
             for secret in of_kind("Secret") if "AMQP_URI" in secret.get("stringData", {})}
    assert hosts == {f"{cluster['metadata']['name']}.{cluster['metadata']['namespace']}.svc"}


def test_postgresql_is_an_external_connection():
    assert not of_kind("StatefulSet")
    (external,) = [service for service in of_kind("Service")
                   if service["spec"].get("type") == "ExternalName"]
    urls = {key: value for secret in of_kind("Secret")
            for key, value in secret.get("stringData", {}).items() if key.endswith("_DATABASE_URL")}
    assert len(urls) == 6
    assert all(f"@{external['metadata']['name']}." in url for url in urls.values())
