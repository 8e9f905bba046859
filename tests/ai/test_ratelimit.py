"""Adaptive pacing of the `openai` provider (`inkline.ai.ratelimit`): the limiter's decisions
on an injected clock, a simulated token-bucket endpoint driven through them, the transport,
and real calls against the fake OpenAI server with a rate limit."""

from __future__ import annotations

import datetime as dt
import heapq
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
import time_machine

from inkline.ai import ratelimit
from inkline.ai.openai_provider import OpenAIProvider
from inkline.ai.ratelimit import (
    RateLimitedTransport,
    RateLimiter,
    Ticket,
    parse_duration,
    proxy_for,
    ratelimit_headers,
    retry_after,
)
from inkline.ai.types import ArticleIn
from tests.ai.fake_openai import API_KEY, CHAT_MODEL, IMAGE_MODEL, FakeOpenAI


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(ceiling: int = 8) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(ceiling=ceiling, clock=clock), clock


def openai_headers(limit: int, remaining: int, reset: str, **extra: str) -> dict[str, str]:
    return {
        "x-ratelimit-limit-requests": str(limit),
        "x-ratelimit-remaining-requests": str(remaining),
        "x-ratelimit-reset-requests": reset,
        **extra,
    }


# --- headers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0s", 0.0),
        ("17.324s", 17.324),
        ("250us", 0.00025),
        ("2.5", 2.5),
        (" 3 ", 3.0),
    ],
)
def test_reset_durations_in_openai_format_are_read(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "1x", "s", "-1", "1s garbage", "inf", None])
def test_unreadable_durations_are_none(text: str | None) -> None:
    assert parse_duration(text) is None


def test_ratelimit_headers_give_each_limit_with_its_reset() -> None:
    headers = {
        **openai_headers(500, 499, "120ms"),
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "29000",
    }
    assert ratelimit_headers(headers) == {
        "requests": (500.0, 499.0, pytest.approx(0.12)),
        "tokens": (30000.0, 29000.0, None),
    }
    assert ratelimit_headers({"x-ratelimit-limit-requests": "500"}) == {}
    assert ratelimit_headers(openai_headers(0, 0, "1s")) == {}
    assert (
        ratelimit_headers(
            {"x-ratelimit-limit-requests": "a", "x-ratelimit-remaining-requests": "1"}
        )
        == {}
    )


def test_retry_after_prefers_milliseconds_then_seconds_then_a_date() -> None:
    assert retry_after({"retry-after-ms": "250", "retry-after": "1"}) == pytest.approx(0.25)
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after": "0.5"}) == 0.5
    assert retry_after({}) is None
    assert retry_after({"retry-after": "later"}) is None
    with time_machine.travel(dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.UTC), tick=False):
        assert retry_after({"retry-after": "Mon, 07 Dec 2026 12:00:30 GMT"}) == 30.0
        assert retry_after({"retry-after": "Mon, 07 Dec 2026 11:00:00 GMT"}) == 0.0


def test_proxy_comes_from_the_environment_as_an_httpx_client_would_take_it() -> None:
    proxies = {"https": "http://proxy:3128", "no": "localhost,127.0.0.1,.internal"}
    assert proxy_for(httpx2.URL("https://api.openai.com/v1"), proxies) == "http://proxy:3128"
    assert proxy_for(httpx2.URL("http://127.0.0.1:8080/v1"), proxies) is None
    assert proxy_for(httpx2.URL("http://vllm.internal:8000/v1"), proxies) is None
    assert proxy_for(httpx2.URL("http://example.com/v1"), proxies) is None  # no http proxy
    assert proxy_for(httpx2.URL("http://example.com/v1"), {"all": "socks5://s:1"}) == "socks5://s:1"
    assert proxy_for(httpx2.URL("https://api.openai.com/v1"), {}) is None


# --- the ceiling --------------------------------------------------------------------------------
def test_requests_in_flight_never_exceed_the_ceiling() -> None:
    limits, _ = limiter(ceiling=2)
    first, second = limits.start(), limits.start()
    assert limits.delay() == math.inf and limits.try_start() is None
    limits.release(first)
    limits.release(first)  # idempotent
    assert limits.in_flight == 1 and limits.delay() == 0
    limits.release(second)


def test_the_default_ceiling_follows_the_engine_pool_width(settings: Any) -> None:
    limits = RateLimiter(clock=Clock())
    settings.INKLINE_AI_CONCURRENCY = 3
    tickets = [limits.start() for _ in range(3)]
    assert limits.delay() == math.inf
    settings.INKLINE_AI_CONCURRENCY = 4
    assert limits.delay() == 0
    for ticket in tickets:
        limits.release(ticket)


# --- pacing by x-ratelimit headers --------------------------------------------------------------
def test_headers_pace_starts_at_the_buckets_refill_rate_keeping_a_reserve() -> None:
    limits, clock = limiter()
    t0, _, _ = limits.start(), limits.start(), limits.start()
    # after t0 the bucket of 10 held 2, and would be full again in 0.8 s: 10 requests/s
    limits.observe(t0, 200, openai_headers(10, 2, "800ms"))
    assert limits.buckets["requests"].refill == pytest.approx(10.0)
    # 2 left, less the 2 started after t0: 0; a start needs 1 and a reserve of 1 → 0.2 s
    assert limits.delay() == pytest.approx(0.2)
    clock.now += 0.2
    assert limits.delay() == 0
    limits.start()
    assert limits.delay() == pytest.approx(0.1)  # then one per refill interval
    clock.now += 0.1
    assert limits.try_start() is not None


def test_answers_arriving_out_of_order_hold_starts_back_by_the_lowest_view() -> None:
    limits, _ = limiter(ceiling=16)
    tickets = [limits.start() for _ in range(8)]  # started together
    # the last one reached the server first: 9 of 10 left, and nothing started since
    limits.observe(tickets[-1], 200, openai_headers(10, 9, "50ms"))
    assert limits.buckets["requests"].available(limits._clock(), limits.started) == 9
    # the first one reached it last: 2 left then; 7 started after it
    limits.observe(tickets[0], 200, openai_headers(10, 2, "400ms"))
    assert limits.buckets["requests"].available(limits._clock(), limits.started) == -5
    assert limits.delay() == pytest.approx(7 / 20)


def test_without_a_reset_header_the_bucket_refills_its_capacity_per_minute() -> None:
    limits, _ = limiter()
    ticket = limits.start()
    limits.observe(
        ticket, 200, {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0"}
    )
    assert limits.buckets["requests"].refill == pytest.approx(10.0)


def test_a_tiny_bucket_keeps_no_reserve() -> None:
    limits, _ = limiter()
    ticket = limits.start()
    limits.observe(ticket, 200, openai_headers(2, 0, "100ms"))  # 20/s, empty
    assert limits.delay() == pytest.approx(0.05)  # one request's worth, not two


def test_token_limits_learn_the_cost_of_a_request_and_pace_by_it() -> None:
    limits, _ = limiter(ceiling=100)

    def tokens(remaining: int) -> dict[str, str]:  # 60,000 a minute: 1,000 a second
        return {
            "x-ratelimit-limit-tokens": "60000",
            "x-ratelimit-remaining-tokens": str(remaining),
            "x-ratelimit-reset-tokens": f"{(60000 - remaining) / 1000:g}s",
        }

    first = limits.start()
    limits.observe(first, 200, tokens(59000))
    assert limits.buckets["tokens"].cost is None and limits.delay() == 0  # cost not known yet
    tickets = [limits.start() for _ in range(4)]
    limits.observe(tickets[-1], 200, tokens(55000))  # 4 requests took 4,000 tokens
    bucket = limits.buckets["tokens"]
    assert bucket.refill == pytest.approx(1000.0)
    assert bucket.cost == pytest.approx(1000.0)
    # 55,000 left: a start needs its 1,000 and the reserve (2%: 1,200) → 52 more start at once
    for _ in range(52):
        assert limits.try_start() is not None
    assert limits.delay() == 0  # 3,000 left
    limits.start()
    assert limits.delay() == pytest.approx(0.2)  # 2,000 left: 200 short at 1,000 a second


def test_a_429_the_headers_explain_holds_for_retry_after_and_leaves_the_rate_alone() -> None:
    limits, _ = limiter()
    ticket = limits.start()
    limits.observe(ticket, 429, openai_headers(20, 0, "1s", **{"retry-after-ms": "300"}))
    assert limits.rate_limited == 1 and math.isinf(limits.rate)
    assert limits.delay() == pytest.approx(0.3)


# --- AIMD when only 429s speak --------------------------------------------------------------------
def answered(limits: RateLimiter, clock: Clock, count: int, every: float) -> None:
    for _ in range(count):
        ticket = limits.start()
        limits.observe(ticket, 200, {})
        limits.release(ticket)
        clock.now += every


def refused(limits: RateLimiter, headers: dict[str, str] | None = None) -> Ticket:
    ticket = limits.start()
    limits.observe(ticket, 429, headers if headers is not None else {"retry-after": "1"})
    limits.release(ticket)
    return ticket


def test_the_first_429_only_holds_then_the_second_paces_at_95_percent_of_the_measured_limit() -> (
    None
):
    limits, clock = limiter()
    refused(limits, {"retry-after": "1.5"})
    assert math.isinf(limits.rate)
    assert limits.delay() == pytest.approx(1.5)  # Retry-After, nothing measured yet
    clock.now += 1.5
    answered(limits, clock, 20, every=0.025)  # 20 answers in the half second after the hold
    refused(limits, {"retry-after": "0.2"})
    # 20 let through between two empty moments 2 s apart: 10/s; paced at 9.5/s, and held
    assert limits.rate == pytest.approx(9.5)
    assert limits.delay() == pytest.approx(0.2)
    clock.now += 0.2
    limits.start()
    clock.now += limits.delay()  # a slot missed during the hold may be caught up
    limits.start()
    assert limits.delay() == pytest.approx(1 / 9.5, rel=0.01)


def test_a_retry_after_in_whole_seconds_holds_a_second_less() -> None:
    """Servers round it up (a bucket refilling 20 a second answers `retry-after: 1`): holding
    the whole second would let a small bucket overflow; the SDK still waits it out before
    retrying the refused request itself."""
    limits, _ = limiter()
    refused(limits, {"retry-after": "1"})
    assert limits.delay() == 0
    refused(limits, {"retry-after": "3"})
    assert limits.delay() == pytest.approx(2.0)
    refused(limits, {"retry-after": "4", "retry-after-ms": "3500"})
    assert limits.delay() == pytest.approx(3.5)


def test_requests_still_in_flight_count_as_let_through() -> None:
    limits, clock = limiter()
    refused(limits)
    clock.now += 1.0
    answered(limits, clock, 10, every=0.05)
    for _ in range(10):  # their answers take long, a 429 comes back at once
        limits.start()
        clock.now += 0.05
    refused(limits)
    assert limits.rate == pytest.approx(0.95 * 20 / 2.0)


def test_429s_of_one_episode_lower_the_rate_once() -> None:
    limits, clock = limiter()
    refused(limits)
    clock.now += 1.0
    answered(limits, clock, 20, every=0.05)
    early = limits.start()  # started before the decrease, refused after it
    refused(limits)
    rate = limits.rate
    limits.observe(early, 429, {})
    assert limits.rate == rate
    clock.now += 1.0
    refused(limits)  # a later request: a new episode
    assert limits.rate < rate


def test_the_rate_grows_only_while_demand_keeps_up_with_it() -> None:
    limits, clock = limiter()
    limits.rate = 10.0
    for _ in range(100):  # back to back, each as soon as allowed
        clock.now += max(limits.delay(), 0)
        limits.release(limits.start())
    expected = 10.0 * math.prod(
        1 + ratelimit.PROBE * (1 + k / ratelimit.ACCELERATE) for k in range(1, 100)
    )
    assert limits.rate == pytest.approx(expected, rel=0.01)  # the first start set the pace
    grown = limits.rate
    for _ in range(10):  # one a second: below the pace
        clock.now += 1.0
        limits.release(limits.start())
    assert limits.rate == grown


def test_a_pace_without_429_for_five_minutes_is_forgotten() -> None:
    limits, clock = limiter()
    refused(limits)
    clock.now += 1.0
    answered(limits, clock, 20, every=0.05)
    refused(limits)
    assert not math.isinf(limits.rate)
    clock.now += ratelimit.FORGET + 1
    answered(limits, clock, 1, every=0)
    assert math.isinf(limits.rate)


# --- a simulated endpoint -------------------------------------------------------------------------
@dataclass
class Simulation:
    """A token bucket endpoint (rate, burst) answering after `latency` (a 429 at once), and
    `workers` callers that retry a refused request after its Retry-After, like the SDK: the
    limiter decides every start, on simulated time."""

    rate: float
    burst: float
    headers: bool
    workers: int = 8
    latency: float = 0.1
    seconds: float = 120.0
    warmup: float = 20.0
    answered: list[float] = field(default_factory=list)
    requests: int = 0
    refused: int = 0

    def run(self) -> Simulation:
        clock = Clock()
        t0 = clock.now
        limits = RateLimiter(ceiling=self.workers, clock=clock)
        level, at = self.burst, t0
        events: list[tuple[float, int, str, Any]] = []  # (time, order, kind, payload)
        order = 0
        ready = [t0] * self.workers  # when each worker wants to start its next request
        while clock.now < t0 + self.seconds:
            for worker, when in enumerate(ready):
                if when <= clock.now and limits.delay() == 0:
                    ticket = limits.start()
                    ready[worker] = math.inf
                    self.requests += 1
                    level, at = min(self.burst, level + (clock.now - at) * self.rate), clock.now
                    headers: dict[str, str] = {}
                    if level >= 1:
                        level -= 1
                        status, done = 200, clock.now + self.latency
                    else:
                        status, done = 429, clock.now + 0.001
                        wait = (1 - level) / self.rate
                        headers["retry-after"] = str(math.ceil(wait))
                        if self.headers:
                            headers["retry-after-ms"] = f"{wait * 1000:.0f}"
                    if self.headers:
                        full_in = (self.burst - level) / self.rate
                        headers |= openai_headers(
                            int(self.burst), int(level), f"{full_in * 1000:.0f}ms"
                        )
                    order += 1
                    heapq.heappush(
                        events, (done, order, "answer", (worker, ticket, status, headers))
                    )
                    clock.now += 1e-5  # a start takes a little time: no two at the same instant
            upcoming = [events[0][0]] if events else []
            if any(when <= clock.now for when in ready) and limits.delay() < math.inf:
                upcoming.append(clock.now + max(limits.delay(), 1e-4))
            upcoming += [when for when in ready if when > clock.now]
            clock.now = min(upcoming)
            while events and events[0][0] <= clock.now:
                _, _, _, (worker, ticket, status, headers) = heapq.heappop(events)
                limits.observe(ticket, status, headers)
                limits.release(ticket)
                if status == 429:
                    self.refused += 1
                    ready[worker] = clock.now + float(retry_after(headers) or 0)
                else:
                    self.answered.append(clock.now - t0)
                    ready[worker] = clock.now
        return self

    @property
    def throughput(self) -> float:
        steady = [t for t in self.answered if t >= self.warmup]
        return len(steady) / (self.seconds - self.warmup) / self.rate

    @property
    def refused_share(self) -> float:
        return self.refused / self.requests


@pytest.mark.parametrize(
    ("rate", "burst", "workers", "seconds"),
    [(20, 20, 8, 120), (20, 2, 8, 120), (5, 300, 8, 120), (2, 2, 8, 300), (100, 100, 24, 40)],
)
def test_simulated_endpoint_with_openai_headers_is_used_to_its_limit(
    rate: float, burst: float, workers: int, seconds: float
) -> None:
    sim = Simulation(
        rate=rate, burst=burst, headers=True, workers=workers, seconds=seconds, warmup=seconds / 6
    ).run()
    assert sim.throughput >= 0.98, sim.throughput
    # a burst of the pool before the first answer says how small the bucket is, then none
    assert sim.refused <= max(0, workers - burst) + 1, sim.refused


@pytest.mark.parametrize(
    ("rate", "burst", "workers", "seconds"),
    [(20, 20, 8, 120), (20, 2, 8, 120), (5, 5, 8, 240), (20, 1200, 8, 120), (100, 100, 24, 40)],
)
def test_simulated_endpoint_with_only_429_and_retry_after_is_used_to_its_limit(
    rate: float, burst: float, workers: int, seconds: float
) -> None:
    sim = Simulation(
        rate=rate, burst=burst, headers=False, workers=workers, seconds=seconds, warmup=seconds / 6
    ).run()
    assert sim.throughput >= 0.95, sim.throughput
    assert sim.refused_share <= 0.02, (sim.refused, sim.requests)


# --- the transport --------------------------------------------------------------------------------
def test_the_transport_asks_before_each_request_and_tells_each_answer() -> None:
    statuses = iter([429, 200])

    def answer(request: httpx2.Request) -> httpx2.Response:
        assert limits.in_flight == 1
        return httpx2.Response(next(statuses), headers={"retry-after-ms": "0"}, json={})

    limits, _ = limiter(ceiling=1)
    transport = RateLimitedTransport(limits, transport=httpx2.MockTransport(answer))
    with httpx2.Client(transport=transport) as client:
        assert client.get("http://example.test/").status_code == 429
        assert (limits.in_flight, limits.rate_limited) == (0, 1)
        assert client.get("http://example.test/").status_code == 200
        assert (limits.in_flight, limits.answered, limits.started) == (0, 1, 2)


def test_a_request_that_cannot_start_before_its_pool_timeout_is_a_pool_timeout() -> None:
    limits, _ = limiter(ceiling=1)
    busy = limits.start()
    transport = RateLimitedTransport(
        limits, transport=httpx2.MockTransport(lambda r: httpx2.Response(200))
    )
    timeout = httpx2.Timeout(5.0, pool=0.0)
    with (
        httpx2.Client(transport=transport, timeout=timeout) as client,
        pytest.raises(httpx2.PoolTimeout, match="rate limit"),
    ):
        client.get("http://example.test/")
    limits.release(busy)
    assert limits.in_flight == 0


def test_a_failed_request_frees_its_place() -> None:
    def fail(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    limits, _ = limiter(ceiling=1)
    transport = RateLimitedTransport(limits, transport=httpx2.MockTransport(fail))
    with httpx2.Client(transport=transport) as client, pytest.raises(httpx2.ConnectError):
        client.get("http://example.test/")
    assert limits.in_flight == 0


# --- the provider against the fake server ---------------------------------------------------------
BRIEF = ArticleIn(
    title="Coffee guide",
    primary_keyword="coffee topic",
    target_keywords=("coffee topic",),
    content_type="guide",
    outline=("What it is", "How it works"),
)


def hammer(
    server: FakeOpenAI, seconds: float, workers: int = 8
) -> tuple[OpenAIProvider, list[float]]:
    """`workers` threads calling one provider back to back: completion times of the calls."""
    provider = OpenAIProvider(
        model=CHAT_MODEL,
        image_model=IMAGE_MODEL,
        api_key=API_KEY,
        base_url=server.base_url,
        timeout=10.0,
        max_retries=2,
    )
    done: list[float] = []
    started = time.monotonic()

    def worker() -> None:
        while time.monotonic() < started + seconds:
            provider.write_content(BRIEF)
            done.append(time.monotonic() - started)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return provider, done


def test_openai_headers_let_the_provider_use_the_limit_without_429s(settings: Any) -> None:
    settings.INKLINE_AI_CONCURRENCY = 8
    with FakeOpenAI(latency=0.05, rate_limit=20, burst=10, ratelimit_headers=True) as server:
        provider, done = hammer(server, seconds=4.0)
    statuses = [r.status for r in server.requests]
    steady = sum(1 for t in done if 1.0 <= t < 4.0) / 3.0
    assert 0.85 * 20 <= steady <= 1.1 * 20, (steady, provider.limiter.snapshot())
    assert statuses.count(429) <= 0.02 * len(statuses), statuses.count(429)
    assert provider.limiter.buckets["requests"].capacity == 10


def test_429_with_retry_after_only_brings_the_provider_near_the_limit_without_a_storm(
    settings: Any,
) -> None:
    settings.INKLINE_AI_CONCURRENCY = 8
    with FakeOpenAI(latency=0.05, rate_limit=20, burst=20) as server:
        provider, done = hammer(server, seconds=5.0)
    statuses = [r.status for r in server.requests]
    steady = sum(1 for t in done if 2.0 <= t < 5.0) / 3.0
    # A bucket of 20 may hand out its saved-up burst inside the window on top of its rate.
    assert 0.8 * 20 <= steady <= 20 + 20 / 3.0, (steady, provider.limiter.snapshot())
    # The first contact (one burst of the pool) and the one that measures the limit: about
    # 8-12 on an idle machine, up to 16 seen under CI's load (late threads land in a window
    # the server already counts as spent). Unpaced, 8 threads at 50 ms would meet ~140 a
    # second, hundreds in all: 30 still tells pacing from a storm.
    assert statuses.count(429) <= 30, statuses.count(429)
    assert 15 < provider.limiter.rate < 25  # paced near the measured limit
