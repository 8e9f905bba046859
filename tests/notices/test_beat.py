"""Real beat and worker processes: the beat publishes an article, and the article.published
event reaches a receiver, signed, once (embedded default, and PostgreSQL with Redis)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.integration.stack import REPO, Stack, wait_for
from tests.notices.receiver import Receiver, serving

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own databases


@pytest.fixture(params=["embedded", "postgres-redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    production = request.param == "postgres-redis"
    if production:
        require("postgres")
        require("redis")
    # the receiver listens on loopback
    extra = {"INKLINE_ALLOW_PRIVATE_TARGETS": "true"}
    with Stack(tmp_path, production=production, extra_env=extra) as stack:
        yield stack


def test_the_beat_publishes_and_the_receiver_gets_the_signed_event_once(stack: Stack) -> None:
    with serving(Receiver()) as receiver:
        setup = subprocess.run(
            [sys.executable, "-m", "tests.notices.stack_setup", receiver.url],
            env=stack.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        made = json.loads(setup.stdout.strip().splitlines()[-1])
        receiver.secret = made["secret"]
        stack.spawn("beat", "beat")
        stack.spawn("worker", "worker", "--concurrency", "1")
        try:
            wait_for("the event to be delivered", lambda: receiver.event_ids(), timeout=90)
            status = "SELECT status, attempts FROM notices_delivery"
            wait_for(
                "the delivery to be recorded",
                lambda: stack.sql(status) == [("delivered", 1)],
                timeout=30,
            )
        except AssertionError:
            print(stack.logs())
            raise
    (got,) = receiver.received
    assert got.verified and got.event["type"] == "article.published"
    assert got.event["data"]["title"] == "Announced by a webhook"
    assert got.event["data"]["site"]["id"] == made["site_id"]
