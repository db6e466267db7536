"""The floor of the shipments benchmark: a plain consumer that reads the backlog and decodes
each Confluent-framed Avro value with fastavro (the writer's schema from the registry, by
id), and does nothing else. Offsets are committed every second, like the stream processors.

    python raw_consume.py BOOTSTRAP REGISTRY_URL TOPIC GROUP

Prints `first-record <epoch ms>` when the first record is read."""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import sys
import time
from typing import Any

import httpx
from confluent_kafka import Consumer
from fastavro import parse_schema, schemaless_reader

HEADER = struct.Struct(">bI")


def main(argv: list[str]) -> int:
    bootstrap, registry, topic, group = argv
    writers: dict[int, Any] = {}
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "auto.commit.interval.ms": 1000,
            # The bench broker's login (SASL_SSL), from the environment the bench gives.
            **json.loads(os.environ.get("PEER_KAFKA_CONFIG", "{}")),
        }
    )
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    consumer.subscribe([topic])
    first = True
    decoded = 0
    try:
        while running[0]:
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                if msg.error() is not None:
                    continue
                if first:
                    first = False
                    print(f"first-record {time.time_ns() // 1_000_000}", flush=True)
                value = msg.value()
                if value is None:
                    continue
                _, schema_id = HEADER.unpack_from(value)
                writer = writers.get(schema_id)
                if writer is None:
                    resp = httpx.get(f"{registry}/schemas/ids/{schema_id}", timeout=10)
                    writer = parse_schema(json.loads(resp.raise_for_status().json()["schema"]))
                    writers[schema_id] = writer
                schemaless_reader(io.BytesIO(value[HEADER.size :]), writer, None)
                decoded += 1
    finally:
        consumer.close()
        print(f"decoded {decoded}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
