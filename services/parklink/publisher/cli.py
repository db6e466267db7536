"""`parklink publish --kind K FILE.jsonl`: publish a park's events from a JSON-lines file,
straight to Kafka through the SDK (default) or through the HTTP gateway. Every line is
validated on its own: a bad line is reported with its number and the good ones still go."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from parklink.eventkit.contracts import PARK_ID_PATTERN, ParkEvent
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.settings import Settings, load_settings
from parklink.publisher.errors import DeliveryFailed, EventRejected, ForeignPark
from parklink.publisher.progress import Progress
from parklink.publisher.sdk import Publisher
from parklink.publisher.validation import KINDS, check_own_park, validate_one

CHUNK = 500

Numbered = list[tuple[int, ParkEvent]]
"""Events with the line numbers they came from."""


def register(subparsers: Any) -> None:
    pub = subparsers.add_parser(
        "publish",
        help="publish events from a JSON-lines file, with progress",
        description="Publishes one event per line of FILE (JSON objects of the given kind): "
        "directly to Kafka through the publisher SDK (the default; needs --park and uses "
        "PARKLINK_KAFKA_BOOTSTRAP, PARKLINK_REGISTRY_URL, PARKLINK_TOPIC_PREFIX), or through "
        "the HTTP gateway with --gateway URL --token T. A bad line is reported with its number "
        "and the good ones still go; the exit code is 1 if any line was rejected.",
    )
    pub.add_argument("--kind", required=True, choices=KINDS)
    pub.add_argument("file", type=Path, metavar="FILE.jsonl")
    pub.add_argument("--park", metavar="ID", help="the publishing park (direct mode)")
    mode = pub.add_mutually_exclusive_group()
    mode.add_argument("--direct", action="store_true", help="straight to Kafka (the default)")
    mode.add_argument("--gateway", metavar="URL", help="through the gateway at URL")
    pub.add_argument("--token", metavar="T", help="park token (with --gateway)")
    pub.add_argument(
        "--batch", type=int, default=CHUNK, metavar="N", help=f"events per batch ({CHUNK})"
    )
    pub.set_defaults(handler=_publish)


@dataclass
class Tally:
    ok: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def parse_line(kind: str, text: str, park: str | None) -> ParkEvent:
    """One line as a validated event of `park`; EventRejected / ForeignPark otherwise."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise EventRejected(f"not JSON: {exc}", []) from exc
    if park is not None:
        check_own_park(kind, [doc], park)
    return validate_one(kind, doc)


def line_problem(exc: EventRejected | ForeignPark) -> str:
    if not exc.details or exc.details[0].get("index") is None:
        return str(exc)
    shown = [f"{d['path'] or '(event)'}: {d['message']}" for d in exc.details[:5]]
    return "; ".join(shown) + (" …" if len(exc.details) > 5 else "")


class Sender(Protocol):
    def send(self, chunk: Numbered, tally: Tally) -> None: ...

    def close(self) -> None: ...


class DirectSender:
    """Through the SDK; flushes after each chunk, so every line's fate is known."""

    def __init__(self, park: str) -> None:
        settings = load_settings(Settings)
        self._publisher = Publisher(
            settings.bootstrap_servers, settings.registry_url, park, settings.topic_prefix
        )

    def send(self, chunk: Numbered, tally: Tally) -> None:
        lines = {event.event_id: number for number, event in chunk}
        try:
            self._publisher.publish_many([event for _, event in chunk])
            tally.ok += self._publisher.flush()
        except DeliveryFailed as exc:
            failed = set(exc.failed) or set(lines)
            tally.ok += len(lines) - len(failed)
            tally.rejected.extend((lines[i], f"not delivered: {exc}") for i in failed if i in lines)

    def close(self) -> None:
        self._publisher.close()


class GatewaySender:
    """Through the gateway's HTTP API, one request per chunk."""

    def __init__(self, url: str, token: str, kind: str) -> None:
        self._url = f"{url.rstrip('/')}/v1/events/{kind}"
        self._http = httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"})

    def send(self, chunk: Numbered, tally: Tally) -> None:
        body = [event.to_json() for _, event in chunk]
        try:
            resp = self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            tally.rejected.extend((n, f"gateway unreachable: {exc}") for n, _ in chunk)
            return
        if resp.status_code == 202:
            tally.ok += int(resp.json()["accepted"])
            return
        try:
            error = resp.json()["error"]
            message = f"{resp.status_code} {error['message']}"
        except (ValueError, KeyError, TypeError):
            message = f"{resp.status_code} {resp.text[:200]}"
        tally.rejected.extend((n, f"gateway refused the batch: {message}") for n, _ in chunk)

    def close(self) -> None:
        self._http.close()


def _sender(args: argparse.Namespace) -> tuple[Sender, str | None]:
    if args.gateway:
        if not args.token:
            raise ParkLinkError("--gateway needs --token (a park token)")
        return GatewaySender(args.gateway, args.token, args.kind), None
    if not args.park:
        raise ParkLinkError("publishing straight to Kafka needs --park ID (the publishing park)")
    if not re.fullmatch(PARK_ID_PATTERN, args.park):
        raise ParkLinkError(f"{args.park!r} is not a park id (like CN-QD-SCODA)")
    return DirectSender(args.park), args.park


def _publish(args: argparse.Namespace) -> int:
    if args.batch < 1:
        raise ParkLinkError("--batch must be at least 1")
    if not args.file.is_file():
        raise ParkLinkError(f"{args.file} is not a file")
    total = sum(1 for _ in numbered_lines(args.file))
    sender, park = _sender(args)
    progress = Progress(total)
    tally = Tally()
    chunk: Numbered = []
    done = 0

    def flush_chunk() -> None:
        reported = len(tally.rejected)
        sender.send(chunk, tally)
        for number, problem in tally.rejected[reported:]:
            progress.say(f"line {number}: {problem}")
        chunk.clear()

    try:
        for number, text in numbered_lines(args.file):
            done += 1
            try:
                chunk.append((number, parse_line(args.kind, text, park)))
            except (EventRejected, ForeignPark) as exc:
                tally.rejected.append((number, line_problem(exc)))
                progress.say(f"line {number}: {line_problem(exc)}")
            if len(chunk) >= args.batch:
                flush_chunk()
            progress.update(done, tally.ok, len(tally.rejected))
        if chunk:
            flush_chunk()
        progress.update(done, tally.ok, len(tally.rejected), force=True)
    finally:
        progress.finish()
        sender.close()
    bad = len(tally.rejected)
    print(f"{args.kind}: {tally.ok} accepted, {bad} rejected of {total} lines in {args.file}")
    return 1 if bad else 0
