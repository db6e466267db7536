"""All the stages in one process with dicts for state: the detector without Kafka. Unit tests
and the bench's baseline drive it; the faust app runs the same stages across topics."""

from __future__ import annotations

from datetime import datetime

from parklink.detector.rules.emit import transition
from parklink.detector.stages import Stages
from parklink.detector.state import (
    AlertState,
    CorridorState,
    OrderEntity,
    ParkActivity,
    ShipmentEntity,
    Week,
    WeekMessage,
    millis,
)
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import (
    CapacityEvent,
    DisruptionAlert,
    OrderEvent,
    ParkEvent,
    ShipmentEvent,
)


class Engine:
    def __init__(self, limits: Thresholds) -> None:
        self.stages = Stages(limits)
        self.orders: dict[str, OrderEntity] = {}
        self.shipments: dict[str, ShipmentEntity] = {}
        self.weeks: dict[str, Week] = {}
        self.corridors: dict[str, CorridorState] = {}
        self.parks: dict[str, ParkActivity] = {}
        self.alerts: dict[str, DisruptionAlert] = {}

    def process(
        self, event: ParkEvent, now: datetime, published: datetime | None = None
    ) -> list[DisruptionAlert]:
        """Feed one event; `published` is its Kafka timestamp (defaults to `now`)."""
        at = millis(now)
        desired: list[AlertState] = []
        if isinstance(event, OrderEvent):
            self.orders[event.order_id], messages = self.stages.order(
                self.orders.get(event.order_id), event
            )
            for bucket, msg in messages:
                desired += self._week(bucket, msg, at)
        elif isinstance(event, CapacityEvent):
            bucket, msg = self.stages.capacity(event)
            desired += self._week(bucket, msg, at)
        elif isinstance(event, ShipmentEvent):
            entity, views = self.stages.shipment(self.shipments.get(event.shipment_id), event, at)
            self.shipments[event.shipment_id] = entity
            for corridor, view in views:
                self.corridors[corridor], found = self.stages.corridor(
                    self.corridors.get(corridor), corridor, view, at
                )
                desired += found
        park = event.source_park
        self.parks[park], found = self.stages.park_seen(
            self.parks.get(park),
            park,
            millis(published or now),
            event.event_id,
            0,
            at,
        )
        return self._emit(desired + found)

    def tick(self, now: datetime) -> list[DisruptionAlert]:
        desired: list[AlertState] = []
        for park, state in list(self.parks.items()):
            self.parks[park], found = self.stages.park_tick(state, millis(now))
            desired += found
        return self._emit(desired)

    def _week(self, bucket: str, msg: WeekMessage, at: int) -> list[AlertState]:
        self.weeks[bucket], _, found = self.stages.week(self.weeks.get(bucket), bucket, msg, at)
        return found

    def _emit(self, desired: list[AlertState]) -> list[DisruptionAlert]:
        out: list[DisruptionAlert] = []
        for state in desired:
            alert = transition(self.alerts.get(state.alert_id), state)
            if alert is not None:
                self.alerts[alert.alert_id] = alert
                out.append(alert)
        return out

    def firing(self) -> dict[str, DisruptionAlert]:
        return {k: a for k, a in self.alerts.items() if a.status.value == "FIRING"}
