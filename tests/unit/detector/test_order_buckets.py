"""Which weeks an order update is sent to: its own, and each week it left until the record
that moved it out is committed (then that week has had the news)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import factories

from parklink.detector.events import of_model
from parklink.detector.rules.orders import apply_order
from parklink.detector.state import OrderEntity
from parklink.eventkit.contracts import OrderEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DUE = {"A": "2026-12-09", "B": "2026-12-16", "C": "2026-12-23"}
BUCKET = {"A": "8704|2026-12-07", "B": "8704|2026-12-14", "C": "8704|2026-12-21"}


def update(minute: int, week: str) -> OrderEvent:
    return factories.order(
        order_id="PO-1",
        due_date=DUE[week],
        event_time=(NOW + timedelta(minutes=minute)).isoformat(),
    )


def sent_to(messages: Sequence[tuple[str, object]]) -> set[str]:
    return {bucket for bucket, _ in messages}


def test_a_left_week_is_told_until_the_move_is_committed() -> None:
    entity, _ = apply_order(None, of_model(update(0, "A")), offset=10, committed=None)
    entity, out = apply_order(entity, of_model(update(1, "B")), offset=11, committed=None)
    assert sent_to(out) == {BUCKET["A"], BUCKET["B"]}
    # Offset 11 moved it out of A; while 11 is not committed A keeps hearing of it.
    entity, out = apply_order(entity, of_model(update(2, "B")), offset=12, committed=11)
    assert sent_to(out) == {BUCKET["A"], BUCKET["B"]}
    entity, out = apply_order(entity, of_model(update(3, "B")), offset=13, committed=12)
    assert sent_to(out) == {BUCKET["B"]}
    assert entity.buckets == (BUCKET["B"],) and entity.left_at == {}


def test_a_replay_with_the_order_already_moved_on_still_tells_every_week_it_left() -> None:
    # Records 11 (to B) and 12 (to C) were processed and the order's table entry went
    # through, the worker died before committing: the replay from 11 finds the order in C.
    entity, _ = apply_order(None, of_model(update(0, "A")), offset=10, committed=None)
    entity, _ = apply_order(entity, of_model(update(1, "B")), offset=11, committed=11)
    restored, _ = apply_order(entity, of_model(update(2, "C")), offset=12, committed=11)
    _, out = apply_order(restored, of_model(update(1, "B")), offset=11, committed=11)
    assert sent_to(out) == {BUCKET["A"], BUCKET["B"], BUCKET["C"]}


def test_coming_back_to_a_week_makes_it_the_current_one_again() -> None:
    entity, _ = apply_order(None, of_model(update(0, "A")), offset=10, committed=None)
    entity, _ = apply_order(entity, of_model(update(1, "B")), offset=11, committed=None)
    entity, out = apply_order(entity, of_model(update(2, "A")), offset=12, committed=12)
    assert sent_to(out) == {BUCKET["A"], BUCKET["B"]}  # record 12 is what tells B
    entity, out = apply_order(entity, of_model(update(3, "A")), offset=13, committed=13)
    assert sent_to(out) == {BUCKET["A"]}
    assert entity.latest.bucket == BUCKET["A"] and entity.left_at == {}


def test_without_offsets_every_week_ever_left_is_kept() -> None:
    entity: OrderEntity | None = None
    for minute, week in enumerate("ABC"):
        entity, out = apply_order(entity, of_model(update(minute, week)))
    assert sent_to(out) == set(BUCKET.values())
