"""Waiting out a registry that cannot answer: the pauses, the log of an outage, stopping."""

from __future__ import annotations

import logging

import pytest

from parklink.eventkit.retry import Backoff, Outage, Stopping, once_the_registry_answers
from parklink.eventkit.serde import RegistryUnavailable, UnknownSchemaId


def upper(low: float, high: float) -> float:
    return high


def test_pauses_double_up_to_the_longest_and_are_jittered_in_the_upper_half() -> None:
    bounds: list[tuple[float, float]] = []

    def draw(low: float, high: float) -> float:
        bounds.append((low, high))
        return low

    backoff = Backoff(0.5, 3.0, draw)
    pauses = [backoff.pause() for _ in range(5)]
    assert bounds == [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (1.5, 3.0)]
    assert pauses == [0.25, 0.5, 1.0, 1.5, 1.5]
    with pytest.raises(ValueError, match="first <= longest"):
        Backoff(2.0, 1.0)


class Flaky:
    """Raises RegistryUnavailable `times` times, then returns `value` (or raises `then`)."""

    def __init__(self, times: int, value: str = "decoded", then: Exception | None = None):
        self.left, self.value, self.then, self.calls = times, value, then, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.left > 0:
            self.left -= 1
            raise RegistryUnavailable("connection refused")
        if self.then is not None:
            raise self.then
        return self.value


def test_a_record_is_decoded_once_the_registry_answers_and_the_outage_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    changes: list[bool] = []
    outage = Outage("the relay", logging.getLogger("test.retry"), changes.append)
    waited: list[float] = []

    def wait(seconds: float) -> bool:
        waited.append(seconds)
        return False

    decode = Flaky(4)
    with caplog.at_level(logging.INFO, logger="test.retry"):
        got = once_the_registry_answers(decode, outage, wait, lambda: Backoff(1.0, 4.0, upper))
        again = once_the_registry_answers(Flaky(0, "next"), outage, wait)
    assert (got, again) == ("decoded", "next")
    assert decode.calls == 5 and waited == [1.0, 2.0, 4.0, 4.0]
    assert changes == [True, False]
    assert not outage.active and outage.problem is None
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "waits for the schema registry" in messages[0] and "connection refused" in messages[0]
    assert "answered again after" in messages[1] and "(4 tries)" in messages[1]


def test_while_out_the_outage_says_why() -> None:
    outage = Outage("subscribe", logging.getLogger("test.retry"))
    seen: list[str | None] = []

    def wait(_seconds: float) -> bool:
        seen.append(outage.problem)
        return False

    once_the_registry_answers(Flaky(1), outage, wait, lambda: Backoff(1.0, 1.0, upper))
    assert outage.active is False
    assert seen == ["connection refused"]


def test_an_unknown_schema_id_is_final_and_reaches_the_caller() -> None:
    outage = Outage("subscribe", logging.getLogger("test.retry"))
    decode = Flaky(2, then=UnknownSchemaId("schema id 9 unknown to the registry"))
    with pytest.raises(UnknownSchemaId):
        once_the_registry_answers(decode, outage, lambda _s: False)
    assert decode.calls == 3


def test_a_stop_while_waiting_leaves_the_record_unhandled() -> None:
    outage = Outage("the relay", logging.getLogger("test.retry"))
    decode = Flaky(100)
    with pytest.raises(Stopping):
        once_the_registry_answers(decode, outage, lambda _s: True)
    assert decode.calls == 1 and outage.active
