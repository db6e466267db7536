"""`parklink dlq list` / `parklink dlq replay`: look at the dead-letter topic and, once the
cause of a dead letter is fixed (a schema registered again, a bound raised, a park's software
repaired), put its records back on the park topic they came from.

A dead letter is the original key and value bytes, with headers naming the topic, partition
and offset it came from and the reason (`docs/architecture.md`, "How failures are survived").
Replaying is safe to repeat: the detector takes a repeated `event_id` as a repeat."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from parklink.eventkit.errors import ParkLinkError

if TYPE_CHECKING:
    from parklink.eventkit.settings import Settings

PARK_ROLES = ("orders", "shipments", "capacity")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    topic: str
    partition: int | None
    source_offset: int | None
    reason: str
    message: str

    def view(self) -> dict[str, Any]:
        return {
            "dlq_offset": self.offset,
            "dead_lettered_at": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(),
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.source_offset,
            "reason": self.reason,
            "message": self.message,
            "key": None if self.key is None else self.key.decode("utf-8", "replace"),
            "bytes": 0 if self.value is None else len(self.value),
        }


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO 8601 instant (UTC when no offset is given) or an age such as
    `30m`, `6h`, `7d`."""
    found = _DURATION.match(text.strip())
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ParkLinkError(
            f"--since {text!r}: give an ISO 8601 time (2026-12-01T08:00) or an age (30m, 6h, 7d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _header(headers: list[tuple[str, bytes]], name: str) -> str:
    for key, value in headers or ():
        if key == name:
            return value.decode("utf-8", "replace")
    return ""


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def dead_letter(record: Any) -> DeadLetter:
    headers = record.headers or []
    return DeadLetter(
        offset=record.offset,
        timestamp_ms=record.timestamp,
        key=record.key,
        value=record.value,
        topic=_header(headers, "topic"),
        partition=_int_or_none(_header(headers, "partition")),
        source_offset=_int_or_none(_header(headers, "offset")),
        reason=_header(headers, "error") or "unknown",
        message=_header(headers, "error_message"),
    )


def read_dead_letters(servers: list[str], topic: str) -> Iterator[DeadLetter]:
    """Every record on the DLQ topic up to its end offsets when the read began."""
    from kafka import TopicPartition

    from parklink.eventkit.bus import consumer

    kafka = consumer(servers, group_id=None, enable_auto_commit=False)
    try:
        partitions = kafka.partitions_for_topic(topic)
        if not partitions:
            raise ParkLinkError(f"topic {topic!r} does not exist (see `parklink topics apply`)")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        kafka.assign(assigned)
        kafka.seek_to_beginning(*assigned)
        ends = kafka.end_offsets(assigned)
        left = {tp for tp in assigned if ends[tp] > kafka.position(tp)}
        while left:
            for tp, records in kafka.poll(timeout_ms=1000).items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield dead_letter(record)
                if kafka.position(tp) >= ends[tp]:
                    left.discard(tp)
    finally:
        kafka.close()


def chosen(
    letters: Iterator[DeadLetter], reason: str | None, since: datetime | None
) -> Iterator[DeadLetter]:
    since_ms = None if since is None else int(since.timestamp() * 1000)
    for letter in letters:
        if reason is not None and letter.reason != reason:
            continue
        if since_ms is not None and letter.timestamp_ms < since_ms:
            continue
        yield letter


def register(subparsers: Any) -> None:
    dlq = subparsers.add_parser(
        "dlq",
        help="show and re-inject dead-lettered records",
        description="The dead-letter topic (catalog role `dlq`, with PARKLINK_TOPIC_PREFIX) holds "
        "records the detector could not take, with the reason. `list` shows them; `replay` "
        "puts them back on the park topic they came from once the cause is fixed.",
    )
    verbs = dlq.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name, help_text, handler in (
        ("list", "print the dead letters, one per line", _list),
        ("replay", "re-inject dead letters into the park topic they came from", _replay),
    ):
        verb = verbs.add_parser(name, help=help_text, description=help_text)
        verb.add_argument("--reason", metavar="R", help="only dead letters with reason R")
        verb.add_argument(
            "--since", metavar="T", help="only those dead-lettered since T (ISO time or 30m/6h/7d)"
        )
        verb.set_defaults(handler=handler)
        if name == "list":
            verb.add_argument("--json", action="store_true", help="JSON lines instead of a table")
        else:
            verb.add_argument(
                "--dry-run", action="store_true", help="say what would be replayed, send nothing"
            )


def _selection(args: argparse.Namespace) -> tuple[Settings, Iterator[DeadLetter]]:
    from parklink.eventkit.catalog import load_catalog
    from parklink.eventkit.settings import Settings, load_settings

    settings = load_settings(Settings)
    since = None if args.since is None else parse_since(args.since, datetime.now(UTC))
    topic = load_catalog()["dlq"].topic(settings.topic_prefix)
    letters = read_dead_letters(settings.bootstrap_servers, topic)
    return settings, chosen(letters, args.reason, since)


def _list(args: argparse.Namespace) -> int:
    _, letters = _selection(args)
    count = 0
    for letter in letters:
        count += 1
        view = letter.view()
        if args.json:
            sys.stdout.write(json.dumps(view, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(
                f"{view['dlq_offset']:>8}  {view['dead_lettered_at'][:19]}  {letter.reason:<22} "
                f"{letter.topic}[{letter.partition}]@{letter.source_offset}  key={view['key']}  "
                f"{letter.message[:120]}\n"
            )
    print(f"{count} dead letter(s)", file=sys.stderr)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    from parklink.eventkit.bus import producer
    from parklink.eventkit.catalog import load_catalog

    settings, letters = _selection(args)
    catalog = load_catalog()
    park_topics = {catalog[role].topic(settings.topic_prefix) for role in PARK_ROLES}
    kafka = None if args.dry_run else producer(settings.bootstrap_servers)
    replayed = refused = 0
    sends: list[Any] = []
    try:
        for letter in letters:
            if letter.topic not in park_topics or letter.value is None:
                # Only park records go back, and only to the topic they came from: a dead
                # letter's headers are data, and must not choose where the replay writes.
                refused += 1
                print(
                    f"not replayed: dlq offset {letter.offset} came from {letter.topic!r}, "
                    "not a park topic",
                    file=sys.stderr,
                )
                continue
            replayed += 1
            if kafka is not None:
                sends.append(
                    kafka.send(
                        letter.topic,
                        key=letter.key,
                        value=letter.value,
                        headers=[("replayed-from-dlq-offset", str(letter.offset).encode())],
                    )
                )
            if replayed % 1000 == 0:
                print(f"... {replayed} replayed", file=sys.stderr)
        if kafka is not None:
            kafka.flush(timeout=60)
        failed = sum(1 for send in sends if send.failed() or not send.succeeded())
        if failed:
            raise ParkLinkError(
                f"{failed} of {replayed} replayed record(s) were not acknowledged by Kafka; "
                "the others were: run the same replay again (repeats change nothing)"
            )
    except KafkaError as exc:
        raise ParkLinkError(f"replay stopped after {replayed} record(s): {exc}") from exc
    finally:
        if kafka is not None:
            kafka.close(timeout=10)
    verb = "would replay" if args.dry_run else "replayed"
    print(f"{verb} {replayed} dead letter(s); {refused} not from a park topic", file=sys.stderr)
    return 0
