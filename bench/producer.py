"""The raw producer ceiling on the local broker: kafka-python with ParkLink's producer
defaults (acks=all, idempotent) sending pre-encoded 500-byte values, next to Kafka's own
ProducerPerformance tool on the same broker in the same run (the physical limit here)."""

from __future__ import annotations

import os
import re
import subprocess
import time

from kafka.admin import NewTopic

from bench.harness import BenchContext, Row, lib_version
from parklink.eventkit import bus, credentials
from parklink.eventkit.bus import ClientSecurity
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.kafkalocal.runner import LocalKafka

RECORDS = 200_000
SIZE = 500


def _topic(ctx: BenchContext, name: str) -> str:
    client = bus.admin(ctx.servers)
    try:
        client.create_topics([NewTopic(name, 6, 1)])
    finally:
        client.close()
    return name


def kafka_python_rate(
    ctx: BenchContext,
    topic: str,
    records: int = RECORDS,
    security: ClientSecurity | None = None,
) -> float:
    value = os.urandom(SIZE)
    producer = bus.producer(ctx.servers, security=security, linger_ms=10)
    try:
        for i in range(2000):  # warm up connections and metadata
            producer.send(topic, key=str(i).encode(), value=value)
        producer.flush()
        start = time.perf_counter()
        for i in range(records):
            producer.send(topic, key=str(i % 1000).encode(), value=value)
        producer.flush()
        return records / (time.perf_counter() - start)
    finally:
        producer.close()


def _java_client_config(ctx: BenchContext) -> str:
    """The Java client's login (SASL/SCRAM over TLS, as bus.py's clients) in a 0600 file, so
    the password is not on the command line."""
    security = bus.client_security()
    path = ctx.workdir / "producer-performance.properties"
    lines = [f"bootstrap.servers={ctx.bootstrap}"]
    if security.secured and security.password is not None:
        secret = security.password.get_secret_value()
        lines += [
            "security.protocol=SASL_SSL",
            f"sasl.mechanism={security.mechanism}",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{security.username}" password="{secret}";',
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={security.ca_file}",
        ]
    credentials.write_secret(path, "\n".join(lines) + "\n")
    return str(path)


def producer_performance(ctx: BenchContext, topic: str) -> tuple[float, str]:
    kafka = LocalKafka(KafkaLocalSettings())
    libs = kafka.ensure_jars()
    cmd = [
        "java",
        "-Xmx512m",
        "-cp",
        f"{libs}/*",
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(RECORDS * 2),
        "--record-size",
        str(SIZE),
        "--throughput",
        "-1",
        "--producer.config",
        _java_client_config(ctx),
        "--producer-props",
        "acks=all",
        "enable.idempotence=true",
        "linger.ms=10",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    final = out.strip().splitlines()[-1]
    match = re.search(r"([\d.]+) records/sec", final)
    if not match:
        raise RuntimeError(f"unexpected ProducerPerformance output: {final}")
    return float(match.group(1)), final.split("(")[-1].rstrip(")") if "(" in final else ""


def run(ctx: BenchContext) -> list[Row]:
    kp = kafka_python_rate(ctx, _topic(ctx, "bench.raw-kafka-python"))
    pp, _ = producer_performance(ctx, _topic(ctx, "bench.producer-performance"))
    note = f"acks=all, {SIZE}-byte values, 6 partitions"
    return [
        Row(
            "producer",
            "kafka-python, pre-encoded",
            kp,
            "rec/s",
            f"kafka-python {lib_version('kafka-python')}, crc32c {lib_version('crc32c')}; {note}",
        ),
        Row("producer", "Kafka ProducerPerformance (Java)", pp, "rec/s", f"physical limit; {note}"),
    ]
