"""Where webhooks may be delivered. A webhook URL is someone's input: without these checks the
console would POST to its own loopback services, the cloud metadata address or the private
network, and its delivery log would tell an operator which ports are open there.

- `https` only, except for hosts (and ports) on the allow-list setting, which may use `http`
  and private addresses (a receiver on this machine in tests and the local demo);
- the host's addresses must all be public: loopback, link-local, private, shared, multicast,
  unspecified and reserved addresses are refused;
- checked when a webhook is registered and again before each delivery, after resolving the
  name; the delivery then connects to the address that was checked, so a DNS answer that
  changes between the check and the connection cannot redirect it."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> the host's addresses."""


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why (never whether a port is open)."""


@dataclass(frozen=True)
class AllowEntry:
    host: str
    port: int | None
    """None: any port."""

    def permits(self, host: str, port: int) -> bool:
        return self.host == host and (self.port is None or self.port == port)


def parse_allow_list(text: str) -> list[AllowEntry]:
    """`host:port` entries, comma-separated; `host` or `host:*` for any port; IPv6 in
    brackets (`[::1]:8099`)."""
    entries = []
    for raw in text.split(","):
        item = raw.strip().lower()
        if not item:
            continue
        parts = urlsplit("//" + item)
        try:
            port = parts.port
        except ValueError:
            port = None
            if not item.endswith(":*"):
                raise ValueError(f"webhook allow-list entry {raw.strip()!r}: bad port") from None
        if not parts.hostname:
            raise ValueError(f"webhook allow-list entry {raw.strip()!r}: no host")
        entries.append(AllowEntry(parts.hostname, port))
    return entries


@dataclass(frozen=True)
class Target:
    """A checked delivery target: connect to `address`, present `host` (Host header, TLS
    server name)."""

    url: str
    host: str
    port: int
    address: str
    allow_listed: bool

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{literal}:{self.port}"
        return SplitResult(parts.scheme, netloc, parts.path, parts.query, "").geturl()

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme.lower() == "https"

    def host_header(self) -> str:
        literal = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.tls else 80
        return literal if self.port == default else f"{literal}:{self.port}"


def refusal(address: Address) -> str | None:
    """Why an address may not receive webhooks, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for label, hit in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if hit:
            return label
    if not address.is_global:
        return "not public"
    return None


def split(url: str, allow: Sequence[AllowEntry]) -> tuple[str, int, bool]:
    """The URL's host, port and whether the allow-list names them; refuses a scheme that is
    not allowed for it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in {"http", "https"} or not host:
        raise TargetRefused("must be an https:// URL with a host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("the port is not a number from 1 to 65535") from exc
    listed = any(e.permits(host, port) for e in allow)
    if scheme == "http" and not listed:
        raise TargetRefused("must use https (http only for hosts on the allow-list)")
    return host, port, listed


async def resolve_target(url: str, allow: Sequence[AllowEntry], resolver: Resolver) -> Target:
    """Check `url` and pick the address to connect to; TargetRefused if it may not be used."""
    host, port, listed = split(url, allow)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolver(host, port)
        except OSError as exc:
            raise TargetRefused("the host name does not resolve") from exc
    if not addresses:
        raise TargetRefused("the host name does not resolve")
    if not listed:
        for text in addresses:
            reason = refusal(ipaddress.ip_address(text))
            if reason is not None:
                raise TargetRefused(f"the host resolves to a {reason} address")
    return Target(url, host, port, addresses[0], listed)


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (IPv4 and IPv6)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
