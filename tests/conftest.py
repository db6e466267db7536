"""Fixtures shared by every tier. The broker tier gets a real Apache Kafka, started through the
same code as `parklink kafka up` (or the one at PARKLINK_KAFKA_BOOTSTRAP when set)."""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from parklink.eventkit.bus import admin
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.kafkalocal.runner import LocalKafka

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free_pair() -> int:
    """A base port whose next port is free too (broker + controller), below the ephemeral
    range so that no client connection takes it while the broker restarts."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000)
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", base))
                b.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
            return base
    raise RuntimeError("no two adjacent free ports on 127.0.0.1")


def broker_unavailable(reason: str) -> None:
    """Fail in CI (a broker tier that silently skips is a failure), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"broker tier cannot run: {reason}", pytrace=False)
    pytest.skip(f"broker tier cannot run: {reason}")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("PARKLINK_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    state = tmp_path_factory.mktemp("kafka-state")
    settings = KafkaLocalSettings(state_dir=state, kafka_base_port=_free_pair())
    kafka = LocalKafka(settings)
    try:
        bootstrap = kafka.up(1)
    except ParkLinkError as exc:
        broker_unavailable(str(exc))
    try:
        yield bootstrap
    finally:
        kafka.down(wipe=True)


@pytest.fixture
def topic_prefix(kafka_bootstrap: str) -> Iterator[str]:
    """A fresh prefix with every catalog topic created under it; deleted after the test."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    catalog = load_catalog()
    apply_catalog(catalog, kafka_bootstrap.split(","), prefix)
    yield prefix
    client = admin(kafka_bootstrap.split(","))
    try:
        names = [t for t in client.list_topics() if t.startswith(prefix)]
        if names:
            client.delete_topics(names)
    finally:
        client.close()


@pytest.fixture
def new_topic(kafka_bootstrap: str) -> Iterator[Callable[..., str]]:
    """Factory for unique throw-away topics: new_topic("name", partitions=3)."""
    created: list[str] = []
    client = admin(kafka_bootstrap.split(","))

    def make(name: str = "t", partitions: int = 1, **configs: str) -> str:
        topic = f"test.{name}.{uuid.uuid4().hex[:10]}"
        client.create_topics(
            {topic: {"num_partitions": partitions, "replication_factor": 1, "configs": configs}}
        )
        created.append(topic)
        return topic

    yield make
    try:
        if created:
            client.delete_topics(created)
    finally:
        client.close()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path
