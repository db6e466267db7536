"""What leaves the detector's tables, and when: closed entities (fulfilled or cancelled
orders, delivered or cancelled shipments, the calm shipments a corridor remembers, resolved
alerts) some time after they closed, open orders and shipments that had no update for the
idle retention (a delayed shipment's SHIPMENT_DELAY then resolves, saying why), and
category-weeks some time after the week ended. So memory and the changelogs (which get a
tombstone for each entry that leaves) level off instead of growing with every order ever
seen. Park activity is bounded by the parks that publish (one entry per park; only the
alliance's parks can write to the park topics) and stays.

Each stage sweeps the entries of one input partition at a time, by the broker time of that
partition's records (monotonic per partition; the detector's time, see eventkit/clock.py):
on the first batch of the partition after a start or a rebalance (so nothing a restart
restored lingers until a period later), then at most once per `sweep_seconds`.

Why a late record cannot bring a closed entity back: an entity leaves when its last event
is older than the retention, and the retention is never shorter than how old an event_time
may be when its record arrives (PARKLINK_EVENT_TIME_HORIZON_S plus the skew). A late copy
of any event up to the close arrives on the same partition, later by broker time, so the
admission rules refuse it as out of bounds (`rules/admission.py`). Only an event newer than
the close gets in, and that is news: it starts the entity afresh. The same holds for an idle
entity, whose last event is older than the idle retention. The alert stage, whose
resolved alerts leave by the wall clock, drops a conclusion stamped before the retention
(`stale`) for an alert it does not hold, so a replayed old conclusion never re-raises one.
docs/bounds.md ("State") says the same for operators."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from parklink.detector.rules.corridors import counted, delay_of
from parklink.detector.state import (
    AlertState,
    CorridorState,
    OrderEntity,
    OrderView,
    ShipmentEntity,
)
from parklink.eventkit.contracts import AlertStatus, DisruptionAlert

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Retention:
    """How long closed entities, idle open ones and past weeks stay, and how often a
    partition is swept (ms)."""

    closed_ms: int
    week_ms: int
    sweep_ms: int
    idle_ms: int

    def due(self, cache: dict[str, Any], partition: int, now: int) -> bool:
        """Whether the partition is to be swept at broker time `now` (and note it): on a
        stage's first batch of the partition after a start or a rebalance (the cache is
        new then), then once `sweep_ms` have passed."""
        swept: dict[int, int] = cache.setdefault("swept", {})
        last = swept.get(partition)
        if last is not None and (now < last or now - last < self.sweep_ms):
            return False
        swept[partition] = now
        return True

    def order_expired(self, entity: OrderEntity, now: int) -> bool:
        """A closed order (fulfilled, cancelled) past the retention, an open one without an
        update for the idle retention, or any order of a week that has left (see
        `week_expired`)."""
        latest = entity.latest
        if not latest.is_open and latest.event_time < now - self.closed_ms:
            return True
        if latest.event_time < now - self.idle_ms:
            return True
        return self.week_expired(latest.week, now)

    def shipment_expired(self, entity: ShipmentEntity, now: int) -> bool:
        """A finished shipment past the retention, or any without an update for the idle
        retention."""
        if entity.finished and entity.event_time < now - self.closed_ms:
            return True
        return entity.event_time < now - self.idle_ms

    def view_idle(self, view: OrderView, now: int) -> bool:
        """An order's view in a week that had no update for the idle retention (it leaves the
        week before the week leaves: a week due years ahead would keep it that long)."""
        return view.event_time < now - self.idle_ms

    def week_expired(self, week: str, now: int) -> bool:
        """A week (its Monday, ISO) that ended more than the week retention ago."""
        end = datetime.combine(date.fromisoformat(week) + timedelta(days=7), datetime.min.time())
        return int(end.replace(tzinfo=UTC).timestamp() * 1000) < now - self.week_ms

    def corridor_swept(self, state: CorridorState, now: int) -> CorridorState | None:
        """The corridor without the shipments it does not count whose last view is past the
        retention, and without the counted ones idle for the idle retention (see
        `idle_delays`); None when nothing is left."""
        old, idle = now - self.closed_ms, now - self.idle_ms
        keep = {
            sid: view
            for sid, view in state.shipments.items()
            if view.event_time >= (idle if counted(view, state.corridor) else old)
        }
        if not keep:
            return None
        if len(keep) == len(state.shipments):
            return state
        still = {sid: view for sid, view in keep.items() if counted(view, state.corridor)}
        return replace(state, shipments=keep, counted=still, congestion=None)

    def idle_delays(self, state: CorridorState, now: int) -> list[AlertState]:
        """The SHIPMENT_DELAY alerts of the delayed shipments `corridor_swept` lets go
        because they had no update for the idle retention, resolved with the reason (the
        alert stage passes on only those that were firing). Not stamped."""
        idle = now - self.idle_ms
        days = self.idle_ms / DAY_MS
        out: list[AlertState] = []
        for view in sorted(state.shipments.values(), key=lambda v: v.shipment_id):
            delay = delay_of(view)
            if not counted(view, state.corridor) or view.event_time >= idle or delay is None:
                continue
            out.append(
                replace(
                    delay,
                    severity=None,
                    summary=f"Shipment {view.shipment_id} had no update for {days:g} days: "
                    "it is no longer watched.",
                    parks=(),
                    impacted_orders=(),
                    impacted_shipments=(),
                    evidence=(),
                    metrics={},
                    at=now,
                )
            )
        return out

    def alert_expired(self, alert: DisruptionAlert, now: int) -> bool:
        if alert.status is not AlertStatus.RESOLVED or alert.resolved_at is None:
            return False
        return alert.resolved_at.timestamp() * 1000 < now - self.closed_ms

    def stale(self, at: int, now: int) -> bool:
        """A conclusion stamped before the retention (for an alert the stage no longer holds)."""
        return at < now - self.closed_ms
