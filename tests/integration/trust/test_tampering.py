"""The tampering battery, on the real secured broker and registry: each case says what it
tried and what happened, and checks that nothing changed where it must not. A park speaks
only for itself: what Kafka attributes to park A can only come from A's credential."""

from __future__ import annotations

import json
import os
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import factories
import httpx
import pytest
from conftest import delete_prefixed, run_parklink, service_env, start_service, stop_service
from integration.detector.conftest import Network
from integration.gateway.conftest import issue_park_token, running_gateway
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import (
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    NewTopic,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import KafkaError
from pydantic import SecretStr

from parklink.eventkit import access, bus, credentials
from parklink.eventkit.bus import ClientSecurity, client_security
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import DisruptionAlert, OrderEvent, ShipmentEvent, now_utc
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Serializer
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.tls import ensure_tls
from parklink.publisher import DeliveryFailed, Publisher

pytestmark = pytest.mark.broker

PARK_A, PARK_B = "KZ-ALA-IPA", "CN-QD-SCODA"
CATALOG = load_catalog()


def report(tried: str, happened: str) -> None:
    print(f"\n  tried:    {tried}\n  happened: {happened}")


@dataclass
class Alliance:
    bootstrap: list[str]
    prefix: str
    registry_url: str
    parks: dict[str, ClientSecurity]
    relay_url: str

    def topic(self, role: str) -> str:
        return CATALOG[role].topic(self.prefix)

    def ingress(self, park: str, role: str = "orders") -> str:
        return access.ingress_topic(CATALOG, self.prefix, park, role)

    def order_bytes(self, **fields: str) -> bytes:
        serializer = Serializer(
            RegistryClient(self.registry_url), OrderEvent, CATALOG["orders"].subject(self.prefix)
        )
        return serializer.serialize(factories.order(**fields))

    def end(self, topic: str) -> int:
        return sum(self.mark(topic).values())

    def mark(self, topic: str) -> dict[TopicPartition, int]:
        """Where each partition of `topic` ends now: `read_after` reads what comes next."""
        reader = bus.consumer(self.bootstrap, group_id=None)
        try:
            parts = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
            return dict(reader.end_offsets(parts))
        finally:
            reader.close()

    def read_after(self, topic: str, mark: dict[TopicPartition, int], expect: int) -> list[Any]:
        """Every record written to `topic` after `mark`, once there are at least `expect`
        (20 s at most): the tests share the module's topics, and see only what they wrote."""
        reader: KafkaConsumer = bus.consumer(self.bootstrap, group_id=None)
        out: list[Any] = []
        try:
            reader.assign(list(mark))
            for tp, offset in mark.items():
                reader.seek(tp, offset)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                ends = reader.end_offsets(list(mark))
                if sum(ends.values()) - sum(mark.values()) >= expect:
                    while any(reader.position(tp) < ends[tp] for tp in mark):
                        for batch in reader.poll(timeout_ms=500).values():
                            out.extend(
                                r
                                for r in batch
                                if r.offset < ends[TopicPartition(r.topic, r.partition)]
                            )
                    break
                time.sleep(0.2)
        finally:
            reader.close()
        return out

    def relayed(self, outcome: str, reason: str) -> float:
        """The relay's count of records with this outcome and reason (0 before the first)."""
        line = f'parklink_relay_records_total{{outcome="{outcome}",reason="{reason}"}} '
        scraped = httpx.get(f"{self.relay_url}/metrics").text.splitlines()
        return sum(float(x[len(line) :]) for x in scraped if x.startswith(line))


@pytest.fixture(scope="module")
def alliance(
    kafka_bootstrap: str, registry_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Alliance]:
    """Parks A and B and a relay, one for the module (a relay takes seconds to start), on
    topics of the module's own prefix: each test compares only with what was there before."""
    servers = kafka_bootstrap.split(",")
    topic_prefix = f"t{uuid.uuid4().hex[:10]}."
    apply_catalog(CATALOG, servers, topic_prefix)
    tmp_path = tmp_path_factory.mktemp("alliance")
    names = access.Names(prefix=topic_prefix, relay_group=f"relay-{uuid.uuid4().hex[:8]}")
    parks: dict[str, ClientSecurity] = {}
    client = bus.admin(servers)
    try:
        for park in (PARK_A, PARK_B):
            password = credentials.new_password()
            access.admit_park(client, CATALOG, names, park, password)
            user = access.park_principal(park)
            parks[park] = client_security().with_user(user, SecretStr(password))
    finally:
        client.close()
    port = free_port()
    env = {
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_TOPIC_PREFIX": topic_prefix,
        "PARKLINK_REGISTRY_URL": registry_url,
        "PARKLINK_RELAY_PORT": str(port),
        "PARKLINK_RELAY_GROUP": names.relay_group,
        "PARKLINK_RELAY_REFRESH_MS": "1000",
        **service_env("relay", names, kafka_bootstrap),
    }
    url = f"http://127.0.0.1:{port}"
    proc = start_service("parklink.relay", env, tmp_path / "relay.log", f"{url}/readyz")
    try:
        yield Alliance(servers, topic_prefix, registry_url, parks, url)
    finally:
        stop_service(proc)
        client = bus.admin(servers)
        try:
            for park in (PARK_A, PARK_B):
                access.expel_park(client, park)
        finally:
            client.close()
        delete_prefixed(servers, topic_prefix)


def _write(alliance: Alliance, security: ClientSecurity, topic: str, value: bytes) -> None:
    # A refused login fails the client's bootstrap: bound it like the rest (kafka-python
    # would wait 30 s for it).
    producer = bus.producer(
        alliance.bootstrap, security=security, max_block_ms=8000, bootstrap_timeout_ms=8000
    )
    try:
        producer.send(topic, key=b"PO-1001", value=value).get(timeout=15)
    finally:
        producer.close(timeout=5)


def test_no_credentials_and_wrong_password_are_refused(alliance: Alliance, tmp_path: Path) -> None:
    orders = alliance.topic("orders")
    before = alliance.end(orders)
    plain = ClientSecurity(protocol="PLAINTEXT")
    with pytest.raises((ParkLinkError, KafkaError)) as refused:
        _write(alliance, plain, orders, b"x")
    report("connect without credentials (PLAINTEXT) and produce", f"refused: {refused.value!r}")

    wrong = alliance.parks[PARK_A].with_user("park-" + PARK_A, SecretStr("not-the-password"))
    with pytest.raises((ParkLinkError, KafkaError)) as refused:
        bus.broker_count(alliance.bootstrap, timeout_s=5, security=wrong)
    report("log in as park A with a wrong password", f"refused: {refused.value!r}")

    control = bus.broker_count(alliance.bootstrap, timeout_s=10, security=alliance.parks[PARK_A])
    report("log in as park A with its password (control)", f"answered: {control} broker(s)")

    other_ca = tmp_path / "other-ca"
    ensure_tls(other_ca)  # a CA of the same shape that did not sign the broker's certificate
    admin = client_security()
    untrusted = ClientSecurity(
        "SASL_SSL", admin.mechanism, admin.username, admin.password, other_ca / "ca.pem"
    )
    with pytest.raises((ParkLinkError, KafkaError)) as refused:
        bus.broker_count(alliance.bootstrap, timeout_s=5, security=untrusted)
    report(
        "admin's password, but trusting another CA (a man in the middle)",
        f"refused: {refused.value!r}",
    )
    assert alliance.end(orders) == before


def test_park_b_cannot_speak_for_park_a(alliance: Alliance) -> None:
    orders, dlq = alliance.topic("orders"), alliance.topic("dlq")
    b = alliance.parks[PARK_B]
    forged = alliance.order_bytes(source_park=PARK_A, buyer_park=PARK_A, supplier_park=PARK_B)
    orders_mark, dlq_mark = alliance.mark(orders), alliance.mark(dlq)
    forwarded = alliance.relayed("forwarded", "")
    foreign = alliance.relayed("dead-lettered", "foreign-park")

    for topic in (orders, alliance.ingress(PARK_A)):
        with pytest.raises(KafkaError) as denied:
            _write(alliance, b, topic, forged)
        report(f"park B writes a record claiming A to {topic}", f"denied: {denied.value!r}")

    _write(alliance, b, alliance.ingress(PARK_B), forged)
    [dead] = alliance.read_after(dlq, dlq_mark, 1)
    headers = dict(dead.headers)
    report(
        "park B writes a record claiming A to its own ingress topic",
        f"relay dead-lettered it: error={headers['error'].decode()} "
        f"({headers['error_message'].decode()})",
    )
    assert headers["error"] == b"foreign-park"
    assert headers["topic"] == alliance.ingress(PARK_B).encode()
    assert dead.value == forged

    # Control: A's own record does go through, so the relay was running all along; and it
    # carries broker time, not the backdated timestamp A asked for.
    own = alliance.order_bytes(source_park=PARK_A, buyer_park=PARK_A, supplier_park=PARK_B)
    producer = bus.producer(alliance.bootstrap, security=alliance.parks[PARK_A])
    try:
        producer.send(alliance.ingress(PARK_A), key=b"PO-1", value=own, timestamp_ms=1).get(15)
    finally:
        producer.close(timeout=5)
    records = alliance.read_after(orders, orders_mark, 1)
    assert [r.value for r in records] == [own]
    stamp = records[0].timestamp
    report("park A writes its own record, backdated to 1970", f"relayed, record time {stamp}")
    assert stamp > 1_700_000_000_000
    assert alliance.relayed("dead-lettered", "foreign-park") == foreign + 1
    assert alliance.relayed("forwarded", "") == forwarded + 1


def test_park_b_cannot_write_alerts_or_schemas(alliance: Alliance) -> None:
    b = alliance.parks[PARK_B]
    client = bus.admin(alliance.bootstrap)
    try:
        if "_schemas" not in client.list_topics():
            client.create_topics(
                [NewTopic("_schemas", 1, 1, topic_configs={"cleanup.policy": "compact"})]
            )
    finally:
        client.close()
    for topic in (alliance.topic("alerts"), "_schemas", alliance.topic("dlq")):
        before = alliance.end(topic)
        with pytest.raises(KafkaError) as denied:
            _write(alliance, b, topic, b'{"forged": true}')
        report(f"park B writes to {topic}", f"denied by ACL: {denied.value!r}")
        assert alliance.end(topic) == before


def test_park_add_and_remove(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> None:
    park = "UZ-TAS-NAVOI"
    secrets = Path(os.environ["PARKLINK_KAFKA_SECRETS_DIR"])
    env = {"PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap, "PARKLINK_TOPIC_PREFIX": topic_prefix}
    added = run_parklink(env, "park", "add", park)
    assert added.returncode == 0, added.stderr
    path = credentials.kafka_password_file(secrets, f"park-{park}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = credentials.read_secret(path)
    assert password not in added.stdout + added.stderr
    report(f"parklink park add {park}", added.stdout.strip().replace("\n", "; "))
    security = client_security(user=f"park-{park}")
    ingress = access.ingress_topic(CATALOG, topic_prefix, park, "capacity")
    producer = bus.producer(kafka_bootstrap.split(","), security=security)
    try:
        assert producer.send(ingress, key=b"k", value=b"v").get(timeout=15).offset == 0
    finally:
        producer.close(timeout=5)

    removed = run_parklink(env, "park", "remove", park)
    assert removed.returncode == 0, removed.stderr
    assert not path.exists()
    with pytest.raises((ParkLinkError, KafkaError)) as refused:
        bus.broker_count(kafka_bootstrap.split(","), timeout_s=5, security=security)
    report(f"log in as park-{park} after `park remove`", f"refused: {refused.value!r}")
    client = bus.admin(kafka_bootstrap.split(","))
    try:
        left = client.describe_acls(
            ACLFilter(
                f"User:park-{park}",
                None,
                ACLOperation.ANY,
                ACLPermissionType.ANY,
                ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
            )
        )
    finally:
        client.close()
    assert list(left[0]) == []


def test_registry_deletes_need_the_admin(registry_url: str, topic_prefix: str) -> None:
    users = credentials.read_registry_users(Path(os.environ["PARKLINK_REGISTRY_USERS_FILE"]))
    subject = f"{topic_prefix}trust-value"
    schema = json.dumps({"type": "record", "name": "T", "fields": []})
    writer = RegistryClient(registry_url)
    writer.register(subject, schema)
    url = f"{registry_url}/subjects/{subject}?permanent=true"
    anonymous = httpx.delete(url)
    report("anonymous DELETE ?permanent=true", f"{anonymous.status_code} {anonymous.text}")
    assert anonymous.status_code == 401
    for role in ("reader", "writer"):
        answer = httpx.delete(url, auth=(role, users[role][1]))
        report(f"{role} DELETE ?permanent=true", f"{answer.status_code} {answer.text}")
        assert answer.status_code == 403
    wrong = httpx.delete(url, auth=("admin", "guess"))
    report("admin with a wrong password DELETE", f"{wrong.status_code} {wrong.text}")
    assert wrong.status_code == 401
    assert httpx.get(f"{registry_url}/subjects/{subject}/versions").json() == [1]
    soft = httpx.delete(f"{registry_url}/subjects/{subject}", auth=("admin", users["admin"][1]))
    assert soft.status_code == 200


def test_a_park_publishes_with_the_sdk_through_its_ingress(alliance: Alliance) -> None:
    orders = alliance.topic("orders")
    mark = alliance.mark(orders)
    before = sum(mark.values())
    a = alliance.parks[PARK_A]
    event = factories.order(order_id="PO-SDK", event_time=datetime.now(UTC).isoformat())
    with (
        pytest.raises(DeliveryFailed) as refused,
        Publisher(
            alliance.bootstrap, alliance.registry_url, PARK_A, alliance.prefix, security=a
        ) as shared,
    ):
        shared.publish(event)
        shared.flush(timeout_s=20)
    report("park A publishes with the SDK to the shared topic", f"refused: {refused.value}")
    with Publisher(
        alliance.bootstrap,
        alliance.registry_url,
        PARK_A,
        alliance.prefix,
        ingress=True,
        security=a,
    ) as pub:
        pub.publish(event)
        assert pub.flush(timeout_s=20) == 1
    records = alliance.read_after(orders, mark, 1)
    report("park A publishes with the SDK, ingress=True", f"relayed to {orders}")
    assert [r.key for r in records] == [b"PO-SDK"]
    assert alliance.end(orders) == before + 1


def test_park_b_naming_itself_a_party_of_a_shipment_of_a_changes_nothing(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    """The gateway has no state: B's claim to be a party of A's shipment passes its checks.
    The detector, which bound the shipment's parties at its first event, sets it aside."""
    network = Network(kafka_bootstrap, topic_prefix, registry_url, tmp_path)
    state = tmp_path / "gateway-state"
    state.mkdir()
    own = service_env("gateway", access.Names(prefix=topic_prefix), kafka_bootstrap)
    try:
        worker = network.start()
        with running_gateway(kafka_bootstrap, registry_url, topic_prefix, state, **own) as (
            gateway,
            _,
        ):
            tokens = {PARK_A: gateway.token, PARK_B: issue_park_token(state, PARK_B)}

            def post(park: str, event: ShipmentEvent) -> httpx.Response:
                return httpx.post(
                    f"{gateway.url}/v1/events/shipments",
                    json=event.to_json(),
                    headers={"Authorization": f"Bearer {tokens[park]}"},
                    timeout=30,
                )

            def alerts_of_a() -> list[DisruptionAlert]:
                return [a for a in network.alerts() if a.alert_id == "SHIPMENT_DELAY|SH-A-1"]

            # A's shipment from a third park to A, 36 h late: a delay alert fires.
            a_own = {
                "shipment_id": "SH-A-1",
                "order_ids": ["PO-A-1"],
                "source_park": PARK_A,
                "origin_park": "UZ-TAS-NAVOI",
                "destination_park": PARK_A,
            }
            assert post(PARK_A, factories.shipment(**a_own, event_time=_now())).status_code == 202
            network.wait_for(lambda: bool(alerts_of_a()), "A's delay alert")
            before = alerts_of_a()
            assert [a.status.value for a in before] == ["FIRING"]
            dlq_before = len(network.read("dlq"))

            # B claims to be the shipment's origin and says it is delivered.
            forged = factories.shipment(
                **{**a_own, "source_park": PARK_B, "origin_park": PARK_B},
                status="DELIVERED",
                estimated_arrival=None,
                event_time=_now(),
            )
            answer = post(PARK_B, forged)
            report(
                "park B posts A's shipment SH-A-1 to the gateway as B -> A, DELIVERED",
                f"gateway {answer.status_code} {answer.text}",
            )
            assert answer.status_code == 202, answer.text
            network.wait_for(
                lambda: len(network.read("dlq")) > dlq_before, "the forged event's dead letter"
            )
            dead = network.read("dlq")[-1]
            headers = dict(dead.headers)
            report(
                "the detector reads B's event",
                f"dead-lettered: error={headers['error'].decode()} "
                f"({headers['error_message'].decode()})",
            )
            assert headers["error"] == b"party-mismatch"
            assert dead.key == b"SH-A-1"
            after = alerts_of_a()
            report(
                "A's delay alert SHIPMENT_DELAY|SH-A-1, every transition",
                f"before {_brief(before)}, after {_brief(after)}",
            )
            assert after == before
            scraped = httpx.get(f"{worker.url}/metrics").text
            assert (
                f'parklink_detector_refused_total{{park="{PARK_B}",reason="party-mismatch"}} 1.0'
                in scraped
            )

            # Control: the same news from a party of the shipment does resolve the alert, so
            # the forged event would have changed it had it been admitted.
            delivered = factories.shipment(
                **a_own, status="DELIVERED", estimated_arrival=None, event_time=_now()
            )
            assert post(PARK_A, delivered).status_code == 202
            network.wait_for(
                lambda: alerts_of_a()[-1].status.value == "RESOLVED", "A's alert to resolve"
            )
            report("park A posts SH-A-1 DELIVERED (control)", f"alert now {_brief(alerts_of_a())}")
    finally:
        network.close()


def _brief(alerts: list[DisruptionAlert]) -> list[str]:
    return [f"{a.status.value} {a.severity.value}: {a.summary}" for a in alerts]


def _now() -> str:
    return now_utc().isoformat()
