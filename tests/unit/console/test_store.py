from datetime import UTC, datetime, timedelta
from pathlib import Path

from unit.console.samples import T0, alert, resolved

from parklink.console.query import parse_query
from parklink.console.store import AlertStore, Incoming

TOPIC = "alliance.alerts.v1"


def _store(path: Path) -> AlertStore:
    return AlertStore.open(f"sqlite:///{path}")


def _records(*alerts: object, partition: int = 0) -> list[Incoming]:
    return [Incoming(a, partition, i) for i, a in enumerate(alerts)]  # type: ignore[arg-type]


def test_firing_then_resolved_keeps_history_and_replays_add_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path / "c.db")
    firing = alert()
    worse = alert(severity="CRITICAL", updated_at=T0 + timedelta(hours=2))
    done = resolved(worse)
    recs = _records(firing, worse, done)
    first = store.apply(TOPIC, recs, datetime.now(UTC))
    assert [a.new_transition for a in first] == [True, True, True]
    replay = store.apply(TOPIC, recs, datetime.now(UTC))
    assert not any(a.new_transition for a in replay)
    view = store.get_alert(firing.alert_id, datetime.now(UTC))
    assert view is not None
    assert view["status"] == "RESOLVED"
    assert [(h["status"], h["severity"]) for h in view["history"]] == [
        ("FIRING", "WARNING"),
        ("FIRING", "CRITICAL"),
        ("RESOLVED", "CRITICAL"),
    ]
    assert store.next_offsets(TOPIC) == {0: 3}


def test_a_late_older_state_goes_to_history_but_not_current(tmp_path: Path) -> None:
    store = _store(tmp_path / "c.db")
    firing = alert()
    done = resolved(firing)
    applied = store.apply(TOPIC, _records(done, firing), datetime.now(UTC))
    assert [a.current for a in applied] == [True, False]
    assert not applied[1].pushed
    view = store.get_alert(firing.alert_id, datetime.now(UTC))
    assert view is not None and view["status"] == "RESOLVED"
    assert len(view["history"]) == 2


def test_rebuilding_from_the_same_records_gives_the_same_current_state(tmp_path: Path) -> None:
    recs = _records(
        alert(),
        alert(subject="SH-2", corridor=None, parks=["UZ-TAS-NAVOI"]),
        resolved(alert()),
        alert(type="PARK_SILENT", subject="PK-ISB-SEZ", severity="CRITICAL", corridor=None),
    )
    now = datetime.now(UTC)
    states = []
    for name in ("a.db", "b.db"):
        store = _store(tmp_path / name)
        store.apply(TOPIC, recs, now)
        items, _, _total = store.list_alerts(parse_query(limit=100), now)
        states.append(items)
        store.close()
    assert states[0] == states[1]
    assert len(states[0]) == 3


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = _store(path)
    store.apply(TOPIC, _records(alert()), datetime.now(UTC))
    store.close()
    again = _store(path)
    assert again.alert_view("SHIPMENT_DELAY|SH-1", datetime.now(UTC)) is not None
