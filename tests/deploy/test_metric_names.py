"""Every metric the Prometheus rules and the Grafana dashboard query is one the services really
export: `parklink up --no-simulator --detach` on free ports, each service's /metrics read and
parsed, every name in every expression looked up there.

PENDING holds the names the rules and dashboard need that no service exports yet; while there
are any, every run prints them and warns, and the test fails once one of them appears (so that
it leaves the list).
"""

from __future__ import annotations

import json
import os
import re
import uuid
import warnings
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import run_parklink
from deploy.checkers import DEPLOY
from prometheus_client.parser import text_string_to_metric_families

from parklink.eventkit.lifecycle import free_port

pytestmark = pytest.mark.broker

RULES = DEPLOY / "prometheus" / "rules" / "parklink.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

# Needed by the rules and the dashboard, not exported yet (the lead empties this at merge):
PENDING: set[str] = set()
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_OPERATORS = {
    *("and", "or", "unless", "bool", "offset", "by", "without", "group_left", "group_right"),
    *("inf", "nan"),
}


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression reads (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _GROUPING.sub("", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group()
        if text[match.end() :].lstrip().startswith("(") or word.lower() in _OPERATORS:
            continue
        names.add(word)
    return names


def queries() -> dict[str, str]:
    """Every expression of the rules and dashboards, by where it is."""
    found: dict[str, str] = {}
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            found[f"rule {rule.get('record') or rule.get('alert')}"] = rule["expr"]
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found[f"{path.name}: {panel['title']}"] = target["expr"]
    return found


def recorded() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {r["record"] for g in groups for r in g["rules"] if "record" in r}


def exported(text: str) -> set[str]:
    """Every sample name a /metrics body can carry, also for metrics with no samples yet."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("_count", "_sum", "_created"),
        "info": ("_info",),
    }
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names |= {family.name + s for s in suffixes.get(family.type, ())}
        names |= {sample.name for sample in family.samples}
    return names


def test_the_expression_parser_finds_series_not_functions_or_labels() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (kind, le) (rate(x_bucket{a="b(c)"}[5m])))'
        " / on (kind) group_left y:rec > bool 2 and z offset 5m"
    )
    assert metric_names(expr) == {"x_bucket", "y:rec", "z"}


def test_every_query_names_an_exported_metric(kafka_bootstrap: str, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    ports = {
        name: free_port()
        for name in ("REGISTRY", "GATEWAY", "DETECTOR", "CONSOLE", "SIMULATOR", "RELAY")
    }
    env = {
        **os.environ,
        **{f"PARKLINK_{name}_PORT": str(port) for name, port in ports.items()},
        "PARKLINK_STATE_DIR": str(tmp_path / "state"),
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_TOPIC_PREFIX": f"m{tag}.",
        "PARKLINK_REGISTRY_TOPIC": f"_schemas.m{tag}",
        "PARKLINK_DETECTOR_GROUP": f"metrics-{tag}",
    }
    up = run_parklink(env, "up", "--no-simulator", "--detach", timeout=300)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        names: set[str] = set()
        for service in ("REGISTRY", "GATEWAY", "DETECTOR", "CONSOLE"):
            resp = httpx.get(f"http://127.0.0.1:{ports[service]}/metrics", timeout=10)
            assert resp.status_code == 200, service
            names |= exported(resp.text)
    finally:
        down = run_parklink(env, "down", timeout=180)
    assert down.returncode == 0, down.stdout + down.stderr

    if PENDING:
        pending = (
            f"metrics the rules and dashboard need that no service exports yet: {sorted(PENDING)}"
        )
        print(f"\n{pending}")
        warnings.warn(pending, stacklevel=1)
    rules = recorded()
    unknown = {}
    for where, expr in queries().items():
        for name in metric_names(expr):
            known = name in rules if ":" in name else name in names or name in PENDING
            if not known:
                unknown[where] = name
    assert unknown == {}
    arrived = sorted(PENDING & names)
    assert arrived == [], f"now exported, remove from PENDING: {arrived}"
    assert "parklink_gateway_events_accepted_total" in names  # the parser found real metrics
