"""Outbound HTTP to user-given URLs (publishers, webhooks), behind an SSRF guard.

Every URL (and every redirect target) is resolved and refused when any address it resolves to
is loopback, private, link-local, multicast, reserved or otherwise not globally routable,
unless INKLINE_ALLOW_PRIVATE_TARGETS is set (tests, intranets). Cloud metadata endpoints are
refused always: no publisher or webhook receiver ever lives there.

The check is made again where the connection is opened, and the socket connects to the very
addresses just checked (the URL's host still names the server for TLS and the Host header):
a name that resolves to a public address for the check and to a private one a moment later
(DNS rebinding) cannot slip through. Through an HTTP proxy (HTTPS_PROXY and the like) the
proxy resolves the name, so only the check before the request applies.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

MAX_REDIRECTS = 5
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(Exception):
    """The URL may not be contacted (bad scheme, or an address the guard refuses); `reason`
    says why without naming the URL (e.g. "it resolves to 127.0.0.1, a loopback address")."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


def _refused(ip: IPAddress, allow_private: bool) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if allow_private:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "not a public address"
    return None


def allowed_addresses(host: str, port: int, *, allow_private: bool | None = None) -> list[str]:
    """The addresses `host` resolves to, in resolver order, once each; UnsafeTarget if the
    guard refuses any of them. A host that does not resolve raises OSError (socket.gaierror:
    a transient failure, retried by callers)."""
    if allow_private is None:
        allow_private = settings.INKLINE_ALLOW_PRIVATE_TARGETS
    addresses: list[str] = []
    for info in socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM):
        address = str(info[4][0])
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        why = _refused(ip, allow_private)
        if why:
            hint = (
                ""
                if ip in METADATA_ADDRESSES
                else " (set INKLINE_ALLOW_PRIVATE_TARGETS=true to allow private targets)"
            )
            reason = f"it resolves to {ip}, {why}{hint}."
            raise UnsafeTarget(f"Refused {host}: {reason}", reason=reason)
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise UnsafeTarget unless `url` is http(s) and every address of its host is allowed.

    A host that does not resolve raises OSError (a transient failure, retried by callers)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"Refused {url!r}: only http and https URLs are allowed.")
    host = parts.hostname
    if not host:
        raise UnsafeTarget(f"Refused {url!r}: the URL has no host.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        allowed_addresses(host, port, allow_private=allow_private)
    except UnsafeTarget as exc:
        raise UnsafeTarget(f"Refused {url!r}: {exc.reason}", reason=exc.reason) from None


def _connect_checked(connection: HTTPConnection, connect: Any) -> socket.socket:
    """Open `connection`'s socket to its host's addresses as checked now, trying each in turn
    (`connect` is the connection class's own `_new_conn`, pointed at one address at a time)."""
    host = connection._dns_host
    error: Exception | None = None
    try:
        for address in allowed_addresses(host, connection.port or 0):
            connection._dns_host = address
            try:
                return connect()
            except (NewConnectionError, ConnectTimeoutError) as exc:
                error = exc
    finally:
        connection._dns_host = host
    raise error or NewConnectionError(connection, f"{host} has no address")


class _CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self, super()._new_conn)


class _CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self, super()._new_conn)


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    """requests' adapter whose connections check their addresses as they connect."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


def guarded(session: requests.Session) -> requests.Session:
    """`session` with the checked adapter for http and https (once)."""
    if not isinstance(session.get_adapter("https://"), CheckedAdapter):
        adapter = CheckedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def request(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """`session.request` with the guard applied to the URL and to every redirect, before the
    request and again as each connection opens."""
    guarded(session)
    kwargs["allow_redirects"] = False
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url)
        response = session.request(method, url, **kwargs)
        if not response.is_redirect:
            return response
        location = response.headers.get("Location", "")
        response.close()
        url = urljoin(url, location)
        if response.status_code in (301, 302, 303) and method.upper() != "GET":
            method = "GET"
            for body in ("data", "json", "files"):
                kwargs.pop(body, None)
    raise requests.TooManyRedirects(f"More than {MAX_REDIRECTS} redirects from {url!r}.")
