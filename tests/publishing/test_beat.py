"""Real beat and worker processes, on the embedded default (SQLite file and the filesystem
broker) and on production parts (PostgreSQL and Redis): the beat's scheduling tick places
approved articles into slots and its publish tick publishes the one that is due, once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.integration.stack import REPO, Stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own databases
COUNT = 3


@pytest.fixture(params=["embedded", "postgres-redis"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    production = request.param == "postgres-redis"
    if production:
        require("postgres")
        require("redis")
    with Stack(tmp_path, production=production, extra_env={}) as stack:
        yield stack


def test_beat_schedules_and_publishes_due_articles_once(stack: Stack) -> None:
    setup = subprocess.run(
        [sys.executable, "-m", "tests.publishing.stack_setup", str(COUNT)],
        env=stack.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    site_id = json.loads(setup.stdout.strip().splitlines()[-1])["site_id"]
    posts = stack.data_dir / "sites" / str(site_id) / "content" / "posts"
    status = "SELECT site_status, count(*) FROM writer_content WHERE site_id = %s GROUP BY 1"

    stack.spawn("beat", "beat")
    stack.spawn("worker", "worker", "--concurrency", "1")
    try:
        # Immediate mode: now, now + 1 min, now + 2 min. The first is due at once.
        wait_for(
            "the beat to schedule and publish the first article",
            lambda: dict(stack.sql(status, site_id)).get("published") == 1,
            timeout=60,
        )
        wait_for("its Markdown file", lambda: posts.is_dir() and any(posts.iterdir()), timeout=10)
    except AssertionError:
        print(stack.logs())
        raise
    counts = dict(stack.sql(status, site_id))
    assert counts == {"published": 1, "scheduled": COUNT - 1}
    assert [p.name for p in posts.iterdir()] == ["beat-article-0.md"]
    url, lateness = stack.sql(
        "SELECT published_url, lateness_seconds FROM writer_content "
        "WHERE site_id = %s AND site_status = 'published'",
        site_id,
    )[0]
    assert url == "https://beat.example.com/posts/beat-article-0/"
    assert 0 <= lateness < 60
