"""Per-park token buckets, counted in events. No I/O; the clock is passed in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    rate_per_s: float
    burst: int
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, key: str, amount: int, now: float) -> float:
        """Take `amount` tokens from `key`'s bucket: 0.0 when allowed, otherwise the seconds
        to wait until they will be there (nothing is taken then)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(
            float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate_per_s
        )
        bucket.stamp = now
        if amount <= bucket.tokens:
            bucket.tokens -= amount
            return 0.0
        return (amount - bucket.tokens) / self.rate_per_s
