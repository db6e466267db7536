"""Named disruptions the simulator injects, on a schedule or on demand. Each one writes the
events that make the detector's disruption rules (docs/architecture.md) fire for real: delays
past 24 h on one corridor, a capacity declaration below 70 % of the previous one for a week
with open orders, orders beyond a supplier's declared capacity, a park that stops publishing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from parklink.eventkit.contracts import (
    AlertType,
    Checkpoint,
    OrderEvent,
    OrderStatus,
    ShipmentEvent,
    ShipmentStatus,
)
from parklink.eventkit.errors import ParkLinkError
from parklink.simulator.geography import CORRIDORS_BY_ID, PARKS, PARKS_BY_ID, Product
from parklink.simulator.world import HOUR, Emission, Injection, World, monday

JAM_DELAYS_H = (40.0, 50.0, 60.0, 84.0, 100.0)  # final delay of each jammed shipment
JAM_ESCALATION_H = 12.0  # the customs hold adds this much to every estimate
OUTAGE_FACTOR = 0.3  # capacity left during an outage (below 40 %: CRITICAL drop)
OUTAGE_HOURS = 72.0
SURGE_FACTOR = 1.25  # demand as a multiple of the supplier's maximum capacity


@dataclass(frozen=True)
class ScenarioOptions:
    offline_s: float = 180.0  # wall-clock seconds a park stays silent in `park-offline`


@dataclass(frozen=True)
class ScenarioSpec:
    """`NAME`, `NAME@START` or `NAME@START/EVERY` (seconds of wall-clock time after the
    simulator starts)."""

    name: str
    start_s: float = 0.0
    every_s: float | None = None

    def __str__(self) -> str:
        text = f"{self.name}@{self.start_s:g}"
        return text + (f"/{self.every_s:g}" if self.every_s else "")


_SPEC = re.compile(
    r"^(?P<name>[a-z-]+)(?:@(?P<start>\d+(?:\.\d+)?))?(?:/(?P<every>\d+(?:\.\d+)?))?$"
)


def parse_spec(text: str) -> ScenarioSpec:
    match = _SPEC.match(text.strip())
    if not match or match["name"] not in SCENARIOS:
        raise ParkLinkError(
            f"unknown scenario {text!r}: use NAME, NAME@START or NAME@START/EVERY (seconds) "
            f"with NAME one of {', '.join(SCENARIOS)}"
        )
    every = float(match["every"]) if match["every"] else None
    if every is not None and every <= 0:
        raise ParkLinkError(f"scenario {text!r}: the repeat interval must be above 0 seconds")
    return ScenarioSpec(match["name"], float(match["start"] or 0), every)


Scenario = Callable[[World, datetime, int, ScenarioOptions], Injection]


def trigger(world: World, name: str, at: datetime, options: ScenarioOptions) -> Injection:
    """Inject scenario `name` at simulated time `at` (its first run uses a showcase target,
    later runs pick others from the scenario's own random stream)."""
    try:
        scenario = SCENARIOS[name]
    except KeyError as exc:
        raise ParkLinkError(f"unknown scenario {name!r} (one of {', '.join(SCENARIOS)})") from exc
    occurrence = world.occurrences.get(name, 0)
    world.occurrences[name] = occurrence + 1
    injection = scenario(world, at, occurrence, options)
    world.injections.append(injection)
    return injection


def schedule(world: World, spec: ScenarioSpec, options: ScenarioOptions) -> None:
    """Put `spec` on the world's timeline, repeating every `every_s` when set."""

    def fire(at: datetime) -> list[Emission]:
        trigger(world, spec.name, at, options)
        if spec.every_s:
            world.schedule(at + timedelta(seconds=spec.every_s * world.speed), fire)
        return []

    world.schedule(world.sim_time(spec.start_s), fire)


# -- border-jam -------------------------------------------------------------------------------
def border_jam(world: World, at: datetime, occurrence: int, options: ScenarioOptions) -> Injection:
    """Shipments of one corridor pile up at a border checkpoint: every estimate moves more
    than a day past plan (SHIPMENT_DELAY), enough of them at once to congest the corridor
    (CORRIDOR_CONGESTION); the jam clears and each arrives late and is delivered."""
    candidates = [c for c in CORRIDORS_BY_ID.values() if c.checkpoints]
    lane = (
        CORRIDORS_BY_ID["QD-KHR-ALA-RAIL"]
        if occurrence == 0
        else world.scenario_rng.choice(candidates)
    )
    cp = lane.checkpoints[0] if occurrence == 0 else world.scenario_rng.choice(lane.checkpoints)
    checkpoint = Checkpoint(name=cp.name, lat=cp.lat, lon=cp.lon)
    remaining = timedelta(hours=lane.transit_hours * (1 - cp.at))
    shipments = []
    last_delivery = at
    for i, delay_h in enumerate(JAM_DELAYS_H):
        shipment_id = world.new_id("SH")
        order_id = world.new_id("PO")
        shipments.append(shipment_id)
        planned = at + remaining + timedelta(hours=2 * i)
        fields = world.shipment_fields(lane, shipment_id, [order_id], planned)
        late = timedelta(hours=delay_h)
        first = timedelta(hours=delay_h - JAM_ESCALATION_H)
        step = timedelta(minutes=10 * i)

        eta = planned + late
        steps = (
            (at + step, ShipmentStatus.AT_BORDER, planned + first, checkpoint),
            (at + 6 * HOUR + step, ShipmentStatus.CUSTOMS_HOLD, eta, checkpoint),
            (eta - remaining, ShipmentStatus.IN_TRANSIT, eta, checkpoint),
            (eta, ShipmentStatus.ARRIVED, eta, None),
            (eta + 6 * HOUR, ShipmentStatus.DELIVERED, eta, None),
        )
        for when, status, estimate, where in steps:
            world.schedule_event(
                when,
                "shipments",
                ShipmentEvent,
                source_park=lane.origin if where is not None else lane.destination,
                status=status,
                estimated_arrival=estimate,
                checkpoint=where,
                **fields,
            )
        delivered = eta + 6 * HOUR
        last_delivery = max(last_delivery, delivered)
        product = PARKS_BY_ID[lane.origin].products[0]
        # The orders were placed before the network watched: only their fulfilment shows.
        world.schedule_event(
            delivered + HOUR,
            "orders",
            OrderEvent,
            source_park=lane.origin,
            order_id=order_id,
            status=OrderStatus.FULFILLED,
            buyer_park=lane.destination,
            supplier_park=lane.origin,
            sku=f"{product.sku}-{product.category}",
            category=product.category,
            quantity=product.lot,
            unit=product.unit,
            due_date=(planned + 24 * HOUR).date(),
        )
    worst = max(JAM_DELAYS_H)
    return Injection(
        "border-jam",
        at,
        lane.corridor_id,
        f"{len(shipments)} shipments on {lane.corridor_id} held at {cp.name}, "
        f"{min(JAM_DELAYS_H) - JAM_ESCALATION_H:g}-{worst:g} h late",
        (AlertType.SHIPMENT_DELAY, AlertType.CORRIDOR_CONGESTION),
        until=last_delivery,
    )


# -- capacity ---------------------------------------------------------------------------------
def _product(park_id: str, category: str) -> Product:
    return next(p for p in PARKS_BY_ID[park_id].products if p.category == category)


def _ensure_declared(
    world: World, at: datetime, park_id: str, category: str, week: date
) -> tuple[float, float | None]:
    """The latest declared (actual, maximum) for the key; declares a usual week first if the
    park has not declared that week yet (no declaration, no shortfall rule)."""
    key = f"{park_id}|{category}|{week.isoformat()}"
    if key in world.declared:
        return world.declared[key]
    actual, maximum, unit = world.baseline_declaration(park_id, category)
    world.declare(at, park_id, category, week, actual, maximum, unit)
    world.declared[key] = (actual, maximum)
    return actual, maximum


def _place_demand(
    world: World,
    at: datetime,
    park_id: str,
    product: Product,
    week: date,
    quantity: float,
    orders: int,
) -> list[str]:
    """`quantity` spread over `orders` new orders on `park_id`, due on the Wednesday of `week`,
    from the buyers at the other end of its lanes (shortest lanes first)."""
    lanes = world.lanes_from(park_id)
    due = week + timedelta(days=2)
    ids = []
    for i in range(orders):
        lane = lanes[i % len(lanes)]
        part = _qty(quantity / orders, product.unit)
        ids.append(
            world.place_order(at + timedelta(minutes=15 * (i + 1)), lane, product, part, due)
        )
    return ids


def _qty(value: float, unit: str) -> float:
    return float(int(value) + 1) if unit == "pcs" else round(value + 0.05, 1)


def capacity_outage(
    world: World, at: datetime, occurrence: int, options: ScenarioOptions
) -> Injection:
    """A park loses most of one category's capacity for next week: the re-declared capacity
    is 30 % of what it declared before (CAPACITY_DROP, CRITICAL) while that week's open
    orders stay above it (CAPACITY_SHORTFALL); after OUTAGE_HOURS it declares the old value."""
    if occurrence == 0:
        park_id, category = "CN-QD-SCODA", "8704"
    else:
        park = world.scenario_rng.choice(PARKS)
        park_id, category = park.park_id, world.scenario_rng.choice(park.products).category
    product = _product(park_id, category)
    week = monday(at + timedelta(days=7))
    before, _ = _ensure_declared(world, at, park_id, category, week)
    actual = _qty(before * OUTAGE_FACTOR, product.unit)
    maximum = _qty(before * OUTAGE_FACTOR * 1.5, product.unit)
    reason = "power outage at the main line; partial production on the backup line"
    world.declare(at + HOUR, park_id, category, week, actual, maximum, product.unit, reason)
    world.declared[f"{park_id}|{category}|{week.isoformat()}"] = (actual, maximum)
    wanted = maximum * 1.1  # open demand above the reduced maximum: a CRITICAL shortfall
    missing = wanted - world.open_demand(park_id, category, week)
    if missing > 0:
        _place_demand(world, at + HOUR, park_id, product, week, missing, 3)
    until = at + timedelta(hours=OUTAGE_HOURS)
    world.declare(
        until,
        park_id,
        category,
        week,
        before,
        _qty(before * 1.25, product.unit),
        product.unit,
        "production restored",
    )
    return Injection(
        "capacity-outage",
        at,
        f"{park_id}|{category}|{week.isoformat()}",
        f"{park_id} declares {actual:g} {product.unit} of {category} for the week of {week} "
        f"instead of {before:g}, with orders for more than that",
        (AlertType.CAPACITY_DROP, AlertType.CAPACITY_SHORTFALL),
        until=until,
    )


def demand_surge(
    world: World, at: datetime, occurrence: int, options: ScenarioOptions
) -> Injection:
    """Buyers pile orders on one supplier for the week after next, beyond even its maximum
    capacity (CAPACITY_SHORTFALL, CRITICAL); other parks of the category have spare capacity."""
    if occurrence == 0:
        park_id, category = "RU-NSK-TECH", "8501"
    else:
        park = world.scenario_rng.choice(PARKS)
        park_id, category = park.park_id, world.scenario_rng.choice(park.products).category
    product = _product(park_id, category)
    week = monday(at + timedelta(days=14))
    actual, maximum = _ensure_declared(world, at, park_id, category, week)
    ceiling = maximum if maximum is not None else 1.2 * actual
    missing = ceiling * SURGE_FACTOR - world.open_demand(park_id, category, week)
    orders = _place_demand(world, at, park_id, product, week, max(missing, product.lot), 6)
    return Injection(
        "demand-surge",
        at,
        f"{park_id}|{category}|{week.isoformat()}",
        f"{len(orders)} new orders for {category} on {park_id} due the week of {week}, "
        f"beyond its maximum of {ceiling:g} {product.unit}",
        (AlertType.CAPACITY_SHORTFALL,),
    )


# -- park-offline -----------------------------------------------------------------------------
def park_offline(
    world: World, at: datetime, occurrence: int, options: ScenarioOptions
) -> Injection:
    """A park's systems stop publishing for `offline_s` wall-clock seconds (PARK_SILENT once
    the detector's silence threshold passes); then it sends what it held back, late."""
    park_id = "UZ-TAS-NAVOI" if occurrence == 0 else world.scenario_rng.choice(PARKS).park_id
    until = at + timedelta(seconds=options.offline_s * world.speed)
    world.hold(park_id, at, until)
    return Injection(
        "park-offline",
        at,
        park_id,
        f"{park_id} stops publishing for {options.offline_s:g} s (wall clock)",
        (AlertType.PARK_SILENT,),
        until=until,
    )


SCENARIOS: dict[str, Scenario] = {
    "border-jam": border_jam,
    "capacity-outage": capacity_outage,
    "demand-surge": demand_surge,
    "park-offline": park_offline,
}

DEMO_MIX = (
    "park-offline@5/900",
    "border-jam@15/900",
    "capacity-outage@25/900",
    "demand-surge@40/900",
)
"""The default mix of `parklink up`: every type of alert within the first minutes, again every
15 minutes with other targets."""
