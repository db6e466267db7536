"""The authorization matrix over every endpoint of the console, the gateway, the registry, the
simulator and the detector's web port, for every kind of caller: no token, a wrong, expired
or revoked one, park A's publisher, park A's and park B's operators, a viewer, an alliance
operator and the metrics scraper. Real servers on 127.0.0.1 (see harness.py); every cell's
status is asserted, and the matrix is printed (`pytest -s`, and the terminal summary).

The rows are checked against each app's own routes (FastAPI: its OpenAPI document and the
routes it keeps out of it; the detector: the routes of its faust web server), so an endpoint
added without a row here fails the test. HEAD is left out: it answers as GET does."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import factories
import httpx
import pytest
from fastapi import FastAPI
from faust.web.drivers.aiohttp import Web as AiohttpWeb
from integration.authz import matrix
from integration.authz.harness import PARK_A, PARK_B, Network, wait_until
from integration.authz.matrix import (
    ALLIANCE,
    OPERATOR_A,
    REPORTS,
    Build,
    Call,
    Row,
    cells,
    everyone,
    fixed,
    only_scraper,
)
from integration.console.harness import Publisher
from starlette.routing import Mount, Route

from parklink.console.app import STATIC_DIR
from parklink.console.app import create_app as console_app
from parklink.console.config import ConsoleSettings
from parklink.detector.app import Detector
from parklink.detector.config import DetectorSettings
from parklink.detector.thresholds import load_thresholds
from parklink.eventkit.contracts import PARK_EVENT_MODELS, ParkEvent
from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.metrics import new_registry
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.settings import load_settings
from parklink.eventkit.tokens import TokenStore
from parklink.gateway.app import create_app as gateway_app
from parklink.gateway.config import GatewaySettings
from parklink.registry.app import create_app as registry_app
from parklink.registry.config import RegistrySettings
from parklink.simulator.app import create_web as simulator_app
from parklink.simulator.runner import Runner
from parklink.simulator.scenarios import ScenarioOptions
from parklink.simulator.world import World, WorldConfig

pytestmark = pytest.mark.broker

ALERT_A = "SHIPMENT_DELAY|SH-AUTHZ-A"
ALERT_B = "SHIPMENT_DELAY|SH-AUTHZ-B"
PROBE_SCHEMA = json.dumps(
    {"type": "record", "name": "AuthzProbe", "namespace": "test", "fields": []}
)
ABSENT_FAUST_VIEWS = ("/table/", "/router/", "/graph/", "/stats/", "/performance/", "/assignment/")
"""faust's own views; switched off, they must answer nothing."""


# -- each app's declared routes ------------------------------------------------------------------


def fastapi_routes(service: str, app: FastAPI) -> set[tuple[str, str, str]]:
    declared = {
        (service, method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    for route in app.routes:  # those kept out of the OpenAPI document (pages, docs, files)
        if isinstance(route, Mount):
            declared.add((service, "GET", route.path))
        elif isinstance(route, Route) and not route.include_in_schema:
            declared |= {(service, m, route.path) for m in route.methods or () if m != "HEAD"}
    return declared


class _NoSink:
    async def publish(self, kind: str, events: Any) -> None:
        raise AssertionError("only the routes of this app are read")

    async def ready(self) -> dict[str, str]:
        return {}

    def warm_up(self) -> None: ...

    def close(self) -> None: ...

    async def send(self, park_id: str, kind: str, events: list[ParkEvent]) -> None:
        raise AssertionError("only the routes of this app are read")

    async def problems(self) -> dict[str, str]:
        return {}

    async def aclose(self) -> None: ...


def declared_routes(net: Network, registry_url: str) -> set[tuple[str, str, str]]:
    """Every (service, method, route) the five apps declare, built as their services build
    them (nothing is started)."""
    common: dict[str, Any] = {
        "state_dir": net.state.parent / "routes",
        "topic_prefix": net.prefix,
        "kafka_bootstrap": net.bootstrap,
        "registry_url": registry_url,
    }
    tokens = TokenStore.in_state_dir(net.state.parent / "routes")
    declared = fastapi_routes(
        "console", console_app(load_settings(ConsoleSettings, **common), consume=False)
    )
    declared |= fastapi_routes("registry", registry_app(load_settings(RegistrySettings, **common)))
    declared |= fastapi_routes(
        "gateway", gateway_app(load_settings(GatewaySettings, **common), tokens, _NoSink())
    )
    world = World(WorldConfig(seed=1, start=factories.T0, speed=1.0, rate=1.0))
    registry = new_registry("authz-routes")
    runner = Runner(world, _NoSink(), rate=1.0, options=ScenarioOptions(), registry=registry)
    declared |= fastapi_routes("simulator", simulator_app(runner, _NoSink(), registry, tokens))
    settings = load_settings(DetectorSettings, detector_group=net.detector_group, **common)
    web = Detector(settings, load_thresholds(None)).app.web
    assert isinstance(web, AiohttpWeb)
    web.init_server()  # what a worker does before it serves: faust's blueprints are applied
    declared |= {
        ("detector", r.method, r.resource.canonical)
        for r in web.web_app.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }
    tokens.close()
    return declared


# -- what the rows act on ------------------------------------------------------------------------


@dataclass
class Things:
    """Ids of what exists before the matrix runs: park A's and park B's alerts, a silence of
    park A, a webhook of park A's operator, a schema in the registry."""

    net: Network
    http: httpx.Client
    silence_a: str
    webhook_a: str
    subject: str
    schema_id: int
    hook_url: str

    def console(self, column: str, method: str, path: str, body: Any = None) -> httpx.Response:
        url = self.net.urls["console"] + path
        return self.http.request(method, url, json=body, headers=self.net.headers(column))

    def new_silence(self) -> str:
        body = {"matchers": {"park": PARK_A}, "duration_minutes": 60, "comment": "authz"}
        created = self.console(ALLIANCE, "POST", "/v1/silences", body)
        assert created.status_code == 201, created.text
        return str(created.json()["silence_id"])

    def new_webhook(self) -> str:
        created = self.console(OPERATOR_A, "POST", "/v1/webhooks", {"url": self.hook_url})
        assert created.status_code == 201, created.text
        return str(created.json()["webhook_id"])


def _publish_alerts(net: Network, registry_url: str) -> None:
    pub = Publisher(net.bootstrap, net.prefix, registry_url)
    try:
        pub.publish(
            factories.alert(alert_id=ALERT_A, subject="SH-AUTHZ-A", parks=[PARK_A]),
            factories.alert(alert_id=ALERT_B, subject="SH-AUTHZ-B", parks=[PARK_B]),
        )
    finally:
        pub.close()


@pytest.fixture
def things(authz_network: Network) -> Iterator[Things]:
    net = authz_network
    registry_url = net.urls["registry"]
    _publish_alerts(net, registry_url)

    http = httpx.Client(timeout=15)

    def both_alerts() -> bool:
        answer = http.get(net.urls["console"] + "/v1/alerts", headers=net.headers(ALLIANCE))
        return {ALERT_A, ALERT_B} <= {a["alert_id"] for a in answer.json()["items"]}

    wait_until(both_alerts, "the console to hold both alerts")
    client = RegistryClient(registry_url)
    subject = f"authz-{uuid.uuid4().hex[:8]}-value"
    try:
        schema_id = client.register(subject, PROBE_SCHEMA)
    finally:
        client.close()
    hook_url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    t = Things(net, http, "", "", subject, schema_id, hook_url)
    t.silence_a = t.new_silence()
    t.webhook_a = t.new_webhook()
    yield t
    http.close()


# -- the rows ------------------------------------------------------------------------------------


def ops_rows(service: str) -> list[Row]:
    return [
        Row(service, "GET", "/healthz", fixed("GET", "/healthz"), everyone(200)),
        Row(service, "GET", "/readyz", fixed("GET", "/readyz"), everyone(200)),
        Row(service, "GET", "/metrics", fixed("GET", "/metrics"), only_scraper()),
    ]


def docs_rows(service: str, paths: tuple[str, ...], status: dict[str, int]) -> list[Row]:
    return [Row(service, "GET", p, fixed("GET", p), status) for p in paths]


DOCS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
READ = cells(publisher=403, operator_a=200, operator_b=200, viewer=200, alliance=200)
PARK_A_THING = cells(publisher=403, operator_a=200, operator_b=404, viewer=200, alliance=200)
PARK_A_HOOK = cells(publisher=403, operator_a=200, operator_b=404, viewer=403, alliance=200)


def console_rows(t: Things) -> list[Row]:
    a = quote(ALERT_A, safe="")
    static = sorted(p.name for p in STATIC_DIR.iterdir() if p.is_file())[0]
    return [
        *ops_rows("console"),
        *docs_rows("console", DOCS, everyone(200)),
        Row("console", "GET", "/", fixed("GET", "/"), everyone(200)),
        Row("console", "GET", "/static", fixed("GET", f"/static/{static}"), everyone(200)),
        Row("console", "GET", "/v1/me", fixed("GET", "/v1/me"), READ),
        Row("console", "GET", "/v1/alerts", fixed("GET", "/v1/alerts"), READ),
        Row(
            "console",
            "GET",
            "/v1/alerts/stream",
            fixed("GET", "/v1/alerts/stream", stream=True),
            READ,
        ),
        Row("console", "GET", "/v1/alerts/timeline", fixed("GET", "/v1/alerts/timeline"), READ),
        Row(
            "console", "GET", "/v1/alerts/{alert_id}", fixed("GET", f"/v1/alerts/{a}"), PARK_A_THING
        ),
        Row(
            "console",
            "POST",
            "/v1/alerts/{alert_id}/ack",
            fixed("POST", f"/v1/alerts/{a}/ack", json={"comment": "seen"}),
            cells(publisher=403, operator_a=201, operator_b=404, viewer=403, alliance=201),
        ),
        Row("console", "GET", "/v1/silences", fixed("GET", "/v1/silences"), READ),
        Row(
            "console",
            "POST",
            "/v1/silences",
            fixed(
                "POST",
                "/v1/silences",
                json={"matchers": {"park": PARK_A}, "duration_minutes": 30},
            ),
            # Park B's operator may silence only park B: asking for park A is refused.
            cells(publisher=403, operator_a=201, operator_b=403, viewer=403, alliance=201),
        ),
        Row(
            "console",
            "GET",
            "/v1/silences/{silence_id}",
            fixed("GET", f"/v1/silences/{t.silence_a}"),
            PARK_A_THING,
        ),
        Row(
            "console",
            "DELETE",
            "/v1/silences/{silence_id}",
            lambda _c: Call("DELETE", f"/v1/silences/{t.new_silence()}"),
            cells(publisher=403, operator_a=204, operator_b=404, viewer=403, alliance=204),
        ),
        Row(
            "console",
            "GET",
            "/v1/webhooks",
            fixed("GET", "/v1/webhooks"),
            cells(publisher=403, operator_a=200, operator_b=200, viewer=403, alliance=200),
        ),
        Row(
            "console",
            "POST",
            "/v1/webhooks",
            fixed("POST", "/v1/webhooks", json={"url": t.hook_url}),
            cells(publisher=403, operator_a=201, operator_b=201, viewer=403, alliance=201),
        ),
        Row(
            "console",
            "GET",
            "/v1/webhooks/{webhook_id}",
            fixed("GET", f"/v1/webhooks/{t.webhook_a}"),
            PARK_A_HOOK,
        ),
        Row(
            "console",
            "DELETE",
            "/v1/webhooks/{webhook_id}",
            lambda _c: Call("DELETE", f"/v1/webhooks/{t.new_webhook()}"),
            cells(publisher=403, operator_a=204, operator_b=404, viewer=403, alliance=204),
        ),
        Row(
            "console",
            "GET",
            "/v1/webhooks/{webhook_id}/deliveries",
            fixed("GET", f"/v1/webhooks/{t.webhook_a}/deliveries"),
            PARK_A_HOOK,
        ),
        Row(
            "console",
            "GET",
            "/v1/audit",
            fixed("GET", "/v1/audit"),
            cells(publisher=403, operator_a=403, operator_b=403, viewer=403, alliance=200),
        ),
    ]


def _event(kind: str) -> ParkEvent:
    if kind == "orders":
        return factories.order(source_park=PARK_A, buyer_park=PARK_A)
    if kind == "shipments":
        return factories.shipment(source_park=PARK_A, destination_park=PARK_A)
    return factories.capacity(source_park=PARK_A, park_id=PARK_A)


def gateway_rows() -> list[Row]:
    rows = [
        *ops_rows("gateway"),
        *docs_rows("gateway", DOCS, everyone(200)),
        Row("gateway", "GET", "/asyncapi.json", fixed("GET", "/asyncapi.json"), everyone(200)),
    ]
    for kind in PARK_EVENT_MODELS:
        rows.append(
            Row(
                "gateway",
                "POST",
                f"/v1/events/{kind}",
                publish(kind),
                # Only a park publishes, and only as itself; console tokens are not parks.
                cells(publisher=202, operator_a=403, operator_b=403, viewer=403, alliance=403),
            )
        )
    return rows


def publish(kind: str) -> Build:
    """A fresh event of park A (a new event_id) for every cell."""

    def build(_column: str) -> Call:
        return Call("POST", f"/v1/events/{kind}", json=_event(kind).model_dump(mode="json"))

    return build


def simulator_rows() -> list[Row]:
    return [
        *ops_rows("simulator"),
        *docs_rows("simulator", ("/openapi.json",), everyone(200)),
        Row("simulator", "GET", "/v1/status", fixed("GET", "/v1/status"), everyone(200)),
        Row(
            "simulator",
            "POST",
            "/v1/scenarios/{name}",
            fixed("POST", "/v1/scenarios/demand-surge"),
            cells(publisher=403, operator_a=403, operator_b=403, viewer=403, alliance=201),
        ),
    ]


def detector_rows() -> list[Row]:
    rows = [
        *ops_rows("detector"),
        # faust's index, which no setting switches off: the detector answers it 404.
        Row("detector", "GET", "/", fixed("GET", "/"), everyone(404)),
    ]
    return rows


def absent_rows() -> list[Row]:
    """faust's own views, off: not declared by the app, and probed to answer 404."""
    return [
        Row("detector", "GET", path, fixed("GET", path), everyone(404))
        for path in ABSENT_FAUST_VIEWS
    ]


def registry_rows(t: Things) -> list[Row]:
    """The registry takes HTTP Basic, not bearer tokens: every bearer token is a 401, and
    without one a caller is anonymous: reads only."""
    s, i = t.subject, t.schema_id
    schema = {"schema": PROBE_SCHEMA}

    def anonymous(status: int) -> dict[str, int]:
        return {**everyone(401), matrix.NO_TOKEN: status}

    reads = [
        ("GET", "/", "/", None),
        ("GET", "/subjects", "/subjects", None),
        ("GET", "/subjects/{subject}/versions", f"/subjects/{s}/versions", None),
        ("GET", "/subjects/{subject}/versions/{version}", f"/subjects/{s}/versions/1", None),
        (
            "GET",
            "/subjects/{subject}/versions/{version}/schema",
            f"/subjects/{s}/versions/1/schema",
            None,
        ),
        ("POST", "/subjects/{subject}", f"/subjects/{s}", schema),
        ("GET", "/schemas/types", "/schemas/types", None),
        ("GET", "/schemas/ids/{schema_id}", f"/schemas/ids/{i}", None),
        ("GET", "/schemas/ids/{schema_id}/schema", f"/schemas/ids/{i}/schema", None),
        ("GET", "/schemas/ids/{schema_id}/versions", f"/schemas/ids/{i}/versions", None),
        ("GET", "/schemas/ids/{schema_id}/subjects", f"/schemas/ids/{i}/subjects", None),
        (
            "POST",
            "/compatibility/subjects/{subject}/versions/{version}",
            f"/compatibility/subjects/{s}/versions/1",
            schema,
        ),
        (
            "POST",
            "/compatibility/subjects/{subject}/versions",
            f"/compatibility/subjects/{s}/versions",
            schema,
        ),
        ("GET", "/config", "/config", None),
        ("GET", "/mode", "/mode", None),
        ("GET", "/mode/{subject}", f"/mode/{s}", None),
        # Registering what the subject already holds answers its id (a serializer's
        # auto-register); anything new needs the writer.
        ("POST", "/subjects/{subject}/versions", f"/subjects/{s}/versions", schema),
    ]
    writes = [
        ("DELETE", "/subjects/{subject}", f"/subjects/{s}"),
        ("DELETE", "/subjects/{subject}/versions/{version}", f"/subjects/{s}/versions/1"),
        ("PUT", "/config", "/config"),
        ("DELETE", "/config", "/config"),
        ("PUT", "/config/{subject}", f"/config/{s}"),
        ("DELETE", "/config/{subject}", f"/config/{s}"),
    ]
    config = {"compatibility": "BACKWARD"}
    rows = [
        *ops_rows("registry"),
        *docs_rows("registry", DOCS, anonymous(200)),
        *(Row("registry", m, r, fixed(m, p, json=b), anonymous(200)) for m, r, p, b in reads),
        *(
            Row("registry", m, r, fixed(m, p, json=config if m == "PUT" else None), everyone(401))
            for m, r, p in writes
        ),
        # A subject without its own compatibility level: 404, as Confluent's registry says.
        Row("registry", "GET", "/config/{subject}", fixed("GET", f"/config/{s}"), anonymous(404)),
    ]
    return rows


# -- running it ----------------------------------------------------------------------------------


def ask(things: Things, row: Row, column: str) -> int:
    call = row.build(column)
    headers = {**things.net.headers(column), **call.headers}
    url = things.net.urls[row.service] + call.path
    if call.stream:
        with things.http.stream(call.method, url, headers=headers) as answer:
            return answer.status_code
    return things.http.request(call.method, url, json=call.json, headers=headers).status_code


@pytest.mark.timeout(900)  # five services start on a machine other tests share
def test_every_endpoint_answers_every_caller_as_its_role_allows(things: Things) -> None:
    net = things.net
    assert not net.urls["detector"].startswith("http://0.0.0.0")
    expired_at = next(info.expires_at for info in _token_list(net) if info.name == "expired-desk")
    while expired_at is not None and time.time() < expired_at:
        time.sleep(0.1)

    rows = [
        *console_rows(things),
        *gateway_rows(),
        *registry_rows(things),
        *simulator_rows(),
        *detector_rows(),
    ]
    declared = declared_routes(net, net.urls["registry"])
    missing = matrix.missing_rows(declared, rows)
    stale = matrix.stale_rows(declared, rows)
    rows += absent_rows()

    seen: dict[tuple[str, str, str], dict[str, int]] = {}
    for row in rows:
        seen[row.key] = {column: ask(things, row, column) for column in matrix.COLUMNS}
    text = matrix.table(rows, seen)
    REPORTS.append(text)
    print("\n" + text)

    assert missing == [], f"endpoints without a row in the matrix: {missing}"
    assert stale == [], f"rows for endpoints the apps do not declare: {stale}"
    wrong = matrix.mismatches(rows, seen)
    assert wrong == [], "\n".join(wrong)

    # 404 for another park's alert is the very answer to an alert that does not exist.
    other = things.console(matrix.OPERATOR_B, "GET", f"/v1/alerts/{quote(ALERT_A, safe='')}")
    nothing = things.console(matrix.OPERATOR_B, "GET", "/v1/alerts/SHIPMENT_DELAY%7CSH-NONE")
    assert other.status_code == nothing.status_code == 404
    assert other.json()["error"]["code"] == nothing.json()["error"]["code"]
    listed = things.console(matrix.OPERATOR_B, "GET", "/v1/alerts").json()["items"]
    assert {a["alert_id"] for a in listed} == {ALERT_B}


def _token_list(net: Network) -> list[Any]:
    store = TokenStore.in_state_dir(net.state)
    try:
        return store.list()
    finally:
        store.close()
