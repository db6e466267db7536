from parklink.gateway.ratelimit import RateLimiter


def test_bucket_allows_burst_then_rate_and_says_how_long_to_wait() -> None:
    limiter = RateLimiter(rate_per_s=100, burst=1000)
    assert limiter.take("CN-QD-SCODA", 1000, now=0.0) == 0.0
    assert limiter.take("CN-QD-SCODA", 50, now=0.0) == 0.5
    assert limiter.take("KZ-ALA-IPA", 1000, now=0.0) == 0.0  # buckets are per park
    assert limiter.take("CN-QD-SCODA", 50, now=0.5) == 0.0
    assert limiter.take("CN-QD-SCODA", 2000, now=100.0) == 10.0  # full at 1000, never above
