"""The web page in headless Chromium: an alert published to the topic appears without a
reload, is acknowledged from the page, and the API then shows the acknowledgement. With
PARKLINK_SCREENSHOT=docs/console.png it also refreshes the README's screenshot."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import IN_CI
from factories import alert, resolved
from integration.console.harness import Console, Publisher, wait_for

pytestmark = pytest.mark.broker

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = os.environ.get("PARKLINK_SCREENSHOT")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[Any]:
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


def test_alert_appears_live_and_is_acknowledged_from_the_page(
    console: Console, publisher: Publisher, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.goto(f"{console.url}/?token={console.token}")
    page.wait_for_selector("#conn.on")
    page.evaluate("window.__sameDocument = true")

    delay = alert(metrics={"delay_hours": 36.0})
    publisher.publish(delay)
    row = page.locator(f'tr[data-alert-id="{delay.alert_id}"]')
    row.wait_for()
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    assert "WARNING" in (row.get_attribute("class") or "")

    row.click()
    page.wait_for_selector("#ack-button")
    page.fill("#ack-comment", "rerouting via Almaty")
    page.click("#ack-button")
    page.locator("#ack-list li", has_text="rerouting via Almaty").wait_for()

    doc = console.get("/v1/alerts/" + quote(delay.alert_id, safe=""))
    assert doc["acknowledged"] is True
    assert [(a["by"], a["comment"]) for a in doc["acks"]] == [("ops", "rerouting via Almaty")]

    page.select_option("#lang", "zh")
    page.locator("h1", has_text="ParkLink 运营控制台").wait_for()
    page.locator("#detail-summary", has_text="货运 SH-1").wait_for()
    page.select_option("#lang", "ru")
    page.locator("#detail-summary", has_text="Отправка SH-1").wait_for()
    page.select_option("#lang", "en")

    _screenshot(page, console, publisher)


def _screenshot(page: Any, console: Console, publisher: Publisher) -> None:
    """A page with a few alerts of every kind, for the README."""
    now = datetime.now(UTC)

    def ago(hours: float) -> dict[str, datetime]:
        return {"started_at": now - timedelta(hours=hours), "updated_at": now - timedelta(hours=1)}

    publisher.publish(
        alert(
            subject="SH-7",
            severity="CRITICAL",
            metrics={"delay_hours": 80.0},
            impacted_orders=["PO-1002", "PO-1003"],
            impacted_shipments=["SH-7"],
            summary="Shipment SH-7 is 80 h late at Khorgos on QD-KHR-ALA-RAIL.",
            **ago(9),
        ),
        alert(
            type="CORRIDOR_CONGESTION",
            subject="QD-KHR-ALA-RAIL",
            corridor="QD-KHR-ALA-RAIL",
            parks=["CN-QD-SCODA", "KZ-KHR-ICBC", "KZ-ALA-IPA"],
            impacted_shipments=["SH-1", "SH-7", "SH-9"],
            impacted_orders=["PO-1001", "PO-1002", "PO-1003"],
            summary="3 shipments delayed on corridor QD-KHR-ALA-RAIL.",
            metrics={"delayed_shipments": 3.0},
            **ago(5),
        ),
        alert(
            type="CAPACITY_SHORTFALL",
            subject="CN-QD-SCODA|8704|2026-12-07",
            corridor=None,
            parks=["CN-QD-SCODA", "KZ-ALA-IPA"],
            impacted_shipments=[],
            impacted_orders=["PO-1001", "PO-1004"],
            summary="CN-QD-SCODA cannot make 8704 for week 2026-12-07: demand 180 > capacity 100;"
            " RU-NSK-TECH has 60 spare.",
            metrics={"demand": 180.0, "capacity": 100.0, "maximum": 130.0, "ratio": 1.8},
            severity="CRITICAL",
            **ago(14),
        ),
        alert(
            type="PARK_SILENT",
            subject="BY-MSK-GREATSTONE",
            corridor=None,
            parks=["BY-MSK-GREATSTONE"],
            impacted_orders=[],
            impacted_shipments=[],
            summary="BY-MSK-GREATSTONE has published nothing for 7 h.",
            metrics={"silent_hours": 7.0},
            **ago(7),
        ),
        resolved(
            alert(
                subject="SH-4",
                corridor="ISB-KHR-ROAD",
                parks=["PK-ISB-SEZ", "KZ-KHR-ICBC"],
                summary="Shipment SH-4 is 30 h late on ISB-KHR-ROAD.",
                metrics={"delay_hours": 30.0},
                **ago(20),
            ),
            after=timedelta(minutes=30),
        ),
    )
    wait_for(lambda: console.get("/v1/alerts")["total"] == 6, "the sample alerts")
    page.locator("#alerts tbody tr").nth(5).wait_for()
    page.locator('tr[data-alert-id="CAPACITY_SHORTFALL|CN-QD-SCODA|8704|2026-12-07"]').click()
    page.wait_for_selector("#ack-button")
    # The chart reloads shortly after live updates; wait for the new alerts to be in it.
    page.wait_for_function("document.querySelectorAll('#chart rect').length > 30")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)
