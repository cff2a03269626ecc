"""A real Prometheus (Debian's ``prometheus`` package; ``scripts/ensure-prometheus.sh``) for
the tests: the repository's ``deploy/prometheus`` configuration and alert rules, with each
scrape target pointed at the test stack's metrics port and a short scrape interval."""
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import requests
import yaml

from scripts.run import die_with_parent
from tests.support.stack import Stack, free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy/prometheus/prometheus.yml"
RULES = ROOT / "deploy/prometheus/rules.yml"
STARTUP_SECONDS = 60
INTERVAL = "1s"


def config_for(stack: Stack) -> dict:
    """The repository's configuration, each target ``<process>:<port>`` (docker-compose's
    host names) replaced by the stack's port for that process."""
    config = yaml.safe_load(CONFIG.read_text())
    config["global"].update(scrape_interval=INTERVAL, evaluation_interval=INTERVAL)
    config["rule_files"] = [str(RULES)]
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            group["targets"] = [f"127.0.0.1:{stack.env[host.upper() + '_METRICS_PORT']}"
                                for host in (target.split(":")[0] for target in group["targets"])]
    return config


class Prometheus:
    def __init__(self, base_url: str, process: subprocess.Popen, log_path: Path):
        self.base_url = base_url
        self.process = process
        self.log_path = log_path

    def query(self, expr: str) -> list[dict]:
        """The result of an instant query (``[{"metric": {...}, "value": [t, "v"]}, ...]``)."""
        response = requests.get(f"{self.base_url}/api/v1/query", params={"query": expr},
                                timeout=30)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (expr, body)
        return body["data"]["result"]

    def values(self, expr: str) -> dict[tuple, float]:
        """``{sorted label items: value}`` of an instant query."""
        return {tuple(sorted(item["metric"].items())): float(item["value"][1])
                for item in self.query(expr)}

    def alerts(self) -> list[dict]:
        return requests.get(f"{self.base_url}/api/v1/alerts", timeout=30).json()["data"]["alerts"]

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextmanager
def running_prometheus(stack: Stack, workdir: Path):
    """Prometheus scraping ``stack`` every second while the block runs."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: run scripts/ensure-prometheus.sh (make test does)"
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config_for(stack)))
    port = free_port()
    log_path = workdir / "prometheus.log"
    process = subprocess.Popen(
        [binary, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h"],
        stdout=log_path.open("w"), stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    prometheus = Prometheus(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_ready(prometheus)
        yield prometheus
    finally:
        prometheus.stop()


def _wait_until_ready(prometheus: Prometheus) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if prometheus.process.poll() is not None:
            raise RuntimeError(f"prometheus exited:\n{prometheus.logs()[-3000:]}")
        try:
            if requests.get(prometheus.base_url + "/-/ready", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"prometheus was not ready in {STARTUP_SECONDS}s:\n{prometheus.logs()[-3000:]}")


# PromQL words that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
            "and", "or", "unless", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions,
    aggregations, keywords, label names or values, durations or numbers."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values, strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\boffset\s+\w+", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        name, call = match.groups()
        if not call and name.lower() not in KEYWORDS:
            names.add(name)
    return names
