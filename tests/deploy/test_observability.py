"""The observability pack in deploy/: the Prometheus alert rules pass `promtool check rules` and their unit
tests (`promtool test rules` over sample series), the Grafana dashboard's queries parse, and every metric the
rules and the dashboard name is one the controller exports on GET /metrics (a renamed metric breaks this).

promtool comes with Debian's `prometheus` package (.ci/run installs it); without it those tests skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gitops.api import metrics
from gitops.store import open_store

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus-alerts.yaml"
RULE_TESTS = DEPLOY / "prometheus-alerts.test.yaml"
DASHBOARD = DEPLOY / "grafana-dashboard.json"
METRIC = re.compile(r"\bphoenix_[a-z_]+\b")
# What the issue asks the alerts to cover, by the alert that covers it.
REQUIRED_ALERTS = {"PhoenixRevisionFailed", "PhoenixDriftNotCorrected", "PhoenixNoLeader", "PhoenixApplySlow",
                   "PhoenixOutboxBacklog"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus; .ci/run does)")
    return found


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def dashboard_queries() -> list[str]:
    queries = [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]
    queries += [v["definition"] for v in dashboard()["templating"]["list"] if v["type"] == "query"]
    return queries


def exported_names(tmp_path: Path) -> set[str]:
    """The sample names GET /metrics serves, from a ledger with an applied revision and one outbox consumer
    (so every family has samples)."""
    store = open_store(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        store.update_state(applied_revision="a" * 40)
        store.add_event("applied", "one")
        store.set_outbox_cursor("notify:ops", 0)
        text = metrics.render(metrics.make_registry(store, lambda: {"reconciles": 1.0}, lambda: True)).decode()
    finally:
        store.close()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def test_every_metric_named_by_the_rules_and_the_dashboard_is_exported(tmp_path: Path) -> None:
    exported = exported_names(tmp_path)
    named_by_rules = {m for rule in rules() for m in METRIC.findall(rule["expr"])}
    named_by_dashboard = {m for query in dashboard_queries() for m in METRIC.findall(query)}
    assert named_by_rules and named_by_dashboard
    assert named_by_rules - exported == set()
    assert named_by_dashboard - exported == set()
    # the dashboard shows every family the controller exports
    assert {n for n in exported if n.startswith("phoenix_")} - named_by_dashboard == set()


def test_the_alerts_cover_what_operators_page_on() -> None:
    alerts = {rule["alert"]: rule for rule in rules()}
    assert set(alerts) >= REQUIRED_ALERTS
    for rule in alerts.values():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    tested = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", [])}
    assert set(alerts) - tested == set(), "every alert has a unit test in prometheus-alerts.test.yaml"


def test_promtool_checks_the_rules() -> None:
    done = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    done = subprocess.run([promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """Each panel's query, with Grafana's variables given values, checked by promtool as a recording rule."""
    tool = promtool()
    filled = [q.replace("$__rate_interval", "5m").replace("$instance", ".*") for q in dashboard_queries()
              if not q.startswith("label_values(")]
    recorded = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query{i}", "expr": q}
                                                          for i, q in enumerate(filled)]}]}
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump(recorded))
    done = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_is_importable() -> None:
    data = dashboard()
    assert data["uid"] == "phoenix-gitops" and data["schemaVersion"] >= 36
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids))
    for panel in data["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"] and panel["description"]
    assert [v["name"] for v in data["templating"]["list"]] == ["datasource", "instance"]


def test_the_outbox_backlog_is_exported_per_consumer(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        first = store.add_event("applied", "one")
        store.add_event("failed", "two", level="error")
        store.set_outbox_cursor("notify:ops", first.id)
        store.set_outbox_cursor("deploy-status:gitea", store.latest_event_id())
        text = metrics.render(metrics.make_registry(store, dict, lambda: True)).decode()
    finally:
        store.close()
    samples = {(s.name, s.labels.get("consumer")): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("phoenix_outbox_pending_events", "notify:ops")] == 1
    assert samples[("phoenix_outbox_pending_events", "deploy-status:gitea")] == 0
    assert 0 <= samples[("phoenix_outbox_oldest_pending_seconds", "notify:ops")] < 60
    assert samples[("phoenix_outbox_oldest_pending_seconds", "deploy-status:gitea")] == 0
