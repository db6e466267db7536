"""Who may see and do what, over every console endpoint, on a served console (real HTTP).

The matrix: for each endpoint and each kind of caller (no token, wrong, expired, revoked, a
park's publisher token, park A's operator, park B's operator, a viewer, an alliance operator)
the expected status is asserted, and the whole matrix is printed as a table. A park operator
asking for another park's alert, silence or webhook gets 404, never 403: they cannot even
learn that it exists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
from factories import alert
from unit.console.served import PARK_A, PARK_B, Served

from parklink.console.matching import Matchers

CALLERS = (
    "no token",
    "wrong token",
    "expired",
    "revoked",
    "park publisher",
    "park A operator",
    "park B operator",
    "viewer",
    "operator",
)
ALERT_A = alert(subject="SH-A", parks=[PARK_A])
ALERT_B = alert(subject="SH-B", parks=[PARK_B])


def _path(alert_id: str) -> str:
    return "/v1/alerts/" + quote(alert_id, safe="")


Call = Callable[[Served, str], httpx.Response]


def _silence_a(served: Served) -> str:
    """A silence of park A, made afresh by an alliance operator."""
    silence = served.runtime.store.create_silence(
        Matchers(park=PARK_A, type="SHIPMENT_DELAY"),
        datetime.now(UTC) + timedelta(hours=1),
        "drill",
        "olga",
        datetime.now(UTC),
    )
    return silence.silence_id


def _webhook_a(served: Served) -> str:
    """A webhook of park A's operator, made afresh."""
    hook = served.runtime.store.create_webhook(
        "https://erp.example/a", None, Matchers(), "", "anna", datetime.now(UTC), park=PARK_A
    )
    return str(hook["webhook_id"])


def _stream(served: Served, who: str) -> httpx.Response:
    with served.client.stream(
        "GET", served.url + "/v1/alerts/stream", headers=served.auth(who)
    ) as resp:
        return resp


READ = {"park A operator": 200, "park B operator": 200, "viewer": 200, "operator": 200}
A_ONLY = {"park A operator": 200, "park B operator": 404, "viewer": 200, "operator": 200}
SUBSCRIBE = {"park A operator": 200, "park B operator": 200, "viewer": 403, "operator": 200}
A_HOOK = {"park A operator": 200, "park B operator": 404, "viewer": 403, "operator": 200}

ENDPOINTS: list[tuple[str, Call, dict[str, int]]] = [
    ("GET /v1/alerts", lambda s, w: s.call(w, "GET", "/v1/alerts"), READ),
    ("GET /v1/alerts/{A}", lambda s, w: s.call(w, "GET", _path(ALERT_A.alert_id)), A_ONLY),
    (
        "POST /v1/alerts/{A}/ack",
        lambda s, w: s.call(w, "POST", _path(ALERT_A.alert_id) + "/ack", {"comment": w}),
        {**A_ONLY, "park A operator": 201, "viewer": 403, "operator": 201},
    ),
    ("GET /v1/alerts/stream", _stream, READ),
    ("GET /v1/alerts/timeline", lambda s, w: s.call(w, "GET", "/v1/alerts/timeline"), READ),
    (
        "POST /v1/silences (park A)",
        lambda s, w: s.call(
            w,
            "POST",
            "/v1/silences",
            {"matchers": {"park": PARK_A}, "duration_minutes": 5},
        ),
        {"park A operator": 201, "park B operator": 403, "viewer": 403, "operator": 201},
    ),
    ("GET /v1/silences", lambda s, w: s.call(w, "GET", "/v1/silences"), READ),
    (
        "GET /v1/silences/{A}",
        lambda s, w: s.call(w, "GET", f"/v1/silences/{_silence_a(s)}"),
        A_ONLY,
    ),
    (
        "DELETE /v1/silences/{A}",
        lambda s, w: s.call(w, "DELETE", f"/v1/silences/{_silence_a(s)}"),
        {"park A operator": 204, "park B operator": 404, "viewer": 403, "operator": 204},
    ),
    (
        "POST /v1/webhooks",
        lambda s, w: s.call(w, "POST", "/v1/webhooks", {"url": "https://erp.example/in"}),
        {**SUBSCRIBE, "park A operator": 201, "park B operator": 201, "operator": 201},
    ),
    ("GET /v1/webhooks", lambda s, w: s.call(w, "GET", "/v1/webhooks"), SUBSCRIBE),
    (
        "GET /v1/webhooks/{A}",
        lambda s, w: s.call(w, "GET", f"/v1/webhooks/{_webhook_a(s)}"),
        A_HOOK,
    ),
    (
        "GET /v1/webhooks/{A}/deliveries",
        lambda s, w: s.call(w, "GET", f"/v1/webhooks/{_webhook_a(s)}/deliveries"),
        A_HOOK,
    ),
    (
        "DELETE /v1/webhooks/{A}",
        lambda s, w: s.call(w, "DELETE", f"/v1/webhooks/{_webhook_a(s)}"),
        {**A_HOOK, "park A operator": 204, "operator": 204},
    ),
    ("GET /v1/me", lambda s, w: s.call(w, "GET", "/v1/me"), READ),
    (
        "GET /v1/audit",
        lambda s, w: s.call(w, "GET", "/v1/audit"),
        {"park A operator": 403, "park B operator": 403, "viewer": 403, "operator": 200},
    ),
]


def _expected(cell: dict[str, int], caller: str) -> int:
    if caller in ("no token", "wrong token", "expired", "revoked"):
        return 401
    if caller == "park publisher":
        return 403
    return cell[caller]


def test_every_endpoint_answers_every_caller_as_it_should(served: Served) -> None:
    served.feed(ALERT_A, ALERT_B)
    got: dict[tuple[str, str], int] = {}
    bodies: dict[tuple[str, str], str] = {}
    for name, call, _cell in ENDPOINTS:
        for caller in CALLERS:
            resp = call(served, caller)
            got[name, caller] = resp.status_code
            if resp.status_code >= 400 and name != "GET /v1/alerts/stream":
                error = resp.json()["error"]
                assert set(error) == {"code", "message", "details"}, (name, caller, error)
                bodies[name, caller] = error["code"]
    width = max(len(n) for n, _, _ in ENDPOINTS)
    lines = [" " * width + " | " + " | ".join(c[:9].ljust(9) for c in CALLERS)]
    for name, _, cell in ENDPOINTS:
        row = []
        for caller in CALLERS:
            mark = "" if got[name, caller] == _expected(cell, caller) else "!"
            row.append(f"{got[name, caller]}{mark}".ljust(9))
        lines.append(name.ljust(width) + " | " + " | ".join(row))
    print("\nauthorization matrix (status per endpoint and caller; ! = unexpected)")
    print("\n".join(lines))
    wrong = {
        (name, caller): (got[name, caller], _expected(cell, caller))
        for name, _, cell in ENDPOINTS
        for caller in CALLERS
        if got[name, caller] != _expected(cell, caller)
    }
    assert wrong == {}, wrong
    assert {bodies["GET /v1/alerts", c] for c in CALLERS[:4]} == {"unauthorized"}
    assert bodies["GET /v1/alerts/{A}", "park B operator"] == "not_found"


def _ids(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return sorted(i["alert_id"] for i in resp.json()["items"])


def test_a_park_operator_sees_and_counts_only_their_parks_alerts(served: Served) -> None:
    both = alert(subject="SH-AB", parks=[PARK_A, PARK_B])
    served.feed(ALERT_A, ALERT_B, both)
    assert _ids(served.call("park A operator", "GET", "/v1/alerts")) == [
        ALERT_A.alert_id,
        both.alert_id,
    ]
    page = served.call("park B operator", "GET", f"/v1/alerts?park={PARK_A}").json()
    assert [i["alert_id"] for i in page["items"]] == [both.alert_id]
    assert page["total"] == 1
    assert len(_ids(served.call("operator", "GET", "/v1/alerts"))) == 3
    timeline = served.call("park B operator", "GET", "/v1/alerts/timeline?hours=2000&buckets=1")
    assert sum(timeline.json()["buckets"][0]["counts"].values()) == 2
    me = served.call("park A operator", "GET", "/v1/me").json()
    assert (me["name"], me["role"], me["park"]) == ("anna", "park-operator", PARK_A)
    assert me["may"] == {
        "read": True,
        "acknowledge": True,
        "silence": True,
        "webhooks": True,
        "audit": False,
    }
    assert served.call("viewer", "GET", "/v1/me").json()["may"]["acknowledge"] is False


def test_a_park_operators_silence_covers_only_their_park(served: Served) -> None:
    resp = served.call(
        "park A operator",
        "POST",
        "/v1/silences",
        {"matchers": {"type": "SHIPMENT_DELAY"}, "duration_minutes": 30},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["matchers"] == {"type": "SHIPMENT_DELAY", "park": PARK_A}
    applied = served.feed(ALERT_A, ALERT_B)
    assert [a.silenced_by is not None for a in applied] == [True, False]
    other = served.call(
        "operator",
        "POST",
        "/v1/silences",
        {
            "matchers": {"park": PARK_B},
            "duration_minutes": 30,
        },
    ).json()
    listed = served.call("park A operator", "GET", "/v1/silences").json()["items"]
    assert [s["silence_id"] for s in listed] == [resp.json()["silence_id"]]
    assert other["silence_id"] not in [s["silence_id"] for s in listed]


def test_a_park_operators_webhook_receives_only_their_parks_alerts(
    served: Served,
) -> None:
    mine = served.call("park A operator", "POST", "/v1/webhooks", {"url": "https://erp.example/a"})
    everyone = served.call("operator", "POST", "/v1/webhooks", {"url": "https://erp.example/all"})
    assert mine.status_code == everyone.status_code == 201
    assert mine.json()["park"] == PARK_A
    assert everyone.json()["park"] is None
    served.feed(ALERT_A, ALERT_B)
    a_id, all_id = mine.json()["webhook_id"], everyone.json()["webhook_id"]
    a_deliveries = served.runtime.store.list_deliveries(a_id)
    all_deliveries = served.runtime.store.list_deliveries(all_id)
    assert [d["alert_id"] for d in a_deliveries] == [ALERT_A.alert_id]
    assert sorted(d["alert_id"] for d in all_deliveries) == sorted(
        [ALERT_A.alert_id, ALERT_B.alert_id]
    )
    listed = served.call("park A operator", "GET", "/v1/webhooks").json()["items"]
    assert [h["webhook_id"] for h in listed] == [a_id]


def test_the_audit_trail_records_who_did_what(served: Served) -> None:
    served.feed(ALERT_A)
    served.call("park A operator", "POST", _path(ALERT_A.alert_id) + "/ack", {"comment": "on it"})
    silence = served.call(
        "operator", "POST", "/v1/silences", {"matchers": {"park": PARK_B}, "duration_minutes": 5}
    ).json()
    served.call("operator", "DELETE", f"/v1/silences/{silence['silence_id']}")
    hook = served.call("park A operator", "POST", "/v1/webhooks", {"url": "https://erp.example/x"})
    served.call("park A operator", "DELETE", f"/v1/webhooks/{hook.json()['webhook_id']}")
    items = served.call("operator", "GET", "/v1/audit").json()["items"]
    console = [(e["action"], e["actor"], e["role"]) for e in items if "token" not in e["action"]]
    assert console == [
        ("webhook.delete", "anna", "park-operator"),
        ("webhook.create", "anna", "park-operator"),
        ("silence.expire", "olga", "operator"),
        ("silence.create", "olga", "operator"),
        ("alert.ack", "anna", "park-operator"),
    ]
    tokens = [(e["action"], e["details"]["name"]) for e in items if "token" in e["action"]]
    assert ("token.revoke", "rev") in tokens
    assert ("token.issue", "anna") in tokens
    assert all(e["at"] for e in items)
