"""A webhook receiver for the tests: a real local HTTP server (threaded http.server) that
verifies each delivery's signature the way README tells receivers to, and records it."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify_signature(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """README's recipe, copied as a receiver would: t and v1 from the header, HMAC-SHA256 of
    "<t>.<body>" with the secret, compared in constant time, t within 5 minutes."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - timestamp) <= tolerance
    return fresh and hmac.compare_digest(expected, parts["v1"])


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int  # what the receiver answered

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    secret: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/inkline"

    def event_ids(self) -> list[str]:
        """The events accepted (signature verified, answered 2xx), in arrival order."""
        return [r.event["id"] for r in self.received if r.verified and r.status < 300]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(receiver: Receiver) -> Iterator[Receiver]:
    """Serve `receiver` on its port (a free one when 0) until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signature = self.headers.get("Inkline-Signature", "")
            verified = bool(receiver.secret) and verify_signature(receiver.secret, body, signature)
            status = receiver.status if verified else 400
            receiver.received.append(Received(dict(self.headers), body, verified, status))
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"bad signature or down")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
