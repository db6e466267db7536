"""What `parklink subscribe TOPIC` does (its flags are in `parklink.cli.subscribe`): decoded
events of a topic as JSON lines, for integrators and for looking at what flows."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from parklink.eventkit.bus import consumer
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.retry import Outage, once_the_registry_answers, sleeping
from parklink.eventkit.serde import GenericDeserializer, SerdeError
from parklink.eventkit.settings import Settings, load_settings

log = logging.getLogger(__name__)


def resolve_topic(name: str, prefix: str) -> str:
    catalog = load_catalog()
    if name in catalog.topics:
        return catalog[name].topic(prefix)
    return name


def to_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def _records(kafka: KafkaConsumer, between: Callable[[], None]) -> Iterator[Any]:
    """The records as they come; `between()` runs before each fetch after the first."""
    while True:
        for batch in kafka.poll(timeout_ms=500).values():
            yield from batch
        between()


class Handled:
    """The next offset to read of each partition, past the records already printed or
    skipped: what a consumer group may commit (never a record still to come)."""

    def __init__(self, kafka: KafkaConsumer, group: bool) -> None:
        self._kafka, self._group = kafka, group
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def done(self, record: Any) -> None:
        self._next[TopicPartition(record.topic, record.partition)] = record.offset + 1

    def commit(self) -> None:
        fresh = {tp: n for tp, n in self._next.items() if self._committed.get(tp) != n}
        if not self._group or not fresh:
            return
        try:
            self._kafka.commit({tp: OffsetAndMetadata(n, "", -1) for tp, n in fresh.items()})
        except KafkaError as exc:  # e.g. the group moved on during a long registry outage
            log.warning("could not commit group offsets (records may be printed again): %s", exc)
            return
        self._committed.update(fresh)


def _open(servers: list[str], topic: str, args: argparse.Namespace) -> KafkaConsumer:
    reset = "earliest" if args.from_beginning else "latest"
    if args.group:
        return consumer(servers, topic, group_id=args.group, auto_offset_reset=reset)
    kafka = consumer(servers, group_id=None, auto_offset_reset=reset)
    partitions = kafka.partitions_for_topic(topic)
    if not partitions:
        kafka.close()
        raise ParkLinkError(f"topic {topic!r} does not exist (see `parklink topics apply`)")
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    kafka.assign(assigned)
    if args.from_beginning:
        kafka.seek_to_beginning(*assigned)
    else:
        kafka.seek_to_end(*assigned)
    return kafka


def subscribe(args: argparse.Namespace) -> int:
    if args.max is not None and args.max < 1:
        raise ParkLinkError("--max must be at least 1")
    settings = load_settings(Settings)
    topic = resolve_topic(args.topic, settings.topic_prefix)
    registry = RegistryClient(settings.registry_url)
    decoder = GenericDeserializer(registry)
    kafka = _open(settings.bootstrap_servers, topic, args)
    handled = Handled(kafka, group=bool(args.group))
    outage = Outage("parklink subscribe", log)
    wait = sleeping()
    seen = 0
    try:
        for record in _records(kafka, handled.commit):
            seen += 1
            try:
                event = once_the_registry_answers(
                    lambda: decoder.deserialize(record.value),  # noqa: B023  (called at once)
                    outage,
                    wait,
                )
            except SerdeError as exc:
                print(
                    f"skipped {record.topic}[{record.partition}]@{record.offset}: {exc}",
                    file=sys.stderr,
                )
            else:
                sys.stdout.write(json.dumps(event, default=to_json, ensure_ascii=False) + "\n")
                sys.stdout.flush()
            handled.done(record)
            if args.max is not None and seen >= args.max:
                break
    except KeyboardInterrupt:
        pass
    finally:
        try:
            handled.commit()
        finally:
            kafka.close()
            registry.close()
    return 0
