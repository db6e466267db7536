"""What authentication and encryption cost: the raw kafka-python producer (ParkLink's
defaults, acks=all, idempotent, 500-byte values), the gateway (HTTP batches of orders, 202
after acks=all) and the SDK (validate + encode + produce of order dicts), each over SASL_SSL
(SCRAM-SHA-512, TLS) and over the plain listener of the same broker, in the same run; the
ratios are the figures to watch."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from kafka.admin import NewTopic

from bench import gateway, publisher
from bench.harness import BenchContext, Row, free_port_pair, start_registry
from bench.producer import RECORDS, SIZE, kafka_python_rate
from parklink.eventkit import bus
from parklink.eventkit.bus import ClientSecurity
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.runner import ephemeral_kafka

PLAIN = ClientSecurity(protocol="PLAINTEXT")
GATEWAY_REQUESTS = 120
SDK_EVENTS = 30_000


def _best_of_two(secured: Callable[[], float], plain: Callable[[], float]) -> tuple[float, float]:
    """Alternate twice and keep each side's best, so that neither side always runs on a warmer
    (or busier) machine."""
    best_secured = best_plain = 0.0
    for _ in range(2):
        best_secured = max(best_secured, secured())
        best_plain = max(best_plain, plain())
    return best_secured, best_plain


def _rows(what: str, secured: float, plain: float, unit: str, note: str) -> list[Row]:
    return [
        Row("security", f"{what} over SASL_SSL (SCRAM-SHA-512)", secured, unit, note),
        Row("security", f"{what} over PLAINTEXT, same broker", plain, unit, note),
        Row("security", f"{what}: SASL_SSL / PLAINTEXT", secured / plain, "ratio", "1.0 = free"),
    ]


def run(ctx: BenchContext) -> list[Row]:
    """A broker of its own, with both listeners, so both sides meet the same broker."""
    records = RECORDS // 2
    state = Path(ctx.workdir) / "security-state"
    plain_port = free_port_pair()
    rows: list[Row] = []
    with ephemeral_kafka(state, free_port_pair(), plaintext_port=plain_port) as bootstrap:
        secured_ctx = BenchContext(bootstrap=bootstrap, workdir=ctx.workdir)
        plain_ctx = BenchContext(bootstrap=f"127.0.0.1:{plain_port}", workdir=ctx.workdir)
        try:
            client = bus.admin(secured_ctx.servers)
            try:
                client.create_topics([NewTopic(t, 6, 1) for t in ("bench.sasl-ssl", "bench.plain")])
            finally:
                client.close()
            secured, plain = _best_of_two(
                lambda: kafka_python_rate(secured_ctx, "bench.sasl-ssl", records),
                lambda: kafka_python_rate(plain_ctx, "bench.plain", records, security=PLAIN),
            )
            note = f"kafka-python, acks=all, {SIZE}-byte values, 6 partitions, {records} records"
            rows += _rows("producer", secured, plain, "rec/s", note)

            # The registry is only asked for schema ids once per client: it stays on TLS.
            registry_url = start_registry(secured_ctx)
            prefix = f"bench.sec{uuid.uuid4().hex[:6]}."
            apply_catalog(load_catalog(), secured_ctx.servers, prefix)
            secured_gw = gateway.start_gateway(secured_ctx, registry_url, prefix)
            plain_gw = gateway.start_gateway(
                plain_ctx, registry_url, prefix, PARKLINK_KAFKA_SECURITY_PROTOCOL="PLAINTEXT"
            )
            secured, plain = _best_of_two(
                lambda: gateway.load(*secured_gw, GATEWAY_REQUESTS)[0],
                lambda: gateway.load(*plain_gw, GATEWAY_REQUESTS)[0],
            )
            note = (
                f"{GATEWAY_REQUESTS} requests x {gateway.BATCH} OrderEvents, "
                f"{gateway.CLIENTS} connections, acks=all"
            )
            rows += _rows("gateway", secured, plain, "events/s", note)

            docs = publisher.order_docs(SDK_EVENTS)
            secured, plain = _best_of_two(
                lambda: publisher.sdk_rate(secured_ctx, registry_url, prefix, docs),
                lambda: publisher.sdk_rate(plain_ctx, registry_url, prefix, docs, PLAIN),
            )
            note = f"{SDK_EVENTS:,} OrderEvents (dicts) in chunks of {publisher.CHUNK}, acks=all"
            rows += _rows("SDK", secured, plain, "events/s", note)
        finally:
            plain_ctx.close()
            secured_ctx.close()
    return rows
