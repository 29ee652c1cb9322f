"""The SSRF guard for webhook targets: a URL may only reach public addresses.

Checked when an endpoint is registered and again at every delivery, where the request is then
sent to the very address that was checked (DNS rebinding cannot swap it in between). Every
address the name resolves to must be globally routable: loopback, link-local (cloud metadata at
169.254.169.254), private, shared, reserved, multicast and IPv4-mapped forms of those are all
refused. The operator may allow networks (FRAMEWISE_WEBHOOK_ALLOW_NETWORKS, CIDRs).
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from jobs.errors import InvalidParameter
from jobs.settings import get_settings


class UnsafeTarget(InvalidParameter):
    """A webhook URL that is malformed or reaches a non-public address."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (Host header, TLS server name)
    port: int
    path: str  # path and query
    address: str  # the checked IP to connect to


def _allowed_networks() -> list[ipaddress._BaseNetwork]:
    text = get_settings().webhook_allow_networks
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def _public(address: ipaddress._BaseAddress) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if any(address in network for network in _allowed_networks()):
        return True
    return address.is_global and not address.is_multicast


def parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget(f"The webhook URL is not valid: {error}.") from error
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget("The webhook URL must be an http:// or https:// URL with a host.")
    if parts.username or parts.password:
        raise UnsafeTarget("The webhook URL must not carry credentials.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """The URL's target, or UnsafeTarget naming why it is refused."""
    scheme, host, port, path = parse(url)
    try:
        # getaddrinfo reads every spelling inet_aton does (0x7f.1, 2130706433, 127.1), so the
        # check sees the address the socket would connect to, not the text.
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeTarget(f"The webhook host {host} does not resolve: {error}.") from error
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not _public(address):
            raise UnsafeTarget(f"The webhook host {host} resolves to {address}, which is not a public address "
                               f"(loopback, link-local, private and metadata addresses are refused).")
        addresses.append(str(address))
    if not addresses:
        raise UnsafeTarget(f"The webhook host {host} does not resolve.")
    return Target(scheme, host, port, path, addresses[0])
