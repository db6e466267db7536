"""The three Kafka clients ParkLink and its users rely on all talk to the chosen broker
(Apache Kafka 4.1.1): kafka-python (services), aiokafka (under faust-streaming) and
confluent-kafka (integrators' standard client). Each reads what another wrote."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Consumer, Producer
from conftest import aiokafka_conf, confluent_conf

from parklink.eventkit import bus

pytestmark = pytest.mark.broker


def test_kafka_python_to_aiokafka_to_confluent(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    first, second = new_topic("compat-a"), new_topic("compat-b")

    producer = bus.producer(kafka_bootstrap.split(","))
    for i in range(10):
        producer.send(first, key=b"k", value=f"kp-{i}".encode())
    producer.flush()
    producer.close()

    async def relay() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            first,
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            group_id=f"g-{first}",
            **aiokafka_conf(),
        )
        out = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", **aiokafka_conf())
        await consumer.start()
        await out.start()
        seen: list[bytes] = []
        try:
            while len(seen) < 10:
                batch = await consumer.getmany(timeout_ms=10_000)
                if not batch:
                    break
                for records in batch.values():
                    for rec in records:
                        seen.append(rec.value)
                        await out.send_and_wait(second, rec.value.replace(b"kp", b"aio"), key=b"k")
        finally:
            await consumer.stop()
            await out.stop()
        return seen

    relayed = asyncio.run(relay())
    assert relayed == [f"kp-{i}".encode() for i in range(10)]

    consumer = Consumer(
        confluent_conf(
            kafka_bootstrap, **{"group.id": f"g-{second}", "auto.offset.reset": "earliest"}
        )
    )
    consumer.subscribe([second])
    got: list[bytes] = []
    try:
        for _ in range(40):
            msg = consumer.poll(0.5)
            value = msg.value() if msg is not None and msg.error() is None else None
            if value is not None:
                got.append(value)
            if len(got) == 10:
                break
    finally:
        consumer.close()
    assert got == [f"aio-{i}".encode() for i in range(10)]

    confluent = Producer(confluent_conf(kafka_bootstrap, acks="all"))
    confluent.produce(first, key=b"k", value=b"from-confluent")
    assert confluent.flush(10) == 0
    check = bus.consumer(
        kafka_bootstrap.split(","), first, group_id=f"g2-{first}", consumer_timeout_ms=5000
    )
    try:
        values = [m.value for m in check]
    finally:
        check.close()
    assert values[-1] == b"from-confluent" and len(values) == 11
