"""The faust internals the detector relies on (all in `parklink.detector.faustext`): a faust
release that changes them fails here, not silently in a worker."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from parklink.detector import faustext


def test_the_installed_faust_has_what_the_detector_relies_on() -> None:
    faustext.check()


def test_a_changed_producer_send_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    async def send(self: Any, topic: str, value: bytes, *, key: bytes | None = None) -> None:
        return None

    monkeypatch.setattr(faust_aiokafka.Producer, "send", send)
    with pytest.raises(faustext.FaustChanged, match=r"Producer\.send"):
        faustext.check()


def test_a_missing_consumer_method_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(faust_aiokafka.Consumer, "_to_message")
    with pytest.raises(faustext.FaustChanged, match="_to_message"):
        faustext.check()


def _app() -> faust.App:
    return faust.App("faustext-test", broker="kafka://127.0.0.1:1", autodiscover=False)


def test_acks_fill_the_gap_from_the_committed_offset_and_commit_past_the_batch() -> None:
    app = _app()
    faustext.batch_consumer(app, ["t"], lambda records, generation: None)  # type: ignore[arg-type,return-value]
    consumer: Any = app.consumer
    assert type(consumer).__name__ == "BatchConsumer"
    tp = TP("t", 0)
    consumer._committed_offset[tp] = 10
    faustext.ack(app, tp, 12, 20)  # 10 and 11 were compacted away or transaction markers
    faustext.ack(app, tp, 15, 20)  # a replayed part changes nothing
    assert consumer._new_offset(tp) == 21
    assert faustext.committed_offset(app, tp) == 10


def test_table_entries_are_dropped_with_their_partition() -> None:
    app = _app()
    table: Any = app.Table("t", partitions=2)
    faustext.table_set(table, "a", 1, 0)
    faustext.table_set(table, "b", 2, 1)
    # what faust does after a rebalance that took partition 1 away
    kept = {TP(table.changelog_topic.get_topic_name(), 0)}
    asyncio.run(table.data.on_recovery_completed(kept, set()))
    assert dict(table.data.items()) == {"a": 1}
