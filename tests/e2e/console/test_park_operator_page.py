"""The web page for a park operator and a viewer, in headless Chromium against the console
process on a real broker: a park operator signs in, sees only their park's alerts arrive
live, acknowledges one with the keyboard alone, and cannot open another park's alert by id
(404); a viewer sees no actions; axe-core finds no serious or critical accessibility
violation on the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import IN_CI
from e2e.console.axe import axe_script
from factories import alert
from integration.console.harness import Console, Publisher, wait_for

from parklink.eventkit.tokens import Role, TokenStore

pytestmark = pytest.mark.broker

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PARK_A = "KZ-ALA-IPA"
PARK_B = "BY-MSK-GREATSTONE"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the module's tests (each test has contexts of its own)."""
    if not CHROMIUM.exists():
        message = f"browser test cannot run: {CHROMIUM} is missing (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """The module's Chromium as the test found it: no context open before, none left after
    (each `new_page` opens a context of its own: its own storage, token and connection)."""
    assert chromium.contexts == []
    yield chromium
    for context in chromium.contexts:
        context.close()


def _issue(console: Console, role: Role, name: str, park: str | None = None) -> str:
    store = TokenStore.in_state_dir(console.state_dir)
    try:
        return store.issue(role, name, park=park)
    finally:
        store.close()


def _signed_in(browser: Any, console: Console, token: str) -> Any:
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.goto(f"{console.url}/?token={token}")
    page.wait_for_selector("#conn.on")
    return page


def _status_of(page: Any, alert_id: str) -> int:
    """What the page's own token gets for an alert by id."""
    return int(
        page.evaluate(
            """async (id) => (await fetch('/v1/alerts/' + encodeURIComponent(id), {
                headers: {Authorization: 'Bearer ' + localStorage.getItem('parklink.token')},
            })).status""",
            alert_id,
        )
    )


def test_a_park_operator_sees_their_park_live_and_acknowledges_by_keyboard(
    console: Console, publisher: Publisher, browser: Any
) -> None:
    page = _signed_in(browser, console, _issue(console, Role.PARK_OPERATOR, "anna", PARK_A))
    page.locator("#who", has_text="anna").wait_for()
    assert PARK_A in page.inner_text("#who")

    mine = alert(subject="SH-A", parks=[PARK_A])
    theirs = alert(subject="SH-B", parks=[PARK_B])
    later = alert(subject="SH-A2", parks=[PARK_A])
    publisher.publish(mine, theirs, later)  # the last one shows the other two have arrived
    page.locator(f'tr[data-alert-id="{later.alert_id}"]').wait_for()
    page.locator(f'tr[data-alert-id="{mine.alert_id}"]').wait_for()
    assert page.locator(f'tr[data-alert-id="{theirs.alert_id}"]').count() == 0
    page.wait_for_function("document.querySelector('#live').textContent.length > 0")
    wait_for(lambda: console.get("/v1/alerts")["total"] == 3, "the operator to see all three")

    # Keyboard only: Tab to the alert's button, Enter, type, Tab to the button, Enter.
    page.focus("#f-text")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.open") == mine.alert_id:
            break
    else:
        pytest.fail("the alert cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ack-button")
    page.focus("#ack-comment")
    page.keyboard.type("crane crew on it")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "ack-button"
    page.keyboard.press("Enter")
    page.locator("#ack-list li", has_text="crane crew on it").wait_for()
    doc = console.get("/v1/alerts/" + quote(mine.alert_id, safe=""))
    assert [(a["by"], a["comment"]) for a in doc["acks"]] == [("anna", "crane crew on it")]

    assert _status_of(page, theirs.alert_id) == 404
    assert _status_of(page, mine.alert_id) == 200

    # The map's parks are reachable and usable from the keyboard too.
    page.focus(f'circle[data-park-button="{PARK_A}"]')
    page.keyboard.press("Enter")
    assert page.eval_on_selector("#f-park", "el => el.value") == PARK_A


def test_a_viewer_is_shown_no_actions(console: Console, publisher: Publisher, browser: Any) -> None:
    page = _signed_in(browser, console, _issue(console, Role.VIEWER, "victor"))
    page.locator("#who", has_text="victor").wait_for()
    publisher.publish(alert())
    row = page.locator(f'tr[data-alert-id="{alert().alert_id}"]')
    row.wait_for()
    row.click()
    page.wait_for_selector("#read-only")
    assert page.locator("#ack-button").count() == 0
    assert page.locator("#silence-button").count() == 0


def test_the_page_has_no_serious_accessibility_violations(
    console: Console, publisher: Publisher, browser: Any
) -> None:
    page = _signed_in(browser, console, console.token)
    publisher.publish(
        alert(),
        alert(subject="SH-2", severity="CRITICAL", parks=[PARK_A]),
        alert(type="PARK_SILENT", subject=PARK_B, corridor=None, parks=[PARK_B]),
    )
    page.locator("#alerts tbody tr").nth(2).wait_for()
    page.locator(f'tr[data-alert-id="{alert().alert_id}"]').click()
    page.wait_for_selector("#ack-button")
    page.wait_for_function("document.querySelectorAll('#chart-text tbody tr').length > 0")
    page.add_script_tag(content=axe_script())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
    print("axe-core violations:", json.dumps(found, indent=1) if found else "none")
    assert [v for v in found if v["impact"] in ("serious", "critical")] == []
