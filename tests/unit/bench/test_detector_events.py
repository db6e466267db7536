"""The detector bench's events are ones the detector takes: its markers and each kind of its
mix obey the party rules and the contract, so the alerts the bench waits for can appear."""

from __future__ import annotations

from bench.detector import _event, _marker
from parklink.detector.engine import Engine
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.parties import party_problem


def test_every_kind_of_event_and_the_marker_speak_for_their_source_park() -> None:
    events = [_event(i) for i in range(10)] + [_marker(1)]
    assert [party_problem(e) for e in events] == [None] * len(events)


def test_a_marker_raises_a_delay_that_names_it() -> None:
    marker = _marker(7)
    alerts = Engine(Thresholds(), TimeBounds()).process(marker, marker.event_time)
    assert [(a.type, a.evidence) for a in alerts] == [("SHIPMENT_DELAY", [marker.event_id])]
