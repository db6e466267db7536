"""Webhook signatures and the retry schedule. Pure logic.

A delivery is POSTed with `X-ParkLink-Signature: sha256=<hex>`, the HMAC-SHA256 under the
subscription's secret of `<X-ParkLink-Timestamp>.<raw body>`; signing the timestamp lets a
receiver reject replays of an old delivery."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-ParkLink-Signature"
TIMESTAMP_HEADER = "X-ParkLink-Timestamp"
DELIVERY_HEADER = "X-ParkLink-Delivery"
EVENT_HEADER = "X-ParkLink-Event"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def signed_headers(
    secret: str, delivery_id: str, event: str, body: bytes, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }


def retry_delay(attempts_done: int, base_s: float, cap_s: float, jitter: float) -> float:
    """Seconds to wait after the `attempts_done`-th failed attempt: base, 2·base, 4·base …
    up to `cap_s`, of which a random share is taken off (`jitter` in [0, 1] takes off up to
    half), so deliveries that failed together (a receiver that was down) do not all come back
    at the same moment."""
    step = min(cap_s, base_s * 2 ** min(64, max(0, attempts_done - 1)))
    return float(step * (1.0 - 0.5 * min(1.0, max(0.0, jitter))))


def next_attempt_in(
    attempts_done: int, max_attempts: int, base_s: float, cap_s: float, jitter: float
) -> float | None:
    """When to try again after a failure, or None when the delivery has failed for good."""
    if attempts_done >= max_attempts:
        return None
    return retry_delay(attempts_done, base_s, cap_s, jitter)
