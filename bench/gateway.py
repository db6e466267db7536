"""Gateway throughput: one `python -m parklink.gateway` process taking batches of 500 order
events over HTTP from a local load client (a few keep-alive connections in threads), each
request answered 202 only after Kafka acknowledged all its records (acks=all). Goal: >= 10k
events/s."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from bench.harness import BenchContext, Row, free_port, start_process, start_registry
from bench.publisher import order_docs
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.tokens import Role, TokenStore
from parklink.eventkit.topic_admin import apply_catalog

BATCH = 500
REQUESTS = 240
CLIENTS = 4
PARK = "CN-QD-SCODA"


@dataclass(frozen=True)
class Gateway:
    url: str
    token: str
    pid: int


def start_gateway(ctx: BenchContext, registry_url: str, prefix: str, **env: str) -> Gateway:
    """A gateway against the bench's Kafka (`env` on top: e.g. another listener's login),
    with a park token."""
    state = ctx.workdir / f"gateway-{uuid.uuid4().hex[:6]}"
    state.mkdir()
    store = TokenStore.in_state_dir(state)
    token = store.issue(Role.PARK, PARK)
    store.close()
    port = free_port()
    part = start_process(
        ctx,
        "parklink.gateway",
        port,
        {
            "PARKLINK_REGISTRY_URL": registry_url,
            "PARKLINK_TOPIC_PREFIX": prefix,
            "PARKLINK_STATE_DIR": str(state),
            "PARKLINK_GATEWAY_PORT": str(port),
            "PARKLINK_GATEWAY_RATE_PER_S": "1000000000",
            "PARKLINK_GATEWAY_RATE_BURST": "1000000000",
            **env,
        },
    )
    return Gateway(part.url, token, part.pid)


def load(url: str, token: str, requests: int = REQUESTS) -> tuple[float, list[float]]:
    """`requests` batches of BATCH orders over CLIENTS connections: accepted events/s and the
    sorted request latencies (s)."""
    bodies = [json.dumps(order_docs(BATCH)).encode() for _ in range(16)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted = 0
    latencies: list[float] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        nonlocal accepted
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            http.post("/v1/events/orders", content=bodies[worker]).raise_for_status()
            for i in range(worker, requests, CLIENTS):
                start = time.perf_counter()
                resp = http.post("/v1/events/orders", content=bodies[i % len(bodies)])
                if resp.status_code != 202:
                    raise RuntimeError(f"gateway answered {resp.status_code}: {resp.text[:200]}")
                with lock:
                    accepted += resp.json()["accepted"]
                    latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    elapsed = time.perf_counter() - start
    return accepted / elapsed, sorted(latencies)


def run(ctx: BenchContext) -> list[Row]:
    registry_url = start_registry(ctx)
    prefix = f"bench.gw{uuid.uuid4().hex[:6]}."
    apply_catalog(load_catalog(), ctx.servers, prefix)
    gw = start_gateway(ctx, registry_url, prefix)
    rate, latencies = load(gw.url, gw.token)
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    note = f"{REQUESTS} requests x {BATCH} OrderEvents, {CLIENTS} connections, acks=all"
    return [
        Row("gateway", "events accepted", rate, "events/s", note + "; goal >= 10k"),
        Row("gateway", "request latency p50", p50, "ms", f"p99 {p99:.0f} ms"),
    ]
