"""Outbound HTTP for publishers, behind an SSRF guard.

Every URL (and every redirect target) is resolved and refused when any address it resolves to
is loopback, private, link-local, multicast, reserved or otherwise not globally routable,
unless INKLINE_ALLOW_PRIVATE_TARGETS is set (tests, intranets). Cloud metadata endpoints are
refused always: no publisher ever lives there.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

MAX_REDIRECTS = 5
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(Exception):
    """The URL may not be contacted (bad scheme, or an address the guard refuses)."""


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


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise UnsafeTarget unless `url` is http(s) and every address of its host is allowed.

    A host that does not resolve raises OSError (a transient failure, retried by callers)."""
    if allow_private is None:
        allow_private = settings.INKLINE_ALLOW_PRIVATE_TARGETS
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"Refused {url!r}: only http and https URLs are allowed.")
    host = parts.hostname
    if not host:
        raise UnsafeTarget(f"Refused {url!r}: the URL has no host.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        why = _refused(ip, allow_private)
        if why:
            raise UnsafeTarget(
                f"Refused {url!r}: {host} resolves to {ip}, {why} "
                "(set INKLINE_ALLOW_PRIVATE_TARGETS=true to allow private targets)."
            )


def request(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """`session.request` with the guard applied to the URL and to every redirect."""
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
