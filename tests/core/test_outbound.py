"""The SSRF guard on user-given URLs (publishers, webhooks)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from inkline.core.outbound import UnsafeTarget, check_url, request


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/wp-json/", "loopback"),
        ("http://localhost/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("https://192.168.0.10/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://169.254.10.10/", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://0.0.0.0/", "private"),
        ("http://100.64.0.1/", "not a public"),
        ("ftp://example.com/", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///nohost", "no host"),
    ],
)
def test_non_public_targets_are_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeTarget, match=why):
        check_url(url, allow_private=False)


def test_public_addresses_pass() -> None:
    check_url("https://93.184.215.14/wp-json/", allow_private=False)
    check_url("http://[2606:4700:4700::1111]/", allow_private=False)


def test_allowing_private_targets_still_refuses_metadata_endpoints() -> None:
    check_url("http://127.0.0.1:8080/", allow_private=True)
    check_url("http://10.0.0.7/", allow_private=True)
    with pytest.raises(UnsafeTarget, match="metadata"):
        check_url("http://169.254.169.254/", allow_private=True)


def test_the_setting_is_the_default(settings: object) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = False  # type: ignore[attr-defined]
    with pytest.raises(UnsafeTarget):
        check_url("http://127.0.0.1/")
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True  # type: ignore[attr-defined]
    check_url("http://127.0.0.1/")


class _Recorder(BaseHTTPRequestHandler):
    hosts: list[str] = []

    def do_GET(self) -> None:
        type(self).hosts.append(self.headers["Host"])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[int]:
    """A real HTTP server on loopback; what it was asked for is in `_Recorder.hosts`."""
    _Recorder.hosts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    poll = {"poll_interval": 0.05}  # shutdown() waits for the next poll (default 0.5 s)
    threading.Thread(target=server.serve_forever, kwargs=poll, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _resolver(answers: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stand in for DNS (outside our control): names under .example resolve to the next of
    `answers` (the last one repeats); everything else resolves as usual. Returns the log of
    names asked."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".example"):
            asked.append(host)
            address = answers[min(len(asked), len(answers)) - 1]
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_that_turns_private_after_the_check_is_refused_on_connect(
    local_server: int, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = False
    asked = _resolver(["93.184.215.14", "127.0.0.1"], monkeypatch)  # rebinding
    with pytest.raises(UnsafeTarget, match="loopback"):
        request(requests.Session(), "GET", f"http://blog.example:{local_server}/wp-json/")
    assert len(asked) == 2  # checked before the request, and again on connecting
    assert _Recorder.hosts == []  # nothing reached the private address


def test_the_connection_goes_to_the_checked_address_with_the_sites_name(
    local_server: int, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True
    _resolver(["127.0.0.1"], monkeypatch)
    response = request(requests.Session(), "GET", f"http://blog.example:{local_server}/")
    assert response.status_code == 200 and response.text == "ok"
    assert _Recorder.hosts == [f"blog.example:{local_server}"]
