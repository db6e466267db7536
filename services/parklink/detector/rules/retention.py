"""What leaves the detector's tables, and when: closed entities (fulfilled or cancelled
orders, delivered or cancelled shipments, the calm shipments a corridor remembers, resolved
alerts) some time after they closed, and category-weeks some time after the week ended. So
memory and the changelogs (which get a tombstone for each entry that leaves) level off
instead of growing with every order ever seen.

Each stage sweeps the entries of one input partition at a time, by the broker time of that
partition's records (monotonic per partition), at most once per `sweep_seconds`.

Why a late record cannot bring a closed entity back: an entity leaves when its last event
is older than the retention, and the retention is never shorter than how old an event_time
may be when its record arrives (PARKLINK_EVENT_TIME_HORIZON_S plus the skew). A late copy
of any event up to the close arrives on the same partition, later by broker time, so the
admission rules refuse it as out of bounds (`rules/admission.py`). Only an event newer than
the close gets in, and that is news: it starts the entity afresh. The alert stage, whose
resolved alerts leave by the wall clock, drops a conclusion stamped before the retention
(`stale`) for an alert it does not hold, so a replayed old conclusion never re-raises one.
docs/bounds.md ("State") says the same for operators."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from parklink.detector.rules.corridors import counted
from parklink.detector.state import CorridorState, OrderEntity, ShipmentEntity
from parklink.eventkit.contracts import AlertStatus, DisruptionAlert

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Retention:
    """How long closed entities and past weeks stay, and how often a partition is swept (ms)."""

    closed_ms: int
    week_ms: int
    sweep_ms: int

    def due(self, cache: dict[str, Any], partition: int, now: int) -> bool:
        """Whether the partition is to be swept at broker time `now` (and note it). A stage's
        first batch after a start only notes the time: the sweep comes a period later."""
        swept: dict[int, int] = cache.setdefault("swept", {})
        last = swept.get(partition)
        if last is None or now < last:
            swept[partition] = now
            return False
        if now - last < self.sweep_ms:
            return False
        swept[partition] = now
        return True

    def order_expired(self, entity: OrderEntity, now: int) -> bool:
        """A closed order (fulfilled, cancelled) past the retention, or any order of a week
        that has left (see `week_expired`)."""
        latest = entity.latest
        if not latest.is_open and latest.event_time < now - self.closed_ms:
            return True
        return self.week_expired(latest.week, now)

    def shipment_expired(self, entity: ShipmentEntity, now: int) -> bool:
        return entity.finished and entity.event_time < now - self.closed_ms

    def week_expired(self, week: str, now: int) -> bool:
        """A week (its Monday, ISO) that ended more than the week retention ago."""
        end = datetime.combine(date.fromisoformat(week) + timedelta(days=7), datetime.min.time())
        return int(end.replace(tzinfo=UTC).timestamp() * 1000) < now - self.week_ms

    def corridor_swept(self, state: CorridorState, now: int) -> CorridorState | None:
        """The corridor without the shipments it does not count whose last view is past the
        retention; None when nothing is left."""
        old = now - self.closed_ms
        keep = {
            sid: view
            for sid, view in state.shipments.items()
            if counted(view, state.corridor) or view.event_time >= old
        }
        if not keep:
            return None
        if len(keep) == len(state.shipments):
            return state
        return replace(state, shipments=keep)

    def alert_expired(self, alert: DisruptionAlert, now: int) -> bool:
        if alert.status is not AlertStatus.RESOLVED or alert.resolved_at is None:
            return False
        return alert.resolved_at.timestamp() * 1000 < now - self.closed_ms

    def stale(self, at: int, now: int) -> bool:
        """A conclusion stamped before the retention (for an alert the stage no longer holds)."""
        return at < now - self.closed_ms
