"""Running the console as a process against the test broker and registry, and publishing
alerts to it: shared by the integration and e2e console tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from conftest import await_service, stop_service

from parklink.eventkit.bus import producer
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import DisruptionAlert
from parklink.eventkit.lifecycle import free_port, spawn_module
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Serializer
from parklink.eventkit.tokens import Role, TokenStore

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Publisher:
    def __init__(self, bootstrap: str, prefix: str, registry_url: str) -> None:
        spec = load_catalog()["alerts"]
        self.topic = spec.topic(prefix)
        self._registry = RegistryClient(registry_url)
        self._serializer = Serializer(self._registry, DisruptionAlert, spec.subject(prefix))
        self._producer = producer(bootstrap.split(","))

    def publish(self, *alerts: DisruptionAlert) -> None:
        for a in alerts:
            self._producer.send(
                self.topic, key=a.key().encode(), value=self._serializer.serialize(a)
            ).get(timeout=30)

    def close(self) -> None:
        self._producer.close()
        self._registry.close()


class Console:
    def __init__(self, env: dict[str, str], state_dir: Path, token: str) -> None:
        self.env, self.state_dir = env, state_dir
        self.url = f"http://127.0.0.1:{env['PARKLINK_CONSOLE_PORT']}"
        self.auth = {"Authorization": f"Bearer {token}"}
        self.token = token
        self.proc: Any = None
        self.runs = 0

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it (`wait_ready`): consoles start together."""
        self.runs += 1
        self.proc = spawn_module("parklink.console", self.env, self.log)

    def wait_ready(self) -> None:
        await_service("parklink.console", self.proc, f"{self.url}/readyz", self.log)

    @property
    def log(self) -> Path:
        return self.state_dir / f"console-{self.runs}.log"

    def stop(self) -> None:
        if self.proc is not None:
            stop_service(self.proc)
            self.proc = None
            log = (self.state_dir / f"console-{self.runs}.log").read_text()
            assert "console stopped" in log, "console did not stop cleanly on SIGTERM"

    def get(self, path: str, **params: Any) -> Any:
        resp = httpx.get(self.url + path, params=params, headers=self.auth, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        resp = httpx.post(self.url + path, json=body, headers=self.auth, timeout=10)
        assert resp.status_code == 201, resp.text
        return resp.json()


@pytest.fixture
def publisher(kafka_bootstrap: str, topic_prefix: str, registry_url: str) -> Iterator[Publisher]:
    pub = Publisher(kafka_bootstrap, topic_prefix, registry_url)
    yield pub
    pub.close()


def console_env(
    kafka_bootstrap: str, topic_prefix: str, registry_url: str, state_dir: Path
) -> dict[str, str]:
    return {
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_TOPIC_PREFIX": topic_prefix,
        "PARKLINK_REGISTRY_URL": registry_url,
        "PARKLINK_STATE_DIR": str(state_dir),
        "PARKLINK_CONSOLE_PORT": str(free_port()),
        "PARKLINK_WEBHOOK_BACKOFF_S": "0.2",
        "PARKLINK_WEBHOOK_MAX_ATTEMPTS": "10",
        "PARKLINK_SSE_KEEPALIVE_S": "0.5",
        # The tests' webhook receivers listen on this machine.
        "PARKLINK_WEBHOOK_ALLOWED_TARGETS": "127.0.0.1:*",
    }


def new_console(env: dict[str, str], state_dir: Path) -> Console:
    """A console (not started yet) with an operator's token issued in `state_dir`."""
    tokens = TokenStore.in_state_dir(state_dir)
    token = tokens.issue(Role.OPERATOR, "ops")
    tokens.close()
    return Console(env, state_dir, token)


@pytest.fixture
def console(
    kafka_bootstrap: str, topic_prefix: str, registry_url: str, state_dir: Path
) -> Iterator[Console]:
    env = console_env(kafka_bootstrap, topic_prefix, registry_url, state_dir)
    c = new_console(env, state_dir)
    c.start()
    yield c
    c.stop()


class Receiver:
    """A webhook receiver on a free port of 127.0.0.1. `answer(headers, n)` gives the status
    code of the n-th request (it may block: a receiver that hangs); `requests` holds each
    request answered, `arrived` the delivery id of each one that came in."""

    def __init__(self, answer: Callable[[dict[str, str], int], int]) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.arrived: list[str] = []
        self.answer = answer
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                with lock:
                    n = len(receiver.arrived)
                    receiver.arrived.append(headers.get("X-ParkLink-Delivery", ""))
                code = receiver.answer(headers, n)
                with lock:
                    receiver.requests.append((headers, body, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[tuple[dict[str, str], bytes, int]]:
        return [r for r in self.requests if r[2] == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[Callable[[Callable[[int], bool]], Receiver]]:
    """Receivers that answer 503 to the n-th request while `failing(n)`, else 200."""
    made: list[Receiver] = []

    def make(failing: Callable[[int], bool]) -> Receiver:
        made.append(Receiver(lambda _headers, n: 503 if failing(n) else 200))
        return made[-1]

    yield make
    for r in made:
        r.close()
