"""The shared JSON error body: every way a FastAPI app of ParkLink refuses or fails answers
`{"error": {"code", "message", "details"}}`, never plain text."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from parklink.eventkit.tokens import TokensUnavailable
from parklink.eventkit.web import ApiError, install_error_handlers


class Body(BaseModel):
    n: int


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/refuse")
    async def refuse() -> None:
        raise ApiError(409, "taken", "already there", [{"path": "x", "message": "dup"}])

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/tokens-down")
    async def tokens_down() -> None:
        raise TokensUnavailable("the token database did not answer: connection refused")

    @app.post("/body")
    async def body(doc: Body) -> int:
        return doc.n

    return app


def test_every_refusal_and_failure_is_the_json_error_body() -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    cases = [
        (client.get("/refuse"), 409, "taken"),
        (client.get("/nowhere"), 404, "not_found"),
        (client.post("/refuse"), 405, "method_not_allowed"),
        (
            client.post("/body", content=b"{nope", headers={"Content-Type": "application/json"}),
            400,
            "bad_json",
        ),
        (client.post("/body", json={"n": "many"}), 422, "invalid_request"),
        (client.get("/boom"), 500, "internal"),
        (client.get("/tokens-down"), 503, "unavailable"),
    ]
    for resp, status, code in cases:
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"] == "application/json"
        error = resp.json()["error"]
        assert error["code"] == code
        assert error["message"]
        assert isinstance(error["details"], list)
    invalid = client.post("/body", json={"n": "many"}).json()["error"]["details"]
    assert invalid[0]["path"] == "body.n"
    assert "a bug" not in client.get("/boom").text
    down = client.get("/tokens-down")
    assert down.headers["retry-after"] == "5"
    assert "connection refused" not in down.text  # the log has it, the caller need not


def test_http_metrics_count_route_templates_and_codes() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from parklink.eventkit.metrics import new_registry, render
    from parklink.eventkit.web import ApiError, install_error_handlers, install_http_metrics

    registry = new_registry("probe")
    app = FastAPI()
    install_error_handlers(app)
    install_http_metrics(app, registry, "probe")

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            raise ApiError(404, "not_found", "no such thing")
        return {"id": thing_id}

    client = TestClient(app)
    assert client.get("/v1/things/a").status_code == 200
    assert client.get("/v1/things/b").status_code == 200
    assert client.get("/v1/things/missing").status_code == 404
    assert client.get("/nowhere").status_code == 404
    text = render(registry)[0].decode()
    assert (
        'parklink_http_requests_total{code="200",method="GET",route="/v1/things/{thing_id}",'
        'service="probe"} 2.0' in text
    )
    assert 'code="404",method="GET",route="/v1/things/{thing_id}"' in text
    assert 'route="unmatched"' in text
    assert "parklink_http_request_duration_seconds_bucket" in text
    assert "process_resident_memory_bytes" in text and "python_info" in text
