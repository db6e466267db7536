"""`parklink token`, `parklink publish` and `parklink subscribe` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import factories
import pytest
from conftest import run_parklink

from parklink.eventkit.contracts import now_utc

pytestmark = pytest.mark.broker

PARK = "KZ-ALA-IPA"


def test_tokens_issue_list_revoke(state_dir: Path) -> None:
    env = {"PARKLINK_STATE_DIR": str(state_dir)}
    issued = run_parklink(env, "token", "issue", "--park", PARK)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    token_id = token.split("_")[1]
    assert token not in (state_dir / "tokens.db").read_bytes().decode("latin-1")
    listing = run_parklink(env, "token", "list").stdout
    assert token_id in listing and PARK in listing
    assert run_parklink(env, "token", "issue", "--park", "qingdao").returncode == 1
    assert run_parklink(env, "token", "revoke", token_id).returncode == 0
    assert run_parklink(env, "token", "revoke", "nope").returncode == 1
    assert "revoked" not in listing
    assert token_id in run_parklink(env, "token", "list").stdout


def test_publish_reports_bad_lines_and_subscribe_prints_the_good_ones(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    env = {
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_REGISTRY_URL": registry_url,
        "PARKLINK_TOPIC_PREFIX": topic_prefix,
        "PARKLINK_STATE_DIR": str(tmp_path),
    }
    now = now_utc()
    good = [
        factories.order(source_park=PARK, order_id=f"PO-{i}", event_time=now).to_json()
        for i in range(5)
    ]
    lines = [json.dumps(e) for e in good]
    lines.insert(2, json.dumps({**good[0], "quantity": -1}))  # line 3
    lines.insert(4, "{not json")  # line 5
    lines.append(json.dumps({**good[0], "source_park": "CN-QD-SCODA"}))  # line 8
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = run_parklink(env, "publish", "--kind", "orders", str(path), "--park", PARK)
    assert done.returncode == 1
    assert "line 3: quantity" in done.stderr
    assert "line 5: not JSON" in done.stderr
    assert "line 8:" in done.stderr
    assert "5 published, 3 refused, 0 left unpublished of 8 lines" in done.stdout
    sub = run_parklink(env, "subscribe", "orders", "--from-beginning", "--max", "5")
    assert sub.returncode == 0, sub.stderr
    printed = [json.loads(line) for line in sub.stdout.splitlines()]
    assert sorted(p["event_id"] for p in printed) == sorted(e["event_id"] for e in good)
    assert {p["order_id"] for p in printed} == {f"PO-{i}" for i in range(5)}
