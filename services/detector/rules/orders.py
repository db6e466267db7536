"""Orders, keyed by order_id: keep each order's latest state and pass it on to every weekly
bucket (`category|week`) it has been counted in, so a bucket it left stops counting it."""

from __future__ import annotations

from parklink.detector.state import OrderEntity, OrderView
from parklink.eventkit.contracts import OrderEvent


def apply_order(
    entity: OrderEntity | None, event: OrderEvent
) -> tuple[OrderEntity, list[tuple[str, OrderView]]]:
    """The order's new state and the (bucket, view) messages for the weekly stage.

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
        entity = OrderEntity(latest=view, buckets=buckets)
    return entity, [(bucket, entity.latest) for bucket in entity.buckets]
