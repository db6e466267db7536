"""The shipments benchmark's verdict rows: a peer that ends with another firing set is a
FAILED row, never folded into the figures."""

from __future__ import annotations

from bench.peers.backlog import Fired
from bench.shipments import Outcome, _agreement_rows, _group_rows, _ratio_rows

EXPECTED: set[Fired] = {
    ("SHIPMENT_DELAY", "SHP-00001", "WARNING"),
    ("CORRIDOR_CONGESTION", "KHR-ALA-ROAD", "CRITICAL"),
}


def outcome(peer: str, fired: set[Fired] | None, seconds: float = 10.0) -> Outcome:
    return Outcome(peer, seconds, 5.0, 0.5, fired, "test")


def test_agreeing_peers_give_one_row() -> None:
    rows = _agreement_rows(EXPECTED, [outcome("ParkLink", set(EXPECTED)), outcome("raw", None)])
    assert [(r.metric, r.value, r.unit) for r in rows] == [
        ("final firing sets equal to the reference", 1.0, "of 1")
    ]


def test_a_differing_peer_is_a_failed_row_naming_what_differs() -> None:
    wrong = {("SHIPMENT_DELAY", "SHP-00001", "CRITICAL")}
    rows = _agreement_rows(EXPECTED, [outcome("ParkLink", set(EXPECTED)), outcome("Quix", wrong)])
    assert rows[0].value == 1.0
    assert "differ: Quix" in rows[0].note
    assert len(rows) == 2
    failed = rows[1]
    assert failed.metric == "FAILED Quix firing set differs"
    assert failed.value == 3.0  # two missing, one extra
    assert "2 missing" in failed.note
    assert "1 extra" in failed.note


def test_ratios_are_parklink_over_each_peer() -> None:
    rows = _ratio_rows(
        {
            "ParkLink": outcome("ParkLink", None, seconds=20.0),
            "Quix": outcome("Quix", None, seconds=10.0),
        }
    )
    assert [(r.metric, r.value) for r in rows] == [("ParkLink/Quix events/s", 0.5)]


def test_two_workers_agree_with_one_only_on_the_same_firing_set() -> None:
    same = _group_rows(
        {"ParkLink": outcome("ParkLink", set(EXPECTED)), "ParkLink x2": outcome("x2", EXPECTED)}
    )
    assert [(r.metric, r.value) for r in same] == [
        ("2 workers in one group: same final firing set as 1", 1.0)
    ]
    fewer = {("SHIPMENT_DELAY", "SHP-00001", "WARNING")}
    differ = _group_rows(
        {"ParkLink": outcome("ParkLink", set(EXPECTED)), "ParkLink x2": outcome("x2", fewer)}
    )
    assert differ[0].metric.startswith("FAILED")
    assert differ[0].value == 0.0
    assert "1 differ" in differ[0].note
    assert _group_rows({"ParkLink": outcome("ParkLink", set(EXPECTED))}) == []
