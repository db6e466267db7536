"""What authentication and encryption cost: kafka-python's producer (ParkLink's defaults,
acks=all, idempotent, 500-byte values) over SASL_SSL (SCRAM-SHA-512, TLS) and over the plain
listener of the same broker, in the same run; the ratio is the figure to watch."""

from __future__ import annotations

from pathlib import Path

from kafka.admin import NewTopic

from bench.harness import BenchContext, Row, free_port_pair
from bench.producer import RECORDS, SIZE, kafka_python_rate
from parklink.eventkit import bus
from parklink.eventkit.bus import ClientSecurity
from parklink.kafkalocal.runner import ephemeral_kafka


def run(ctx: BenchContext) -> list[Row]:
    """A broker of its own, with both listeners, so both rates meet the same broker."""
    records = RECORDS // 2
    state = Path(ctx.workdir) / "security-state"
    plain_port = free_port_pair()
    with ephemeral_kafka(state, free_port_pair(), plaintext_port=plain_port) as bootstrap:
        secured_ctx = BenchContext(bootstrap=bootstrap, workdir=ctx.workdir)
        plain_ctx = BenchContext(bootstrap=f"127.0.0.1:{plain_port}", workdir=ctx.workdir)
        client = bus.admin(secured_ctx.servers)
        try:
            client.create_topics([NewTopic(t, 6, 1) for t in ("bench.sasl-ssl", "bench.plain")])
        finally:
            client.close()
        # Alternate twice and keep each side's best, so that neither side always runs on a
        # warmer (or busier) machine.
        plain_login = ClientSecurity(protocol="PLAINTEXT")
        secured = plain = 0.0
        for _ in range(2):
            secured = max(secured, kafka_python_rate(secured_ctx, "bench.sasl-ssl", records))
            plain = max(
                plain, kafka_python_rate(plain_ctx, "bench.plain", records, security=plain_login)
            )
    note = f"kafka-python, acks=all, {SIZE}-byte values, 6 partitions, {records} records"
    return [
        Row("security", "producer over SASL_SSL (SCRAM-SHA-512)", secured, "rec/s", note),
        Row("security", "producer over PLAINTEXT, same broker", plain, "rec/s", note),
        Row("security", "SASL_SSL / PLAINTEXT", secured / plain, "ratio", "1.0 = free"),
    ]
