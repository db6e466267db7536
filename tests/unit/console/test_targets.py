"""Where webhooks may go (pure logic and the registration route): https only unless allow-
listed, and no address inside: loopback, link-local (the cloud metadata address), private,
shared, multicast, unspecified, reserved — as literals, as IPv4-mapped IPv6, and behind a DNS
name (stub resolver: nothing here resolves or connects for real)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from unit.console.served import PUBLIC, Served

from parklink.console.targets import (
    TargetRefused,
    parse_allow_list,
    refusal,
    resolve_target,
)

INSIDE = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "240.0.0.1": "reserved",
    "100.64.0.1": "not public",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:169.254.169.254": "link-local",
}


@pytest.mark.parametrize(("address", "reason"), sorted(INSIDE.items()))
def test_addresses_inside_are_refused(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", PUBLIC, "2606:4700::1111"])
def test_public_addresses_are_accepted(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def _check(url: str, allow: str = "", answer: str = PUBLIC) -> str:
    async def resolver(_host: str, _port: int) -> list[str]:
        return [answer]

    target = asyncio.run(resolve_target(url, parse_allow_list(allow), resolver))
    return target.pinned_url()


def test_https_to_a_public_name_is_pinned_to_its_address() -> None:
    assert _check("https://erp.example/hook?x=1") == f"https://{PUBLIC}:443/hook?x=1"


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://erp.example/hook", ""),  # plain http
        ("http://127.0.0.1:8081/", "127.0.0.1:9000"),  # allow-listed on another port
        ("https://127.0.0.1:8081/", ""),  # loopback literal
        ("https://[::1]:6066/", ""),
        ("https://169.254.169.254/latest/meta-data/", ""),
        ("https://[::ffff:127.0.0.1]/", ""),
        ("ftp://erp.example/", ""),
        ("https://erp.example:99999/", ""),
    ],
)
def test_refused_urls(url: str, allow: str) -> None:
    with pytest.raises(TargetRefused):
        _check(url, allow)


@pytest.mark.parametrize("inside", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1"])
def test_a_dns_name_that_resolves_inside_is_refused(inside: str) -> None:
    with pytest.raises(TargetRefused, match="resolves to a"):
        _check("https://innocent.example/hook", answer=inside)


def test_the_allow_list_permits_http_and_a_local_receiver() -> None:
    assert _check("http://127.0.0.1:8099/h", "127.0.0.1:8099") == "http://127.0.0.1:8099/h"
    assert _check("http://127.0.0.1:5/h", "127.0.0.1:*") == "http://127.0.0.1:5/h"
    assert _check("http://[::1]:7/h", "[::1]:7") == "http://[::1]:7/h"
    with pytest.raises(ValueError, match="bad port"):
        parse_allow_list("127.0.0.1:eighty")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8081/",
        "https://127.0.0.1:8081/",
        "http://169.254.169.254/",
        "https://169.254.169.254/",
        "http://[::1]:6066/",
        "https://[::1]:6066/",
        "https://10.0.0.7/",
        "https://224.0.0.1/",
        "https://0.0.0.0:8088/",
        "https://metadata.loopback.test/",
        "https://nowhere.invalid/",
    ],
)
def test_registration_refuses_targets_inside(served: Served, url: str) -> None:
    resp = served.call("operator", "POST", "/v1/webhooks", {"url": url})
    assert resp.status_code == 422, resp.text
    [detail] = resp.json()["error"]["details"]
    assert detail["path"] == "body.url"
    assert "open" not in detail["message"] and "refused" not in detail["message"].lower()
    assert served.call("operator", "GET", "/v1/webhooks").json()["items"] == []
