"""A recording HTTP proxy in front of the real llama-server.

Every exchange is kept (the request as Inkline sent it, status, answer, seconds), so a test
can compare what Inkline stored and charged with what the server really answered and reported
as usage. `max_tokens` caps each chat request's output on the way (llama-server's own
`--n-predict` is only a default: a client's larger `max_tokens` wins), so a looping model costs
seconds. `json_object_only` makes the real server look like llama-cpp-python's, which refuses
`json_schema` (500 "Input should be 'text' or 'json_object'") but honours `json_object` with a
schema.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from inkline.ai import prompts

# What llama-cpp-python's server (pydantic) answers a `json_schema` response format with.
JSON_SCHEMA_REFUSAL = {
    "error": {
        "message": (
            "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
            "  Input should be 'text' or 'json_object' [type=literal_error, "
            "input_value='json_schema', input_type=str]"
        ),
        "type": "internal_server_error",
        "param": None,
        "code": None,
    }
}


@dataclass
class Exchange:
    method: str
    path: str
    body: dict[str, Any]
    status: int = 0
    answer: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def operation(self) -> str:
        """The AI function asked (`prompts.SPECS` key), by its system prompt; "" otherwise
        (e.g. the small requests of a connection check)."""
        messages = self.body.get("messages") or []
        system = messages[0].get("content", "") if messages else ""
        for operation, spec in prompts.SPECS.items():
            if isinstance(system, str) and system.startswith(spec.system[:80]):
                return operation
        return ""

    @property
    def format_type(self) -> str:
        fmt = self.body.get("response_format") or {}
        return str(fmt.get("type", "")) if isinstance(fmt, dict) else ""

    @property
    def usage(self) -> dict[str, int]:
        usage = self.answer.get("usage") or {}
        return {k: int(v) for k, v in usage.items() if isinstance(v, int)}

    @property
    def total_tokens(self) -> int:
        return self.usage.get("prompt_tokens", 0) + self.usage.get("completion_tokens", 0)

    @property
    def finish_reason(self) -> str:
        choices = self.answer.get("choices") or [{}]
        return str(choices[0].get("finish_reason") or "")

    @property
    def max_tokens(self) -> int | None:
        value = self.body.get("max_tokens", self.body.get("max_completion_tokens"))
        return int(value) if isinstance(value, int) else None


class RecordingProxy:
    """`with RecordingProxy(upstream) as proxy:` serves `proxy.base_url` (…/v1)."""

    def __init__(
        self, upstream: str, *, max_tokens: int | None = None, json_object_only: bool = False
    ) -> None:
        self.upstream = upstream.rstrip("/").removesuffix("/v1")
        self.max_tokens = max_tokens
        self.json_object_only = json_object_only
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def chats(self, operation: str | None = None) -> list[Exchange]:
        """The chat completions asked, of one AI function if given, in order."""
        with self._lock:
            found = [e for e in self.exchanges if e.path.endswith("/chat/completions")]
        return [e for e in found if operation is None or e.operation == operation]

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _forward(self, exchange: Exchange, raw: bytes, headers: dict[str, str]) -> bytes:
        if exchange.path.endswith("/chat/completions"):
            if self.json_object_only and exchange.format_type == "json_schema":
                exchange.status = 500
                return json.dumps(JSON_SCHEMA_REFUSAL).encode()
            if self.max_tokens is not None:
                asked = exchange.max_tokens
                capped = dict(exchange.body)
                capped.pop("max_completion_tokens", None)
                capped["max_tokens"] = min(asked or self.max_tokens, self.max_tokens)
                raw = json.dumps(capped).encode()
        request = urllib.request.Request(
            self.upstream + exchange.path,
            data=raw if exchange.method == "POST" else None,
            method=exchange.method,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                exchange.status = answer.status
                data: bytes = answer.read()
        except urllib.error.HTTPError as error:
            exchange.status = error.code
            data = error.read()
        return data

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _relay(self) -> None:
                started = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                exchange = Exchange(self.command, self.path, body if isinstance(body, dict) else {})
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("content-type", "authorization", "accept")
                }
                data = proxy._forward(exchange, raw, headers)
                try:
                    answer = json.loads(data) if data else {}
                except ValueError:
                    answer = {}
                exchange.answer = answer if isinstance(answer, dict) else {}
                exchange.seconds = time.monotonic() - started
                with proxy._lock:
                    proxy.exchanges.append(exchange)
                self.send_response(exchange.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _relay
            do_POST = _relay

        return Handler
