"""Adaptive pacing of the `openai` provider's HTTP requests, so a run uses an endpoint's rate
limit without a storm of 429 answers.

`RateLimiter` decides when the next request may start; `RateLimitedTransport` (an httpx
transport under the SDK's client) asks it before every request, each SDK retry included, and
tells it what came back. Three signals, strongest first:

1. **`x-ratelimit-*` headers** (OpenAI, Azure, Groq and most hosted gateways):
   `x-ratelimit-limit-requests`, `-remaining-requests`, `-reset-requests` (the time until the
   bucket is full again, in OpenAI's duration format "1s", "6m0s", "20ms") and the same three
   for tokens. Each describes a token bucket: its capacity, what was left when a request
   arrived, and (from the reset time) its refill rate. The limiter keeps a copy of each bucket:
   what an answer said was left, refilled since, less every request started after it (the
   lowest of the last 16 answers' views, since requests started together may reach the server
   in another order), and starts a request only while the copy keeps a reserve (2% of the
   capacity, at least one request's cost): it spends the bucket at its refill rate and is not
   refused while the copy is right. A token limit's cost per request is learned from how
   `remaining` falls.
2. **`Retry-After`** (`retry-after-ms` first, then `retry-after` in seconds or as a date) on a
   429: no request starts until then (at most 120 s). A whole number of seconds counts one
   less: servers round it up, and holding a whole second would let a small bucket overflow
   (the SDK still waits all of it before retrying the refused request itself).
3. **A 429 the headers do not explain** (servers without `x-ratelimit-*`, e.g. a gateway in
   front of vLLM or llama.cpp): AIMD on the request rate. Requests start at most `rate` per
   second; each that starts on that pace raises it by 0.05%, more the longer no 429 came (×2
   after 200 such requests): an additive increase per request, whatever the scale. A 429
   lowers it to 95% of the lower of the current rate and the measured limit, once per episode
   (requests started before the decrease do not count again). The measured limit: requests
   let through between the oldest 429 of the last 30 s (or the previous one) and this one,
   divided by that time; every 429 means the bucket was empty, so what it let through in
   between is what it refilled (less what overflowed while the pace was lower). The first 429
   only holds, until a second one can be measured against it. Plain AIMD on a window halves
   and loses about a quarter of the limit; anchoring the decrease on the measured limit keeps
   the pace between about 95% and 100% of it. A pace without a 429 for 5 minutes is dropped.

Requests in flight never exceed the ceiling, `INKLINE_AI_CONCURRENCY` (the engine's thread
pool width) unless another is given. All decisions are pure functions of an injected monotonic
clock (`delay`, `start`, `observe`, `release`); only `acquire` waits.
"""

from __future__ import annotations

import email.utils
import math
import re
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
from django.conf import settings
from openai import DEFAULT_CONNECTION_LIMITS

from inkline import clock as wall_clock

# The reserve kept in a bucket described by headers: a share of its capacity, at least one
# request's cost (arrival order and clocks differ a little between client and server).
RESERVE_SHARE = 0.02
# Refill assumed when a bucket's reset time is not sent: OpenAI's limits are per minute.
DEFAULT_WINDOW = 60.0
REFILL_SAMPLES = 20  # refill rates read from recent answers, the lowest taken
ANCHORS = 16  # recent answers whose view of a bucket is kept, the lowest taken
# AIMD on the request rate when only 429s say anything.
BACKOFF = 0.95
PROBE = 0.0005  # growth of the rate per request started on its pace
ACCELERATE = 200  # ... and faster the longer no 429 came: ×2 after 200 such requests
MEMORY = 30.0  # seconds of 429s and answers kept to measure the limit
MIN_MEASURED = 4  # answers between two 429s needed to trust the measured limit
FORGET = 300.0  # a paced rate without a 429 for this long is dropped
RATE_FLOOR = 1 / 60  # requests per second, never lower
MAX_HOLD = 120.0  # the longest Retry-After honoured (the SDK's own limit)
MAX_NAP = 1.0  # a waiting thread looks again at least this often

KINDS = ("requests", "tokens")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


class RateLimitWait(Exception):
    """No request could start before the caller's deadline."""


@dataclass
class Ticket:
    """One request let through: its place in the order of starts and when it started."""

    seq: int
    started: float
    released: bool = False


@dataclass
class Bucket:
    """The client's copy of one server limit described by `x-ratelimit-*` headers."""

    capacity: float
    refill: float  # units per second
    level: float  # units left when the newest answered request arrived
    at: float  # when that request started
    seq: int  # that request
    cost: float | None  # units one request takes: 1 for requests, learned for tokens
    samples: deque[float] = field(default_factory=lambda: deque(maxlen=REFILL_SAMPLES))
    # (level, at, seq) of recent answers: requests started together may reach the server in
    # another order, so each answer's view is kept and the lowest taken
    anchors: deque[tuple[float, float, int]] = field(default_factory=lambda: deque(maxlen=ANCHORS))

    def available(self, now: float, started: int) -> float:
        """Units left now: an answer's level, refilled since, less every later start; the
        lowest of the recent answers' views (each uncapped: a view that overlooks the bucket
        filling up errs high and is not the lowest), at most the capacity."""
        cost = self.cost or 0.0
        lowest = min(
            level + self.refill * max(0.0, now - at) - cost * (started - seq - 1)
            for level, at, seq in self.anchors or [(self.level, self.at, self.seq)]
        )
        return min(self.capacity, lowest)

    def need(self) -> float:
        """Units a start needs: its cost and the reserve (none in a bucket of 2 requests)."""
        cost = self.cost or 0.0
        reserve = min(max(cost, RESERVE_SHARE * self.capacity), self.capacity - 2 * cost)
        return cost + max(0.0, reserve)

    def wait(self, now: float, started: int) -> float:
        """Seconds until a request may start without eating into the reserve."""
        if self.cost is None:
            return 0.0  # a token limit whose cost per request is not known yet
        short = self.need() - self.available(now, started)
        return max(0.0, short / self.refill)


def _engine_concurrency() -> int:
    return int(settings.INKLINE_AI_CONCURRENCY)


class RateLimiter:
    """When the next request may start, learned from the answers. Thread-safe."""

    def __init__(
        self,
        *,
        ceiling: int | Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ceiling = _engine_concurrency if ceiling is None else ceiling
        self._clock = clock
        self._cond = threading.Condition()
        self.in_flight = 0
        self.started = 0
        self.answered = 0
        self.rate_limited = 0
        self.buckets: dict[str, Bucket] = {}
        self.rate = math.inf  # requests per second when only 429s inform; inf: not paced
        self.hold_until = -math.inf
        self._next_free = -math.inf
        self._decreased_at = -math.inf
        self._probes = 0  # requests started on pace since the last decrease
        self._last_limited = -math.inf
        self._limited: deque[float] = deque()  # start times of requests answered 429
        self._answers: deque[float] = deque()  # start times of the others
        self._open: dict[int, float] = {}  # start times of requests not answered yet

    # --- decisions (pure: the caller holds no lock; each takes the limiter's own) -----------
    def ceiling(self) -> int:
        value = self._ceiling() if callable(self._ceiling) else self._ceiling
        return max(1, int(value))

    def delay(self) -> float:
        """Seconds until a request may start: 0 now, `inf` until one in flight ends."""
        with self._cond:
            return self._delay(self._clock())

    def start(self) -> Ticket:
        """Let a request through now (whatever `delay` says) and count it in flight."""
        with self._cond:
            return self._start(self._clock())

    def try_start(self) -> Ticket | None:
        with self._cond:
            now = self._clock()
            return self._start(now) if self._delay(now) <= 0 else None

    def acquire(self, timeout: float | None = None) -> Ticket:
        """Wait until a request may start, then start it; RateLimitWait after `timeout`."""
        with self._cond:
            deadline = None if timeout is None else self._clock() + timeout
            while True:
                now = self._clock()
                wait = self._delay(now)
                if wait <= 0:
                    return self._start(now)
                if deadline is not None:
                    if now >= deadline:
                        raise RateLimitWait(
                            f"no request could start within {timeout:g} s: the endpoint's rate "
                            f"limit (next start in {wait:.1f} s)"
                        )
                    wait = min(wait, deadline - now)
                self._cond.wait(min(wait, MAX_NAP))

    def observe(self, ticket: Ticket, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer's status and headers (before its body is read)."""
        with self._cond:
            now = self._clock()
            self._open.pop(ticket.seq, None)
            limits = ratelimit_headers(headers)
            for kind, (limit, remaining, reset) in limits.items():
                self._observe_bucket(kind, ticket, limit, remaining, reset)
            if status == 429:
                self.rate_limited += 1
                self._limited.append(ticket.started)
                self._last_limited = now
                explained = any(
                    b.cost is not None and b.available(now, self.started) < b.need()
                    for kind, b in self.buckets.items()
                    if kind in limits
                )
                if not explained:
                    self._back_off(ticket, now)
                hold = retry_after(headers)
                if hold is not None and whole_seconds(headers):
                    hold -= 1  # rounded up to a second: the real wait may be that much less
                if hold is not None and hold > 0:
                    self.hold_until = max(self.hold_until, now + min(hold, MAX_HOLD))
            else:
                self.answered += 1
                self._answers.append(ticket.started)
            self._forget(now)
            self._cond.notify_all()

    def release(self, ticket: Ticket) -> None:
        """The request is over (answered or failed): free its place. Idempotent."""
        with self._cond:
            if ticket.released:
                return
            ticket.released = True
            self.in_flight -= 1
            self._open.pop(ticket.seq, None)
            self._cond.notify_all()

    def snapshot(self) -> dict[str, Any]:
        """What the limiter knows, for logs and benchmarks."""
        with self._cond:
            return {
                "in_flight": self.in_flight,
                "started": self.started,
                "answered": self.answered,
                "rate_limited": self.rate_limited,
                "rate": None if math.isinf(self.rate) else round(self.rate, 3),
                "buckets": {
                    kind: {
                        "capacity": b.capacity,
                        "refill": round(b.refill, 3),
                        "cost": None if b.cost is None else round(b.cost, 1),
                    }
                    for kind, b in self.buckets.items()
                },
            }

    # --- the logic, under the lock ------------------------------------------------------------
    def _delay(self, now: float) -> float:
        if self.in_flight >= self.ceiling():
            return math.inf
        wait = self.hold_until - now
        if not math.isinf(self.rate):
            wait = max(wait, self._next_free - now)
        for bucket in self.buckets.values():
            wait = max(wait, bucket.wait(now, self.started))
        return max(0.0, wait)

    def _start(self, now: float) -> Ticket:
        ticket = Ticket(seq=self.started, started=now)
        self.started += 1
        self.in_flight += 1
        self._open[ticket.seq] = now
        if not math.isinf(self.rate):
            interval = 1 / self.rate
            on_pace = self._next_free > now - interval  # demand keeps up with the pace
            self._next_free = max(self._next_free, now - interval) + interval
            if on_pace:
                self._probes += 1
                self.rate *= 1 + PROBE * (1 + self._probes / ACCELERATE)
        return ticket

    def _observe_bucket(
        self, kind: str, ticket: Ticket, limit: float, remaining: float, reset: float | None
    ) -> None:
        refill = None
        if reset is not None and reset > 0 and remaining < limit:
            refill = (limit - remaining) / reset
        bucket = self.buckets.get(kind)
        if bucket is None:
            self.buckets[kind] = Bucket(
                capacity=limit,
                refill=refill or limit / DEFAULT_WINDOW,
                level=remaining,
                at=ticket.started,
                seq=ticket.seq,
                cost=1.0 if kind == "requests" else None,
                samples=deque([refill] if refill else [], maxlen=REFILL_SAMPLES),
                anchors=deque([(remaining, ticket.started, ticket.seq)], maxlen=ANCHORS),
            )
            return
        bucket.anchors.append((remaining, ticket.started, ticket.seq))
        bucket.capacity = limit
        if refill is not None:
            # `remaining` is a whole number rounded down, so each sample is at least the real
            # refill rate (by up to one unit over `reset`): the lowest recent one is the best.
            bucket.samples.append(refill)
            bucket.refill = min(bucket.samples)
        if ticket.seq <= bucket.seq:
            return  # older than the newest answer: no cost to learn
        if kind == "tokens":
            expected = min(
                bucket.capacity, bucket.level + bucket.refill * (ticket.started - bucket.at)
            )
            used = expected - remaining
            if used > 0 and expected < bucket.capacity:
                sample = used / (ticket.seq - bucket.seq)
                bucket.cost = sample if bucket.cost is None else 0.7 * bucket.cost + 0.3 * sample
        bucket.level, bucket.at, bucket.seq = remaining, ticket.started, ticket.seq

    def _back_off(self, ticket: Ticket, now: float) -> None:
        if ticket.started <= self._decreased_at:
            return  # started before the last decrease: the same episode
        candidates = [self.rate, self._measured_limit()]
        known = [BACKOFF * c for c in candidates if c is not None and not math.isinf(c)]
        if not known:
            return  # the first 429: only its Retry-After, until the limit can be measured
        self.rate = max(RATE_FLOOR, min(known))
        self._decreased_at = now
        self._probes = 0
        self._next_free = max(self._next_free, now + 1 / self.rate)

    def _measured_limit(self) -> float | None:
        """Requests per second let through between the oldest and newest 429 kept: the bucket
        was empty at both, so what it let through in between is what it refilled. Requests of
        that time still in flight count too (a 429 comes back at once, an answer takes long)."""
        if len(self._limited) < 2:
            return None
        first, last = min(self._limited), max(self._limited)
        answered = sum(1 for t in self._answers if first < t <= last)
        answered += sum(1 for t in self._open.values() if first < t < last)
        if answered < MIN_MEASURED or last <= first:
            return None
        return answered / (last - first)

    def _forget(self, now: float) -> None:
        # 429s of the last MEMORY seconds, and always the newest (the start of this cycle)
        while len(self._limited) > 1 and self._limited[0] < now - MEMORY:
            self._limited.popleft()
        oldest = min(now - MEMORY, min(self._limited, default=now))
        while self._answers and self._answers[0] < oldest:
            self._answers.popleft()
        if not math.isinf(self.rate) and now - self._last_limited > FORGET:
            self.rate = math.inf


# --- headers ------------------------------------------------------------------------------------
def parse_duration(value: str | None) -> float | None:
    """Seconds in OpenAI's reset format ("1s", "6m0s", "20ms", "1h2m3.5s") or a plain number
    of seconds; None when unreadable."""
    if value is None:
        return None
    text = value.strip().lower()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def ratelimit_headers(headers: Mapping[str, str]) -> dict[str, tuple[float, float, float | None]]:
    """{"requests" | "tokens": (limit, remaining, reset seconds or None)} for each limit whose
    `x-ratelimit-limit-*` and `x-ratelimit-remaining-*` are both readable and positive."""
    found = {}
    for kind in KINDS:
        try:
            limit = float(headers.get(f"x-ratelimit-limit-{kind}") or "")
            remaining = float(headers.get(f"x-ratelimit-remaining-{kind}") or "")
        except ValueError:
            continue
        if not (math.isfinite(limit) and math.isfinite(remaining)) or limit <= 0:
            continue
        reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
        found[kind] = (limit, max(0.0, min(remaining, limit)), reset)
    return found


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, else `retry-after` (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - wall_clock.now()).total_seconds())


def whole_seconds(headers: Mapping[str, str]) -> bool:
    """Whether the wait was given only as a whole number of seconds (`retry-after: 1`), which
    servers round up: the real wait may be up to a second shorter."""
    if "retry-after-ms" in headers:
        return False
    try:
        return float(headers.get("retry-after", "")).is_integer()
    except ValueError:
        return False


def proxy_for(url: httpx2.URL, proxies: Mapping[str, str]) -> str | None:
    """The proxy the environment names for `url` (`urllib.request.getproxies_environment()`:
    HTTP(S)_PROXY, ALL_PROXY, NO_PROXY), as an httpx client would pick it: a client given
    its own transport does not look."""
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = url.host.lower()
    for entry in proxies.get("no", "").split(","):
        name = entry.strip().lower().split("://", 1)[-1]
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name  # a port
        name = name.strip("[]").lstrip(".")
        if name == "*" or (name and (host == name or host.endswith("." + name))):
            return None
    return proxy


# --- the transport ------------------------------------------------------------------------------
class RateLimitedTransport(httpx2.BaseTransport):
    """An httpx transport that asks `limiter` before each request and tells it each answer.

    Under `openai.DefaultHttpxClient(transport=...)`: a client given a transport neither sizes
    its connection pool nor reads proxy settings from the environment, so the transports
    underneath are built here with the SDK's pool limits and the environment's proxy."""

    def __init__(
        self, limiter: RateLimiter, *, transport: httpx2.BaseTransport | None = None
    ) -> None:
        self.limiter = limiter
        self._given = transport
        self._proxies = urllib.request.getproxies_environment()
        self._inner: dict[str | None, httpx2.BaseTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = request.extensions.get("timeout") or {}
        try:
            ticket = self.limiter.acquire(timeout=timeouts.get("pool"))
        except RateLimitWait as exc:
            raise httpx2.PoolTimeout(str(exc), request=request) from exc
        try:
            response = self._transport_for(request.url).handle_request(request)
            self.limiter.observe(ticket, response.status_code, response.headers)
        finally:
            # Its place is free once the headers are in: a completion's body follows at once.
            self.limiter.release(ticket)
        return response

    def close(self) -> None:
        with self._lock:
            inner, self._inner = list(self._inner.values()), {}
        for transport in inner:
            transport.close()
        if self._given is not None:
            self._given.close()

    def _transport_for(self, url: httpx2.URL) -> httpx2.BaseTransport:
        if self._given is not None:
            return self._given
        proxy = proxy_for(url, self._proxies)
        with self._lock:
            transport = self._inner.get(proxy)
            if transport is None:
                transport = self._inner[proxy] = httpx2.HTTPTransport(
                    limits=DEFAULT_CONNECTION_LIMITS, proxy=proxy
                )
            return transport
