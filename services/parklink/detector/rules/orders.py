"""Orders, keyed by order_id: keep each order's latest state and pass it on to its weekly
bucket (`category|week`) and to the buckets it left, so those stop counting it.

A bucket the order left is told again at every update until the record that moved the order
out of it is committed: the producer is flushed before every commit, so from then on the
news has reached it. Before that a crash replays the record, and the restored order may
already have moved on (its table write went through, the week message did not): keeping the
bucket in the list is what re-sends it."""

from __future__ import annotations

from parklink.detector.events import OrderRecord
from parklink.detector.state import OrderEntity, OrderView


def apply_order(
    entity: OrderEntity | None,
    event: OrderRecord,
    offset: int | None = None,
    committed: int | None = None,
) -> tuple[OrderEntity, list[tuple[str, OrderView]]]:
    """The order's new state and the (bucket, view) messages for the weekly stage. `offset`
    is the record's offset and `committed` its partition's committed offset (without them
    every bucket the order has left is kept).

    An event that is not newer than what is known (a repeat or a late older event) changes
    nothing; the current state is passed on again, which the weekly stage ignores unless a
    previous delivery of it was lost (e.g. the worker died before it was sent)."""
    view = OrderView.of(event)
    if entity is None:
        entity = OrderEntity(latest=view, buckets=(view.bucket,))
    elif view.version > entity.latest.version:
        buckets = entity.buckets
        if view.bucket not in buckets:
            buckets = (*buckets, view.bucket)
        entity = OrderEntity(latest=view, buckets=buckets, left_at=entity.left_at)
    entity = _settle(entity, offset, committed)
    return entity, [(bucket, entity.latest) for bucket in entity.buckets]


def _settle(entity: OrderEntity, offset: int | None, committed: int | None) -> OrderEntity:
    """Note the offset that first tells a bucket the order left it; drop the buckets whose
    news is committed."""
    if offset is None:
        return entity
    current = entity.latest.bucket
    left: dict[str, int] = {}
    for bucket in entity.buckets:
        if bucket != current:
            at = entity.left_at.get(bucket, offset)
            if committed is None or at >= committed:
                left[bucket] = at
    if left == entity.left_at and len(left) + 1 == len(entity.buckets):
        return entity
    buckets = tuple(b for b in entity.buckets if b == current or b in left)
    return OrderEntity(latest=entity.latest, buckets=buckets, left_at=left)
