"""The Prometheus configuration and alert rules in deploy/prometheus, checked by Prometheus's
own ``promtool`` (``scripts/ensure-prometheus.sh`` installs it): the files load, and every
alert passes its unit tests in deploy/prometheus/tests/ and has a case in which it fires."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy/prometheus"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def promtool(*args) -> subprocess.CompletedProcess:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: run scripts/ensure-prometheus.sh (make test does)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=300)


def alerts() -> set[str]:
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    return {rule["alert"] for group in rules["groups"] for rule in group["rules"]}


def test_the_configuration_and_its_rules_load():
    checked = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_passes_its_promtool_unit_tests():
    assert RULE_TESTS
    tested = promtool("test", "rules", *map(str, RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_does_not():
    firing, quiet = set(), set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts() - firing == set()
    assert alerts() - quiet == set()
