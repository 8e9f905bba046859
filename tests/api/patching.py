"""Concurrent PATCHes through real HTTP, shared by the PostgreSQL run (threads of a live
server in the test process, each request on its own connection: tests/api/
test_concurrent_patch.py) and the SQLite run (gunicorn worker processes on one database file:
tests/integration/test_concurrent_patch.py).

Each scenario sends a burst of requests at the same instant (a barrier), every one changing a
different field, and then reads the object back: every change must be there. The dependent
cases send two changes that are each valid alone but not together: one must be refused (400
naming a field it sent) and the row must stay valid.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any, Protocol, TypeVar

from inkline.automation import schedule

T = TypeVar("T")
Answer = tuple[int, Any]

LIMIT_FIELDS = (
    "max_keywords_per_run",
    "max_clusters_per_run",
    "max_ideas_per_run",
    "max_tasks_per_run",
    "max_content_per_run",
    "max_images_per_run",
    "max_approvals_per_run",
    "max_credits_per_run",
)
SECRET_KEYS = ("application_password", "password", "api_key", "token")
PERCENT_FIELDS = (
    "clustering_percentage",
    "idea_generation_percentage",
    "content_generation_percentage",
    "image_prompt_extraction_percentage",
    "image_generation_percentage",
)


class Send(Protocol):
    def __call__(self, method: str, path: str, body: Any = None) -> Answer: ...


def http_sender(base_url: str, token: str) -> Send:
    """JSON requests to a running server with `token`; answers (status, parsed body)."""

    def send(method: str, path: str, body: Any = None) -> Answer:
        request = urllib.request.Request(
            base_url.rstrip("/") + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw or b"null")
        except ValueError:
            return status, raw.decode(errors="replace")[-500:]

    return send


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run `calls` in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = call()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    if errors:
        raise errors[0]
    return results


def patch_all(send: Send, path: str, bodies: list[dict[str, Any]]) -> None:
    """PATCH every body at once; each must be answered 200."""
    answers = at_once([partial(send, "PATCH", path, body) for body in bodies])
    refused = [(body, answer) for body, answer in zip(bodies, answers, strict=True)
               if answer[0] != 200]  # fmt: skip
    assert not refused, refused


def get(send: Send, path: str) -> Any:
    status, body = send("GET", path)
    assert status == 200, body
    return body


def lost_changes(stored: dict[str, Any], bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [body for body in bodies if any(stored[k] != v for k, v in body.items())]


def rounds_lose_nothing(
    send: Send, path: str, bodies_of: Callable[[int], list[dict[str, Any]]], *, rounds: int
) -> int:
    """`rounds` bursts of PATCHes of different fields; fails naming what was lost. Returns
    how many changes were sent."""
    sent, lost = 0, []
    for r in range(1, rounds + 1):
        bodies = bodies_of(r)
        patch_all(send, path, bodies)
        lost += [(r, body) for body in lost_changes(get(send, path), bodies)]
        sent += len(bodies)
    assert not lost, f"{len(lost)} of {sent} changes lost: {lost}"
    return sent


# --- sites ---------------------------------------------------------------------------------
def site_bodies(r: int) -> list[dict[str, Any]]:
    return [
        {"name": f"race {r}"},
        {"url": f"https://r{r}.example.com"},
        {"timezone": ("Europe/Paris", "Asia/Tokyo", "America/New_York")[r % 3]},
        {"publisher": ("none", "static")[r % 2]},
    ]


def site_changes_all_kept(send: Send, site_id: int, *, rounds: int = 8) -> None:
    rounds_lose_nothing(send, f"/api/v1/sites/{site_id}/", site_bodies, rounds=rounds)


def site_secrets_all_kept(send: Send, site_id: int, *, rounds: int = 4) -> None:
    """Each request sets (odd rounds) or removes (even rounds) a different secret key: the
    stored secrets are merged, never replaced by one request's view of them."""
    path = f"/api/v1/sites/{site_id}/"
    for r in range(1, rounds + 1):
        value = f"secret {r}" if r % 2 else ""
        patch_all(send, path, [{"publisher_config": {key: value}} for key in SECRET_KEYS])
        shown = get(send, path)["publisher_config"]
        expected = {f"{key}_set" for key in SECRET_KEYS} if r % 2 else set()
        assert {k for k in shown if k.endswith("_set")} == expected, (r, shown)


# --- automation config ---------------------------------------------------------------------
def config_bodies(r: int) -> list[dict[str, Any]]:
    return [
        *({f"stage_{stage}_enabled": r % 2 == 0} for stage in range(1, 8)),
        *({field: 10 * r + i} for i, field in enumerate(LIMIT_FIELDS)),
        {"is_enabled": r % 2 == 1},
        {"frequency": ("daily", "weekly", "monthly")[r % 3]},
        {"scheduled_time": f"{3 + r % 20:02d}:{7 * r % 60:02d}"},
        {"day_of_week": r % 7},
        {"day_of_month": 1 + r % 28},
    ]


def schedule_consistent(config: dict[str, Any], timezone: str) -> None:
    """`next_run_at` is a slot of the stored schedule in the stored time zone (None when the
    schedule is off): it was computed from the row as it stands, not from a stale read."""
    if not config["is_enabled"]:
        assert config["next_run_at"] is None, config
        return
    assert config["next_run_at"], config
    at = dt.datetime.fromisoformat(config["next_run_at"].replace("Z", "+00:00"))
    hour, minute = map(int, config["scheduled_time"].split(":"))
    slot = schedule.next_run_at(
        frequency=config["frequency"],
        scheduled_time=dt.time(hour, minute),
        timezone=timezone,
        day_of_week=config["day_of_week"],
        day_of_month=config["day_of_month"],
        now=at - dt.timedelta(seconds=1),
    )
    assert slot == at, (config, timezone, slot)


def _fixed(bodies: list[dict[str, Any]], _round: int) -> list[dict[str, Any]]:
    return bodies


def config_changes_all_kept(send: Send, site_id: int, *, rounds: int = 4) -> None:
    path = f"/api/v1/sites/{site_id}/automation/config/"
    for r in range(1, rounds + 1):
        rounds_lose_nothing(send, path, partial(_fixed, config_bodies(r)), rounds=1)
        timezone = get(send, f"/api/v1/sites/{site_id}/")["timezone"]
        schedule_consistent(get(send, path), timezone)


def timezone_and_schedule_agree(send: Send, site_id: int, *, rounds: int = 6) -> None:
    """The site's time zone and the schedule's time changed at once: `next_run_at` follows
    both (the zone change reschedules under the config's lock; the schedule change reads the
    zone under the site's)."""
    site_path = f"/api/v1/sites/{site_id}/"
    config_path = f"/api/v1/sites/{site_id}/automation/config/"
    patch_all(send, config_path, [{"is_enabled": True, "frequency": "daily"}])
    for r in range(1, rounds + 1):
        zone = {"timezone": ("Asia/Kolkata", "America/Los_Angeles", "Australia/Sydney")[r % 3]}
        time = {"scheduled_time": f"{(5 * r) % 24:02d}:{(11 * r) % 60:02d}"}
        answers = at_once(
            [
                partial(send, "PATCH", site_path, zone),
                partial(send, "PATCH", config_path, time),
            ]
        )
        assert [status for status, _ in answers] == [200, 200], answers
        config = get(send, config_path)
        assert config["scheduled_time"] == time["scheduled_time"]
        schedule_consistent(config, get(send, site_path)["timezone"])
        assert get(send, site_path)["timezone"] == zone["timezone"]


# --- publishing settings -------------------------------------------------------------------
def publishing_bodies(r: int) -> list[dict[str, Any]]:
    return [
        {"auto_approval_enabled": r % 2 == 0},
        {"auto_publish_enabled": r % 2 == 0},
        {"scheduling_mode": ("stagger", "immediate")[r % 2]},
        {"publish_time_slots": (["08:00"], ["09:30", "17:00"])[r % 2]},
        {"publish_days": (["mon", "wed"], ["tue", "fri", "sun"])[r % 2]},
        {"daily_publish_target": 1 + r},
        {"weekly_publish_target": 10 + r},
        {"monthly_publish_target": 100 + r},
        {"queue_limit": 50 + r},
        {"stagger_interval_minutes": 20 + r},
        {"internal_links_max": 4 + r % 2},
    ]


def publishing_changes_all_kept(send: Send, site_id: int, *, rounds: int = 5) -> None:
    path = f"/api/v1/sites/{site_id}/publishing/settings/"
    rounds_lose_nothing(send, path, publishing_bodies, rounds=rounds)


def _one_refused(answers: list[Answer], bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Exactly one of two answers is a 400 naming a field its request sent; returns the
    body of the request that was accepted."""
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 400], answers
    refused = next(i for i, (status, _) in enumerate(answers) if status == 400)
    assert set(answers[refused][1]) <= set(bodies[refused]), answers[refused]
    return bodies[1 - refused]


def stagger_window_stays_valid(send: Send, site_id: int, *, rounds: int = 6) -> None:
    """09:00–18:00; one request moves the start to 17:00, the other the end to 10:00: each
    valid alone, an empty window together."""
    path = f"/api/v1/sites/{site_id}/publishing/settings/"
    bodies = [{"stagger_start_time": "17:00"}, {"stagger_end_time": "10:00"}]
    for _ in range(rounds):
        patch_all(send, path, [{"stagger_start_time": "09:00", "stagger_end_time": "18:00"}])
        answers = at_once([partial(send, "PATCH", path, body) for body in bodies])
        accepted = _one_refused(answers, bodies)
        stored = get(send, path)
        assert stored["stagger_start_time"] < stored["stagger_end_time"], stored
        assert not lost_changes(stored, [accepted]), (stored, accepted)


def time_slots_stay_valid(send: Send, site_id: int, *, rounds: int = 6) -> None:
    """Stagger mode with one slot; one request switches to time slots, the other clears the
    slots: time-slot mode without a slot is refused."""
    path = f"/api/v1/sites/{site_id}/publishing/settings/"
    bodies: list[dict[str, Any]] = [{"scheduling_mode": "time_slots"}, {"publish_time_slots": []}]
    for _ in range(rounds):
        patch_all(send, path, [{"scheduling_mode": "stagger", "publish_time_slots": ["08:00"]}])
        answers = at_once([partial(send, "PATCH", path, body) for body in bodies])
        accepted = _one_refused(answers, bodies)
        stored = get(send, path)
        assert stored["scheduling_mode"] != "time_slots" or stored["publish_time_slots"], stored
        assert not lost_changes(stored, [accepted]), (stored, accepted)


# --- SEO settings and the AI budget -------------------------------------------------------
def seo_bodies(r: int) -> list[dict[str, Any]]:
    return [{"approval_threshold": 50 + r}, {"min_words": 100 * r}]


def seo_changes_all_kept(send: Send, site_id: int, *, rounds: int = 8) -> None:
    path = f"/api/v1/sites/{site_id}/seo-settings/"
    rounds_lose_nothing(send, path, seo_bodies, rounds=rounds)


def budget_split_stays_valid(send: Send, site_id: int, *, rounds: int = 4) -> None:
    """Custom 15/10/40/5/30; two PUTs each moving ten points between two operations (each
    sums to 100 alone) and sharing one: together they would not. One is refused."""
    path = f"/api/v1/billing/sites/{site_id}/ai-budget/"
    start = dict(zip(PERCENT_FIELDS, (15, 10, 40, 5, 30), strict=True))
    custom = {"use_global_defaults": False}
    bodies = [
        {**custom, "clustering_percentage": 25, "idea_generation_percentage": 0},
        {**custom, "clustering_percentage": 5, "content_generation_percentage": 50},
    ]
    for _ in range(rounds):
        status, body = send("PUT", path, {"use_global_defaults": False, **start})
        assert status == 200, body
        answers = at_once([partial(send, "PUT", path, body) for body in bodies])
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 400], answers
        accepted = bodies[next(i for i, (s, _) in enumerate(answers) if s == 200)]
        stored = get(send, path)
        assert sum(Decimal(str(stored[f])) for f in PERCENT_FIELDS) == 100, stored
        expected = {**start, **{k: v for k, v in accepted.items() if k in PERCENT_FIELDS}}
        assert {f: Decimal(str(stored[f])) for f in PERCENT_FIELDS} == expected, stored
