"""A real local HTTP server speaking the OpenAI endpoints Inkline uses.

`POST /v1/chat/completions`, `POST /v1/images/generations` (base64 answers), `POST
/v1/embeddings` (deterministic vectors: `fake_embedding`; `embeddings=False` answers 404, like a
server without that API) and `GET /v1/models`. It checks the bearer key and the model, records
every request, counts the requests in flight (and the most at once), and has knobs for latency
and faults: 429 with Retry-After, 429 `insufficient_quota` (the account has no credit left), 403
(a key refused for a region or model), 500, slow answers (client timeouts), malformed JSON,
truncated output (`finish_reason: "length"`), an unparsable body, 401 for a wrong key and 404
for unknown models.

Knobs for the servers that are not OpenAI: `modes` (the response_format types accepted:
`("json_object",)` answers json_schema like llama-cpp-python's server, 500 "Input should be
'text' or 'json_object'"; `()` answers 400 to any response_format), `served_model` (the model
named in answers, like llama-server's), `images=False` (no images API: 404),
`refuse_max_tokens` (OpenAI's newer models: 400 "Use 'max_completion_tokens' instead"),
`alternate_roles` (Gemma's chat template in llama-server: 400 on two user turns in a row),
`strict_subset` (a strict mode refusing minLength/maxLength in json_schema: 400). It
honours `max_tokens`/`max_completion_tokens`: a longer answer is cut, `finish_reason: "length"`.
`rate_limit=R` puts a token bucket of R requests per second
(holding `burst` requests) in front of everything: a request finding it empty is answered 429 at
once with `retry-after` in whole seconds, as RFC 9110 has it; with `ratelimit_headers` every
answer also carries OpenAI's `x-ratelimit-{limit,remaining,reset}-requests` and a 429 its
`retry-after-ms`.

Answers are built from the request: the user message is the JSON payload the provider sent,
and the schema name (or, without one, the system prompt) says which function is asked, so runs
through the engine get plausible clusters, ideas, articles, prompts and images. Without a
json_schema response_format the answer comes inside ```json fences after a preamble, as chatty
models write it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

from PIL import Image

API_KEY = "sk-test-inkline"
CHAT_MODEL = "fake-chat"
IMAGE_MODEL = "fake-image"
EMBEDDINGS_MODEL = "fake-embed"
EMBEDDING_DIMENSIONS = 64

Responder = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Fault:
    """What the next matching requests get instead of a normal answer.
    kind: "429", "quota", "403", "500", "slow", "malformed", "truncated", "body", "invalid",
    "context" (400: longer than the model's context), "loop" (the model repeats itself until
    the token limit), and for articles "short" (a few words) and "plain" (text, no HTML)."""

    kind: str
    times: int | None = 1  # None: every request from now on
    path: str = ""  # only requests whose path contains this
    schema: str = ""  # only chat requests for this function (schema name)
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class Recorded:
    path: str
    authorization: str
    body: dict[str, Any]
    status: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    answer: str = ""  # the content of a chat answer
    started: float = 0.0
    finished: float = 0.0

    @property
    def schema(self) -> str:
        fmt = self.body.get("response_format") or {}
        return str((fmt.get("json_schema") or {}).get("name", ""))

    @property
    def function(self) -> str:
        """Which function is asked: the schema's name, else found in the system prompt."""
        if self.schema:
            return self.schema
        system = " ".join(
            str(m.get("content", ""))
            for m in self.body.get("messages", [])
            if m.get("role") == "system"
        )
        return next((name for name, marker in FUNCTIONS if marker in system), "")

    @property
    def probe(self) -> bool:
        """A connection check's request (`OpenAIProvider.check`), not an AI function call."""
        return (
            self.path.endswith("/models")
            or self.function == "connection_check"
            or (self.path.endswith("/images/generations") and not self.body.get("prompt"))
        )

    @property
    def payload(self) -> dict[str, Any]:
        user = [m for m in self.body.get("messages", []) if m.get("role") == "user"]
        data: dict[str, Any] = json.loads(user[0]["content"]) if user else {}
        return data


class TokenBucket:
    """`rate` requests per second, at most `burst` saved up; full at the start."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self.level = self.burst
        self.at = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> tuple[float | None, dict[str, str]]:
        """Take one request's token: (None if there was one, else seconds until there is;
        OpenAI's headers: the limit, what is left, the time until full again)."""
        with self._lock:
            now = time.monotonic()
            self.level = min(self.burst, self.level + (now - self.at) * self.rate)
            self.at = now
            wait = None
            if self.level >= 1:
                self.level -= 1
            else:
                wait = (1 - self.level) / self.rate
            full_in = (self.burst - self.level) / self.rate
            headers = {
                "x-ratelimit-limit-requests": f"{self.burst:g}",
                "x-ratelimit-remaining-requests": str(int(self.level)),
                "x-ratelimit-reset-requests": f"{full_in * 1000:.0f}ms",
            }
            return wait, headers


# What the system prompt of each function says (prompt-mode requests name no schema).
FUNCTIONS = (
    ("keyword_clusters", "topical clusters"),
    ("cluster_name", "You name a topical cluster"),
    ("content_ideas", "You plan articles"),
    ("article", "You write helpful"),
    ("image_prompts", "art-direct"),
    ("connection_check", "connection check"),
)
FORMATS = ("json_schema", "json_object")


class FakeOpenAI:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        api_key: str = API_KEY,
        rate_limit: float | None = None,
        burst: float | None = None,
        ratelimit_headers: bool = False,
        modes: tuple[str, ...] = FORMATS,
        served_model: str | None = None,
        images: bool = True,
        refuse_max_tokens: bool = False,
        alternate_roles: bool = False,
        strict_subset: bool = False,
        embeddings: bool = True,
    ) -> None:
        self.latency = latency
        self.bucket = TokenBucket(rate_limit, burst) if rate_limit else None
        self.ratelimit_headers = ratelimit_headers
        self.api_key = api_key
        self.modes = modes
        self.served_model = served_model
        self.images = images
        self.refuse_max_tokens = refuse_max_tokens
        self.alternate_roles = alternate_roles
        self.strict_subset = strict_subset
        self.embeddings = embeddings
        self.models = {CHAT_MODEL, IMAGE_MODEL, EMBEDDINGS_MODEL}
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.responders: dict[str, Responder] = {
            "cluster_name": answer_cluster_name,
            "content_ideas": answer_ideas,
            "article": answer_article,
            "image_prompts": answer_image_prompts,
            "connection_check": lambda payload: {"ok": True},
        }
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        # shutdown() waits for the loop's next poll: the default 0.5 s, paid by every test.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- knobs --------------------------------------------------------------------------------
    def inject(self, kind: str, **options: Any) -> Fault:
        fault = Fault(kind=kind, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.requests.clear()
            self.max_in_flight = self.in_flight

    def chat_requests(self, schema: str = "") -> list[Recorded]:
        """The chat requests of AI function calls (for `schema`'s function), not probes."""
        return [
            r
            for r in self.requests
            if r.path.endswith("/chat/completions")
            and not r.probe
            and (not schema or r.function == schema)
        ]

    def embedding_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    def image_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/images/generations") and not r.probe]

    def probe_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.probe]

    # --- serving ------------------------------------------------------------------------------
    def _take_fault(self, record: Recorded) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path and fault.path not in record.path:
                    continue
                if fault.schema and fault.schema != record.function:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def handle(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return _error(400, "the request body is not JSON", "invalid_json")
        record = Recorded(path=path, authorization=headers.get("authorization", ""), body=body)
        with self._lock:
            self.requests.append(record)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        record.started = time.monotonic()
        try:
            wait, limits = self.bucket.take() if self.bucket else (None, {})
            if wait is None:
                status, extra, payload = self._answer(path, record)
            else:
                status, extra, payload = self._rate_limited(wait)
            if self.ratelimit_headers:
                extra = {**limits, **extra}
        finally:
            record.finished = time.monotonic()
            with self._lock:
                self.in_flight -= 1
        record.status = status
        return status, extra, payload

    def _rate_limited(self, wait: float) -> tuple[int, dict[str, str], bytes]:
        """The 429 of an empty token bucket: Retry-After in whole seconds (RFC 9110), and in
        milliseconds too when answering like OpenAI."""
        headers = {"retry-after": str(max(1, math.ceil(wait)))}
        if self.ratelimit_headers:
            headers["retry-after-ms"] = f"{wait * 1000:.0f}"
        return _error(429, "Rate limit reached for requests.", "rate_limit_exceeded", headers)

    def _answer(self, path: str, record: Recorded) -> tuple[int, dict[str, str], bytes]:
        if self.latency:
            time.sleep(self.latency)
        if record.authorization != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        model = record.body.get("model")
        if model not in self.models:
            return _error(404, f"The model `{model}` does not exist.", "model_not_found")
        fault = self._take_fault(record)
        if fault is not None and fault.kind in ("429", "quota", "403", "500", "slow", "body"):
            if fault.kind == "429":
                extra = (
                    {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
                )
                return _error(429, "Rate limit reached.", "rate_limit_exceeded", extra)
            if fault.kind == "quota":  # what OpenAI answers when the account's credit is gone
                return _error(
                    429,
                    "You exceeded your current quota, please check your plan and billing details.",
                    "insufficient_quota",
                    kind="insufficient_quota",
                )
            if fault.kind == "403":
                return _error(
                    403,
                    "Country, region, or territory not supported",
                    "unsupported_country_region_territory",
                    kind="request_forbidden",
                )
            if fault.kind == "500":
                return _error(500, "The server had an error.", "server_error")
            if fault.kind == "body":
                return 200, {"content-type": "application/json"}, b'{"id": "x", "choices": [tr'
            time.sleep(fault.delay)
        if path.endswith("/chat/completions"):
            return self._chat(record, fault)
        if path.endswith("/images/generations") and self.images:
            return self._image(record)
        if path.endswith("/embeddings") and self.embeddings:
            return self._embeddings(record)
        return _error(404, f"Unknown path {path}.", "unknown_url")

    def listing(self, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """`GET /v1/models`: the models served (the served name, when one is set)."""
        record = Recorded(
            path="/v1/models", authorization=headers.get("authorization", ""), body={}
        )
        with self._lock:
            self.requests.append(record)
        if record.authorization != f"Bearer {self.api_key}":
            record.status = 401
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        names = (
            {self.served_model}
            if self.served_model
            else self.models - {IMAGE_MODEL, EMBEDDINGS_MODEL}
        )
        if self.images:
            names |= {IMAGE_MODEL}
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "fake"}
            for name in sorted(names)
        ]
        record.status = 200
        body = json.dumps({"object": "list", "data": data}).encode()
        return 200, {"content-type": "application/json"}, body

    def _chat(self, record: Recorded, fault: Fault | None) -> tuple[int, dict[str, str], bytes]:
        body = record.body
        fmt = body.get("response_format") or {}
        kind = fmt.get("type", "text")
        if not body.get("messages"):
            return _error(400, "messages are required", "invalid")
        if kind != "text" and kind not in self.modes:
            if "json_object" in self.modes:  # llama-cpp-python's server, word for word
                return _error(
                    500,
                    "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
                    f"  Input should be 'text' or 'json_object' [type=literal_error, "
                    f"input_value='{kind}', input_type=str]",
                    "internal_server_error",
                    kind="internal_server_error",
                )
            return _error(
                400, f"response_format type '{kind}' is not supported", "unsupported_value"
            )
        schema = (fmt.get("json_schema") or {}).get("schema")
        if kind == "json_schema" and not schema:
            return _error(400, "a json_schema response_format needs a schema", "invalid")
        if kind == "json_schema" and self.strict_subset and "Length" in json.dumps(schema):
            keyword = "maxLength" if "maxLength" in json.dumps(schema) else "minLength"
            return _error(
                400,
                f"Invalid schema for response_format '{record.schema}': In context=(), "
                f"'{keyword}' is not permitted.",
                "invalid_json_schema",
                param="response_format",
            )
        limit_name = "max_tokens" if "max_tokens" in body else "max_completion_tokens"
        if self.refuse_max_tokens and "max_tokens" in body:  # what OpenAI's newer models say
            return _error(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "unsupported_parameter",
                param="max_tokens",
            )
        roles = [m.get("role") for m in body["messages"] if m.get("role") != "system"]
        if self.alternate_roles and any(a == b for a, b in pairwise(roles)):
            return _error(  # llama-server with Gemma's chat template
                400,
                "Unable to generate parser for this template. Automatic parser generation "
                "failed: Conversation roles must alternate user/assistant/user/assistant/...",
                "invalid",
            )
        if fault is not None and fault.kind == "context":  # llama.cpp's words
            return _error(
                400,
                "the request exceeds the available context size, try increasing it",
                "exceed_context_size_error",
                kind="exceed_context_size_error",
            )
        responder = self.responders.get(record.function)
        if responder is None:
            return _error(400, f"unknown schema {record.function!r}", "invalid")
        answer = responder(record.payload)
        if fault is not None and record.function == "article" and fault.kind == "short":
            answer = {**answer, "html": "<h2>Intro</h2><p>Too short.</p><h2>End</h2><p>Bye.</p>"}
        elif fault is not None and record.function == "article" and fault.kind == "plain":
            answer = {**answer, "html": "Cold brew."}
        content = json.dumps(answer)
        finish = "stop"
        if fault is not None and fault.kind == "malformed":
            content = "Sure! Here is the JSON you asked for: {" + content[:40]
        elif fault is not None and fault.kind == "truncated":
            content, finish = content[: len(content) // 2], "length"
        elif fault is not None and fault.kind == "invalid":
            content = json.dumps({"unexpected": True})
        elif fault is not None and fault.kind == "loop":
            content = content[:-1] + ', "more": "' + "and again, " * 40_000
        elif kind == "text":  # no response_format: a chatty answer around the JSON
            content = f"Here is the JSON you asked for:\n```json\n{content}\n```\nEnjoy!"
        limit = body.get(limit_name)
        if not isinstance(limit, int):
            limit = 32_768  # the server's own limit (its context)
        if len(content) // 4 > limit:  # ~4 characters a token
            content, finish = content[: limit * 4], "length"
        usage = {
            "prompt_tokens": max(1, len(json.dumps(body["messages"])) // 4),
            "completion_tokens": max(1, len(content) // 4),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        record.usage, record.answer = usage, content
        answer = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.served_model or body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }
        return 200, {"content-type": "application/json"}, json.dumps(answer).encode()

    def _embeddings(self, record: Recorded) -> tuple[int, dict[str, str], bytes]:
        texts = record.body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return _error(400, "input must be a string or a list of strings", "invalid")
        tokens = sum(len(t.split()) + 1 for t in texts)
        record.usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        data = [
            {"object": "embedding", "index": i, "embedding": fake_embedding(t)}
            for i, t in enumerate(texts)
        ]
        body = {
            "object": "list",
            "data": data,
            "model": record.body.get("model"),
            "usage": record.usage,
        }
        return 200, {"content-type": "application/json"}, json.dumps(body).encode()

    def _image(self, record: Recorded) -> tuple[int, dict[str, str], bytes]:
        body = record.body
        if not body.get("prompt"):
            return _error(400, "prompt is required", "invalid")
        width, height = (int(x) for x in str(body.get("size", "1024x1024")).split("x"))
        # A picture of the requested shape at an eighth of the size keeps the tests fast.
        shape = (max(1, width // 8), max(1, height // 8))
        picture = Image.new("RGB", shape, (40 + len(body["prompt"]) % 200, 120, 160))
        out = io.BytesIO()
        picture.save(out, "PNG")
        usage = {
            "input_tokens": max(1, len(body["prompt"]) // 4),
            "output_tokens": 1056,
            "total_tokens": max(1, len(body["prompt"]) // 4) + 1056,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": len(body["prompt"]) // 4},
        }
        record.usage = usage
        answer = {
            "created": int(time.time()),
            "data": [{"b64_json": base64.b64encode(out.getvalue()).decode()}],
            "usage": usage,
        }
        return 200, {"content-type": "application/json"}, json.dumps(answer).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeOpenAI

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._send(*self.server_fake.handle(self.path, headers, raw))

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.rstrip("/").endswith("/models"):
            self._send(*self.server_fake.listing(headers))
        else:
            self._send(*_error(404, f"Unknown path {self.path}.", "unknown_url"))

    def _send(self, status: int, extra: dict[str, str], payload: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in {"content-type": "application/json", **extra}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _error(
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
    *,
    kind: str = "invalid_request_error",
    param: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return (
        status,
        {"content-type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


@contextmanager
def fake_openai(**options: Any) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(**options) as server:
        yield server


# --- default answers, built from the request --------------------------------------------------
def answer_cluster_name(payload: dict[str, Any]) -> dict[str, Any]:
    """The suggested name, marked as the model's, and the intent of its first keyword."""
    name = f"{payload['suggested_name']} Hub"
    first = payload["keywords"][0] if payload["keywords"] else ""
    intent = "commercial" if first.split()[:1] == ["best"] else "informational"
    return {"name": name, "description": f"Everything about {name.lower()}.", "intent": intent}


def fake_embedding(text: str) -> list[float]:
    """A deterministic unit vector: the sum of one pseudo-random vector per word (its first
    five letters, so "descale" and "descaling" meet), so phrases sharing words are close."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in text.lower().split():
        digest = hashlib.sha512(word[:5].encode()).digest()  # 64 bytes, one per dimension
        for i in range(EMBEDDING_DIMENSIONS):
            vector[i] += digest[i] / 255.0 - 0.5
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def answer_ideas(payload: dict[str, Any]) -> dict[str, Any]:
    phrases = [k["phrase"] for k in payload["keywords"]] or [payload["name"]]
    return {
        "ideas": [
            {
                "title": f"The complete guide to {phrase}",
                "primary_keyword": phrase,
                "target_keywords": phrases[:5],
                "content_type": "guide",
                "content_structure": "article",
                "outline": [f"What {phrase} means", "How to start", "Common mistakes", "FAQ"],
            }
            for phrase in phrases[:2]
        ]
    }


def answer_article(payload: dict[str, Any]) -> dict[str, Any]:
    sections = "".join(
        f"<h2>{heading}</h2><p>{' '.join([payload['primary_keyword']] * 3)} explained in "
        f"plain words, with practical advice you can use today.</p>"
        for heading in payload["outline"] or ["Overview"]
    )
    if payload.get("min_words"):  # as long as the site asks
        sections += f"<p>{' '.join(['more'] * payload['min_words'])}</p>"
    return {
        "title": payload["title"],
        "html": sections,
        "meta_description": f"Learn about {payload['primary_keyword']}."[:155],
        "slug": payload["title"].lower().replace(" ", "-"),
    }


def answer_image_prompts(payload: dict[str, Any]) -> dict[str, Any]:
    prompts = [
        {
            "kind": "featured",
            "position": 0,
            "prompt": f"A photograph illustrating {payload['title']}",
            "alt_text": payload["title"][:100],
        }
    ]
    if payload["sections"]:
        prompts.append(
            {
                "kind": "in_article",
                "position": 1,
                "prompt": f"An illustration of {payload['sections'][0]}",
                "alt_text": payload["sections"][0][:100],
            }
        )
    return {"prompts": prompts}


def main() -> None:
    """Serve the fake on its own (`python -m tests.ai.fake_openai --latency 0.1`): prints its
    base URL, then serves until stdin closes (benchmarks run it as a separate process)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--rate-limit", type=float, help="requests per second (token bucket)")
    parser.add_argument("--burst", type=float, help="requests the bucket holds (default: R)")
    parser.add_argument("--ratelimit-headers", action="store_true", help="x-ratelimit-* headers")
    args = parser.parse_args()
    with FakeOpenAI(
        latency=args.latency,
        rate_limit=args.rate_limit,
        burst=args.burst,
        ratelimit_headers=args.ratelimit_headers,
    ) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()
        limited = sum(1 for r in server.requests if r.status == 429)
        print(
            f"max_in_flight={server.max_in_flight} requests={len(server.requests)}"
            f" rate_limited={limited}",
            flush=True,
        )


if __name__ == "__main__":
    main()
