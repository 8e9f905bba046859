"""Concurrent PATCHes of different fields all take effect on the embedded default: `inkline
web` with four gunicorn worker processes on one SQLite file, requests sent at the same
instant. The PostgreSQL side (threads, row locks) is tests/api/test_concurrent_patch.py;
both run the scenarios of tests/api/patching.py."""

from __future__ import annotations

import itertools
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from tests.api import patching
from tests.integration.stack import Stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own database

WEB_WORKERS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # up, refusing without a token
    except OSError:
        return False


@pytest.fixture(scope="module")
def send(tmp_path_factory: pytest.TempPathFactory) -> Iterator[patching.Send]:
    with Stack(tmp_path_factory.mktemp("patch"), production=False, extra_env={}) as stack:
        made = stack.cli(
            "create-account", "Racers", "--username", "racer", "--password", "pw", "--json"
        )
        assert made.returncode == 0, made.stderr
        token = json.loads(made.stdout)["token"]
        port = free_port()
        stack.spawn("web", "web", "--port", str(port), "--workers", str(WEB_WORKERS))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for("the web server", lambda: answers(f"{base}/api/v1/sites/"), timeout=60)
        except AssertionError:
            raise AssertionError(stack.logs()) from None
        yield patching.http_sender(base, token)


_names = itertools.count(1)


@pytest.fixture
def site_id(send: patching.Send) -> int:
    """A new site (no SEO settings row yet: the first burst also races to create it)."""
    status, body = send("POST", "/api/v1/sites/", {"name": f"patched {next(_names)}"})
    assert status == 201, body
    return int(body["id"])


SCENARIOS: dict[str, Callable[[patching.Send, int], None]] = {
    "site": patching.site_changes_all_kept,
    "site secrets": patching.site_secrets_all_kept,
    "automation config": patching.config_changes_all_kept,
    "time zone and schedule": patching.timezone_and_schedule_agree,
    "publishing settings": patching.publishing_changes_all_kept,
    "stagger window (dependent)": patching.stagger_window_stays_valid,
    "time slots (dependent)": patching.time_slots_stay_valid,
    "seo settings": patching.seo_changes_all_kept,
    "ai budget (dependent)": patching.budget_split_stays_valid,
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_concurrent_patches_from_several_processes_lose_nothing(
    send: patching.Send, site_id: int, scenario: str
) -> None:
    SCENARIOS[scenario](send, site_id)
