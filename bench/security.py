"""What authentication and encryption cost: the raw kafka-python producer (ParkLink's
defaults, acks=all, idempotent, 500-byte values), the gateway (HTTP batches of orders, 202
after acks=all) and the SDK (validate + encode + produce of order dicts), each over SASL_SSL
(SCRAM-SHA-512, TLS) and over the plain listener of the same broker, in the same run; the
ratios are the figures to watch."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kafka.admin import NewTopic

from bench import gateway, publisher
from bench.harness import BenchContext, Row, free_port_pair, start_registry, tree_cpu_seconds
from bench.producer import RECORDS, SIZE, kafka_python_rate
from parklink.eventkit import bus
from parklink.eventkit.bus import ClientSecurity
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.runner import ephemeral_kafka

PLAIN = ClientSecurity(protocol="PLAINTEXT")
GATEWAY_REQUESTS = 120
SDK_EVENTS = 30_000


Run = Callable[[], float]


def _cpu_of(count: int, run: Run, cpu: Callable[[], float]) -> Callable[[], tuple[float, float]]:
    """`run` (giving a rate) as (rate, CPU µs per event of what `cpu` reads)."""

    def measured() -> tuple[float, float]:
        before = cpu()
        rate = run()
        return rate, (cpu() - before) / count * 1e6

    return measured


def _gateway_run(gw: gateway.Gateway, events: int) -> Callable[[], tuple[float, float]]:
    return _cpu_of(
        events,
        lambda: gateway.load(gw.url, gw.token, GATEWAY_REQUESTS)[0],
        lambda: tree_cpu_seconds(gw.pid),
    )


def _compare(
    what: str,
    unit: str,
    note: str,
    secured: Callable[[], tuple[float, float]],
    plain: Callable[[], tuple[float, float]],
    cpu_of: str,
) -> list[Row]:
    """Alternate twice and keep each side's best rate and CPU, so that neither side always
    runs on a warmer (or busier) machine; the CPU per event is the steadier figure on a
    shared machine."""
    s_rate = p_rate = 0.0
    s_cpu = p_cpu = float("inf")
    for _ in range(2):
        rate, cpu = secured()
        s_rate, s_cpu = max(s_rate, rate), min(s_cpu, cpu)
        rate, cpu = plain()
        p_rate, p_cpu = max(p_rate, rate), min(p_cpu, cpu)
    return [
        Row("security", f"{what} over SASL_SSL (SCRAM-SHA-512)", s_rate, unit, note),
        Row("security", f"{what} over PLAINTEXT, same broker", p_rate, unit, note),
        Row("security", f"{what}: SASL_SSL / PLAINTEXT", s_rate / p_rate, "ratio", "1.0 = free"),
        Row("security", f"{what} CPU over SASL_SSL", s_cpu, "µs/event", cpu_of),
        Row("security", f"{what} CPU over PLAINTEXT", p_cpu, "µs/event", cpu_of),
        Row(
            "security",
            f"{what}: PLAINTEXT / SASL_SSL, by CPU",
            p_cpu / s_cpu,
            "ratio",
            "1.0 = free",
        ),
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
            here = "this process, all threads"
            note = f"kafka-python, acks=all, {SIZE}-byte values, 6 partitions, {records} records"
            rows += _compare(
                "producer",
                "rec/s",
                note,
                _cpu_of(
                    records,
                    lambda: kafka_python_rate(secured_ctx, "bench.sasl-ssl", records),
                    time.process_time,
                ),
                _cpu_of(
                    records,
                    lambda: kafka_python_rate(plain_ctx, "bench.plain", records, security=PLAIN),
                    time.process_time,
                ),
                here,
            )

            # The registry is only asked for schema ids once per client: it stays on TLS.
            registry_url = start_registry(secured_ctx)
            prefix = f"bench.sec{uuid.uuid4().hex[:6]}."
            apply_catalog(load_catalog(), secured_ctx.servers, prefix)
            secured_gw = gateway.start_gateway(secured_ctx, registry_url, prefix)
            plain_gw = gateway.start_gateway(
                plain_ctx, registry_url, prefix, PARKLINK_KAFKA_SECURITY_PROTOCOL="PLAINTEXT"
            )
            note = (
                f"{GATEWAY_REQUESTS} requests x {gateway.BATCH} OrderEvents, "
                f"{gateway.CLIENTS} connections, acks=all"
            )
            events = GATEWAY_REQUESTS * gateway.BATCH
            rows += _compare(
                "gateway",
                "events/s",
                note,
                _gateway_run(secured_gw, events),
                _gateway_run(plain_gw, events),
                "the gateway process",
            )

            docs = publisher.order_docs(SDK_EVENTS)
            note = f"{SDK_EVENTS:,} OrderEvents (dicts) in chunks of {publisher.CHUNK}, acks=all"
            rows += _compare(
                "SDK",
                "events/s",
                note,
                _cpu_of(
                    SDK_EVENTS,
                    lambda: publisher.sdk_rate(secured_ctx, registry_url, prefix, docs),
                    time.process_time,
                ),
                _cpu_of(
                    SDK_EVENTS,
                    lambda: publisher.sdk_rate(plain_ctx, registry_url, prefix, docs, PLAIN),
                    time.process_time,
                ),
                here,
            )
        finally:
            plain_ctx.close()
            secured_ctx.close()
    return rows
