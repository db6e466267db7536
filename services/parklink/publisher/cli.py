"""What `parklink publish --kind K FILE.jsonl` does (its flags are in `parklink.cli.publish`:
anything under `parklink.publisher` loads the SDK): publish a park's events from a JSON-lines
file, straight to Kafka through the SDK (default) or through the HTTP gateway. Every line is
validated on its own: a bad line is reported with its number and the good ones still go.
Through the gateway, a batch answered 429 or 503 (or not answered) is sent again after the
Retry-After the gateway asks for, a bounded number of times; an acknowledged batch is never
sent again. The last line says what was published, refused and left unpublished."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol

import httpx

from parklink.cli.publish import RETRIES
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import PARK_ID_PATTERN, ParkEvent, now_utc
from parklink.eventkit.errors import DeliveryFailed, EventRejected, ForeignPark, ParkLinkError
from parklink.eventkit.settings import Settings, load_settings
from parklink.eventkit.validation import admit, validate_one
from parklink.publisher.progress import Progress
from parklink.publisher.sdk import Publisher

MAX_WAIT_S = 60.0
"""The longest pause between two attempts, whatever Retry-After asks for."""

Numbered = list[tuple[int, ParkEvent]]
"""Events with the line numbers they came from."""


@dataclass
class Tally:
    ok: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    """Lines refused for what they say: sending them again changes nothing."""
    left: list[tuple[int, str]] = field(default_factory=list)
    """Lines not published for now (Kafka or the gateway unavailable): send them again."""


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


def parse_line(kind: str, text: str, park: str | None, bounds: TimeBounds) -> ParkEvent:
    """One line as a validated event; with `park` (direct mode) also one the park may publish
    now. EventRejected / ForeignPark otherwise."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise EventRejected(f"not JSON: {exc}", []) from exc
    if park is not None:
        return admit(kind, [doc], park, now_utc(), bounds)[0]
    return validate_one(kind, doc)


def line_problem(exc: EventRejected | ForeignPark) -> str:
    if not exc.details or exc.details[0].get("index") is None:
        return str(exc)
    shown = [f"{d['path'] or '(event)'}: {d['message']}" for d in exc.details[:5]]
    return "; ".join(shown) + (" …" if len(exc.details) > 5 else "")


class Sender(Protocol):
    def send(self, chunk: Numbered, tally: Tally) -> bool:
        """Send one chunk, counting each line in `tally`; False when nothing more should be
        tried (the lines of later chunks are then left unpublished)."""
        ...

    def close(self) -> None: ...


class DirectSender:
    """Through the SDK; flushes after each chunk, so every line's fate is known."""

    def __init__(self, park: str, settings: Settings) -> None:
        self._publisher = Publisher(
            settings.bootstrap_servers,
            settings.registry_url,
            park,
            settings.topic_prefix,
            time_bounds=TimeBounds.from_settings(settings),
        )

    def send(self, chunk: Numbered, tally: Tally) -> bool:
        lines = {event.event_id: number for number, event in chunk}
        try:
            self._publisher.publish_many([event for _, event in chunk])
            tally.ok += self._publisher.flush()
        except DeliveryFailed as exc:
            failed = set(exc.failed) or set(lines)
            tally.ok += len(lines) - len(failed)
            tally.left.extend((lines[i], f"not delivered: {exc}") for i in failed if i in lines)
        return True

    def close(self) -> None:
        self._publisher.close()


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class GatewaySender:
    """Through the gateway's HTTP API, one request per chunk. A 429 or 503 took nothing, and
    a request that got no answer may or may not have been taken: both are sent again, after
    the Retry-After the gateway asked for (or 1, 2, 4 ... s), at most `retries` more times
    (a repeat is harmless: the network drops an event_id it has seen). A chunk still not
    taken then is left unpublished, and so is everything after it."""

    def __init__(
        self,
        url: str,
        token: str,
        kind: str,
        retries: int = RETRIES,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = f"{url.rstrip('/')}/v1/events/{kind}"
        self._http = httpx.Client(
            timeout=60, headers={"Authorization": f"Bearer {token}"}, transport=transport
        )
        self._retries = retries
        self._sleep = sleep

    def send(self, chunk: Numbered, tally: Tally) -> bool:
        body = [event.to_json() for _, event in chunk]
        for attempt in range(self._retries + 1):
            try:
                resp = self._http.post(self._url, json=body)
            except httpx.HTTPError as exc:
                problem, wait = f"gateway unreachable: {type(exc).__name__}: {exc}", None
            else:
                if resp.status_code == 202:
                    tally.ok += int(resp.json()["accepted"])
                    return True
                message = _error_message(resp)
                if resp.status_code not in (429, 503):
                    tally.rejected.extend(
                        (n, f"gateway refused the batch: {message}") for n, _ in chunk
                    )
                    return True
                problem = f"gateway answered {message}"
                wait = retry_after_s(resp.headers.get("Retry-After"))
            if attempt < self._retries:
                self._sleep(min(MAX_WAIT_S, 2.0**attempt if wait is None else wait))
        tally.left.extend(
            (n, f"{problem}; still not taken after {self._retries + 1} attempts") for n, _ in chunk
        )
        return False

    def close(self) -> None:
        self._http.close()


def _error_message(resp: httpx.Response) -> str:
    try:
        error = resp.json()["error"]
        return f"{resp.status_code} {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{resp.status_code} {resp.text[:200]}"


def _sender(args: argparse.Namespace, settings: Settings) -> tuple[Sender, str | None]:
    if args.gateway:
        if not args.token:
            raise ParkLinkError("--gateway needs --token (a park token)")
        return GatewaySender(args.gateway, args.token, args.kind, args.retries), None
    if not args.park:
        raise ParkLinkError("publishing straight to Kafka needs --park ID (the publishing park)")
    if not re.fullmatch(PARK_ID_PATTERN, args.park):
        raise ParkLinkError(f"{args.park!r} is not a park id (like CN-QD-SCODA)")
    return DirectSender(args.park, settings), args.park


def publish(args: argparse.Namespace) -> int:
    if args.batch < 1:
        raise ParkLinkError("--batch must be at least 1")
    if args.retries < 0:
        raise ParkLinkError("--retries must be 0 or more")
    if not args.file.is_file():
        raise ParkLinkError(f"{args.file} is not a file")
    settings = load_settings(Settings)
    bounds = TimeBounds.from_settings(settings)
    total = sum(1 for _ in numbered_lines(args.file))
    sender, park = _sender(args, settings)
    progress = Progress(total)
    tally = Tally()
    chunk: Numbered = []
    done = 0
    going = True

    def flush_chunk() -> None:
        nonlocal going
        refused, left = len(tally.rejected), len(tally.left)
        if going:
            going = sender.send(chunk, tally)
        else:
            tally.left.extend((n, "not sent: an earlier batch was not taken") for n, _ in chunk)
        for number, problem in tally.rejected[refused:] + tally.left[left:]:
            progress.say(f"line {number}: {problem}")
        chunk.clear()

    try:
        for number, text in numbered_lines(args.file):
            done += 1
            try:
                chunk.append((number, parse_line(args.kind, text, park, bounds)))
            except (EventRejected, ForeignPark) as exc:
                tally.rejected.append((number, line_problem(exc)))
                progress.say(f"line {number}: {line_problem(exc)}")
            if len(chunk) >= args.batch:
                flush_chunk()
            progress.update(done, tally.ok, len(tally.rejected) + len(tally.left))
        if chunk:
            flush_chunk()
        progress.update(done, tally.ok, len(tally.rejected) + len(tally.left), force=True)
    finally:
        progress.finish()
        sender.close()
    print(summary(args.kind, tally, total, args.file))
    return 1 if tally.rejected or tally.left else 0


def summary(kind: str, tally: Tally, total: int, path: Path) -> str:
    line = (
        f"{kind}: {tally.ok} published, {len(tally.rejected)} refused, "
        f"{len(tally.left)} left unpublished of {total} lines in {path}"
    )
    if tally.left:
        numbers = sorted(n for n, _ in tally.left)
        shown = ", ".join(str(n) for n in numbers[:20]) + (" …" if len(numbers) > 20 else "")
        line += f"; publish the lines left again later (lines {shown})"
    return line
