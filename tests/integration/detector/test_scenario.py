"""The detector on a real broker: a scripted scenario gives exactly the expected alert
transitions, also across a SIGKILL and restart, and with two workers in one group."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import factories
import httpx
import pytest
from integration.detector.conftest import Network

from parklink.eventkit.bus import admin
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import DisruptionAlert, ParkEvent
from parklink.eventkit.topic_admin import apply_catalog

pytestmark = pytest.mark.broker

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
PLANNED = datetime(2026, 11, 30, tzinfo=UTC)
CORRIDOR = "QD-KHR-ALA-RAIL"
SHORTFALL = "CAPACITY_SHORTFALL|CN-QD-SCODA|8704|2026-12-07"
DROP = "CAPACITY_DROP|KZ-ALA-IPA|8703|2026-12-07"
CONGESTION = f"CORRIDOR_CONGESTION|{CORRIDOR}"
Transition = tuple[str, str, int, int]  # status, severity, #orders, #shipments


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def eta(hours: float) -> str:
    return (PLANNED + timedelta(hours=hours)).isoformat()


def ship(n: int, minute: int, **fields: object) -> ParkEvent:
    base: dict[str, object] = {
        "shipment_id": f"SH-{n}",
        "order_ids": [f"PO-S{n}"],
        "event_time": at(minute),
        "planned_arrival": PLANNED.isoformat(),
        "estimated_arrival": eta(30),
    }
    base.update(fields)
    return factories.shipment(**base)


def phase_one() -> list[ParkEvent]:
    jam = [ship(n, n) for n in range(1, 5)]
    shortfall = [
        factories.capacity(event_time=at(0)),  # CN-QD-SCODA 8704: actual 100, maximum 130
        factories.order(order_id="PO-1", quantity=60, event_time=at(1)),
        factories.order(order_id="PO-2", quantity=60, event_time=at(2)),
    ]
    drop_park = {"source_park": "KZ-ALA-IPA", "park_id": "KZ-ALA-IPA", "category": "8703"}
    drop = [
        factories.capacity(
            **drop_park, actual_capacity=200, maximum_capacity=200, event_time=at(0)
        ),
        factories.capacity(
            **drop_park, actual_capacity=100, maximum_capacity=100, event_time=at(5)
        ),
    ]
    return jam + shortfall + drop


def phase_two(first: list[ParkEvent]) -> list[ParkEvent]:
    drop_park = {"source_park": "KZ-ALA-IPA", "park_id": "KZ-ALA-IPA", "category": "8703"}
    return [
        first[0],  # the same event again: changes nothing
        ship(3, 0, estimated_arrival=eta(5)),  # late and older than SH-3's delay: ignored
        ship(1, 60, status="DELIVERED"),
        ship(2, 61, estimated_arrival=eta(10)),  # ETA corrected
        factories.order(order_id="PO-2", quantity=60, status="CANCELLED", event_time=at(62)),
        factories.capacity(
            **drop_park, actual_capacity=150, maximum_capacity=150, event_time=at(63)
        ),
    ]


PHASE_ONE: dict[str, list[Transition]] = {
    **{f"SHIPMENT_DELAY|SH-{n}": [("FIRING", "WARNING", 1, 1)] for n in range(1, 5)},
    CONGESTION: [("FIRING", "WARNING", 3, 3), ("FIRING", "WARNING", 4, 4)],
    SHORTFALL: [("FIRING", "WARNING", 2, 0)],
    DROP: [("FIRING", "WARNING", 0, 0)],
}
PHASE_TWO: dict[str, list[Transition]] = {
    "SHIPMENT_DELAY|SH-1": [("RESOLVED", "WARNING", 1, 1)],
    "SHIPMENT_DELAY|SH-2": [("RESOLVED", "WARNING", 1, 1)],
    CONGESTION: [("FIRING", "WARNING", 3, 3), ("RESOLVED", "WARNING", 3, 3)],
    SHORTFALL: [("RESOLVED", "WARNING", 2, 0)],
    DROP: [("RESOLVED", "WARNING", 0, 0)],
}


def merged(*phases: dict[str, list[Transition]]) -> dict[str, list[Transition]]:
    out: dict[str, list[Transition]] = defaultdict(list)
    for phase in phases:
        for key, seq in phase.items():
            out[key] += seq
    return dict(out)


def transitions(alerts: list[DisruptionAlert]) -> dict[str, list[Transition]]:
    """Each alert's transitions in the order the topic holds them (one alert id lives in one
    partition, so that order is the emission order)."""
    out: dict[str, list[Transition]] = defaultdict(list)
    for a in alerts:
        out[a.alert_id].append(
            (a.status.value, a.severity.value, len(a.impacted_orders), len(a.impacted_shipments))
        )
    return dict(out)


def count(expected: dict[str, list[Transition]]) -> int:
    return sum(len(v) for v in expected.values())


def settle_and_check(
    network: Network, expected: dict[str, list[Transition]]
) -> list[DisruptionAlert]:
    network.wait_for(
        lambda: len(network.alerts()) >= count(expected), f"{count(expected)} transitions"
    )
    # Anything extra (a duplicate) is out before the records it came from are committed.
    network.wait_for(network.caught_up, "the detector group to commit all it reads")
    alerts = network.alerts()
    assert transitions(alerts) == expected, [
        (a.alert_id, a.status.value, len(a.impacted_shipments), a.updated_at.isoformat())
        for a in alerts
        if a.type == "CORRIDOR_CONGESTION"
    ]
    return alerts


def test_scenario_gives_exactly_the_expected_transitions(network: Network) -> None:
    worker = network.start()
    first = phase_one()
    network.publish(*first)
    alerts = settle_and_check(network, PHASE_ONE)
    short = next(a for a in alerts if a.alert_id == SHORTFALL)
    assert short.impacted_orders == ["PO-1", "PO-2"]
    assert short.parks == ["CN-QD-SCODA", "KZ-ALA-IPA"]
    jam = [a for a in alerts if a.alert_id == CONGESTION][-1]
    assert jam.impacted_shipments == ["SH-1", "SH-2", "SH-3", "SH-4"]
    assert jam.corridor == CORRIDOR

    network.publish(*phase_two(first))
    settle_and_check(network, merged(PHASE_ONE, PHASE_TWO))

    metrics = httpx.get(f"{worker.url}/metrics").text
    assert 'parklink_detector_events_in_total{topic="shipments"} 8.0' in metrics
    assert (
        'parklink_detector_alerts_out_total{severity="WARNING",status="FIRING",'
        'type="CORRIDOR_CONGESTION"} 3.0' in metrics
    )
    assert 'parklink_detector_table_size{table="alerts"} 7.0' in metrics
    assert "parklink_detector_process_seconds_bucket" in metrics
    # The group's lag per topic partition, from the broker: the shipments topic is read to
    # its end once the transitions have settled (the worker commits on its timer).
    shipments = network.topic("shipments")

    def shipments_lag() -> bool:
        text = httpx.get(f"{worker.url}/metrics").text
        found = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(f'parklink_consumer_lag{{group="{network.group}"')
            and f'topic="{shipments}"' in line
        ]
        return bool(found) and set(found) == {0.0}

    network.wait_for(shipments_lag, "the detector's lag on the shipments topic to be 0")


def test_sigkill_and_restart_neither_loses_nor_repeats_a_transition(network: Network) -> None:
    network.env["PARKLINK_DETECTOR_SESSION_TIMEOUT_SECONDS"] = "6"
    worker = network.start()
    first = phase_one()
    network.publish(*first)
    network.wait_for(lambda: len(network.alerts()) >= 2, "the first transitions")
    network.kill(worker)  # mid-phase: some transitions out, some not
    network.start()
    settle_and_check(network, PHASE_ONE)
    network.kill(network.workers[-1])
    network.start()  # tables come back from the changelogs (and the alerts topic)
    network.publish(*phase_two(first))
    settle_and_check(network, merged(PHASE_ONE, PHASE_TWO))


def test_two_workers_share_the_partitions_and_give_the_same_alerts(network: Network) -> None:
    network.env["PARKLINK_DETECTOR_SESSION_TIMEOUT_SECONDS"] = "6"
    one, two = network.start(), network.start()
    calm = [
        ship(100 + n, n, estimated_arrival=eta(1), source_park="KZ-KHR-ICBC") for n in range(40)
    ]
    first = phase_one()
    network.publish(*calm, *first)
    settle_and_check(network, PHASE_ONE)
    network.publish(*phase_two(first))
    settle_and_check(network, merged(PHASE_ONE, PHASE_TWO))
    seen = []
    for worker in (one, two):
        text = httpx.get(f"{worker.url}/metrics").text
        line = next(
            (
                x
                for x in text.splitlines()
                if x.startswith('parklink_detector_events_in_total{topic="shipments"}')
            ),
            None,
        )
        seen.append(0.0 if line is None else float(line.rsplit(" ", 1)[1]))
    assert all(n > 0 for n in seen), seen  # both workers read shipments
    assert sum(seen) >= 40 + 8


def test_two_detectors_with_their_own_group_and_prefix_work_side_by_side(
    network: Network, kafka_bootstrap: str, registry_url: str, tmp_path: Path
) -> None:
    """Two ParkLink networks on one broker (as `parklink up` next to another detector): each
    detector gives exactly its own transitions, before and after the other one starts."""
    first = phase_one()
    network.start()
    network.publish(*first)
    settle_and_check(network, PHASE_ONE)

    prefix = f"t{uuid.uuid4().hex[:10]}."
    apply_catalog(load_catalog(), kafka_bootstrap.split(","), prefix)
    (tmp_path / "other").mkdir()
    other = Network(kafka_bootstrap, prefix, registry_url, tmp_path / "other")
    try:
        # faust reads this bare variable (and would switch to transactional producers); only
        # PARKLINK_* settings may configure a detector.
        other.start(PROCESSING_GUARANTEE="exactly_once")
        other_first = phase_one()
        other.publish(*other_first)
        settle_and_check(other, PHASE_ONE)
        network.publish(*phase_two(first))
        other.publish(*phase_two(other_first))
        settle_and_check(network, merged(PHASE_ONE, PHASE_TWO))
        settle_and_check(other, merged(PHASE_ONE, PHASE_TWO))
        logs = "".join(w.log.read_text() for w in (*network.workers, *other.workers))
        assert "ProducerFenced" not in logs
    finally:
        other.close()
        client = admin(kafka_bootstrap.split(","))
        try:
            client.delete_topics([t for t in client.list_topics() if t.startswith(prefix)])
        finally:
            client.close()
