"""`parklink dlq list` and `parklink dlq replay` on a real broker, as an operator runs them."""

from __future__ import annotations

import json

import pytest
from conftest import run_parklink
from kafka import TopicPartition

from parklink.eventkit.bus import consumer, producer
from parklink.eventkit.catalog import load_catalog

pytestmark = pytest.mark.broker

CATALOG = load_catalog()


def _dead_letter(topic: str, offset: int, reason: str) -> list[tuple[str, bytes]]:
    return [
        ("topic", topic.encode()),
        ("partition", b"0"),
        ("offset", str(offset).encode()),
        ("error", reason.encode()),
        ("error_message", f"{reason} at {offset}".encode()),
    ]


def _records(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    kafka = consumer([bootstrap], group_id=None)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(kafka.partitions_for_topic(topic))]
        kafka.assign(parts)
        kafka.seek_to_beginning(*parts)
        ends = kafka.end_offsets(parts)
        found: list[tuple[bytes | None, bytes | None]] = []
        while any(kafka.position(tp) < ends[tp] for tp in parts):
            for batch in kafka.poll(timeout_ms=1000).values():
                found += [(r.key, r.value) for r in batch]
        return found
    finally:
        kafka.close()


def test_list_shows_reasons_and_replay_puts_back_only_park_records(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    orders = CATALOG["orders"].topic(topic_prefix)
    alerts = CATALOG["alerts"].topic(topic_prefix)
    dlq = CATALOG["dlq"].topic(topic_prefix)
    kafka = producer([kafka_bootstrap])
    kafka.send(
        dlq,
        key=b"PO-1",
        value=b"\x00\x00\x00\x00\x07one",
        headers=_dead_letter(orders, 11, "unknown-schema-id"),
    )
    kafka.send(
        dlq,
        key=b"PO-2",
        value=b"\x00\x00\x00\x00\x07two",
        headers=_dead_letter(orders, 12, "invalid-event"),
    )
    # Headers are data: a dead letter claiming to come from the alerts topic is not written there.
    kafka.send(
        dlq, key=b"A-1", value=b"forged", headers=_dead_letter(alerts, 3, "unknown-schema-id")
    )
    kafka.flush()
    kafka.close()
    env = {"PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap, "PARKLINK_TOPIC_PREFIX": topic_prefix}

    listed = run_parklink(env, "dlq", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    views = [json.loads(line) for line in listed.stdout.splitlines()]
    print(listed.stdout)
    assert [(v["key"], v["reason"], v["topic"], v["offset"]) for v in views] == [
        ("PO-1", "unknown-schema-id", orders, 11),
        ("PO-2", "invalid-event", orders, 12),
        ("A-1", "unknown-schema-id", alerts, 3),
    ]
    only = run_parklink(env, "dlq", "list", "--reason", "invalid-event")
    assert only.returncode == 0 and "PO-2" in only.stdout and "PO-1" not in only.stdout

    dry = run_parklink(env, "dlq", "replay", "--reason", "unknown-schema-id", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would replay 1" in dry.stderr and _records(kafka_bootstrap, orders) == []

    replay = run_parklink(env, "dlq", "replay", "--reason", "unknown-schema-id", "--since", "1h")
    print(replay.stderr)
    assert replay.returncode == 0, replay.stderr
    assert "replayed 1 dead letter(s); 1 not from a park topic" in replay.stderr
    assert _records(kafka_bootstrap, orders) == [(b"PO-1", b"\x00\x00\x00\x00\x07one")]
    assert _records(kafka_bootstrap, alerts) == []

    later = run_parklink(env, "dlq", "replay", "--since", "2999-01-01T00:00")
    assert later.returncode == 0 and "replayed 0" in later.stderr
    bad = run_parklink(env, "dlq", "list", "--since", "yesterday")
    assert bad.returncode == 1 and "--since 'yesterday'" in bad.stderr
