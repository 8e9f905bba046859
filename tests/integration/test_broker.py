"""The embedded broker between processes: every message delivered once, whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.stack import REPO, Stack

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own databases


def test_two_consumers_and_a_producer_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    stack = Stack(tmp_path, production=False, extra_env={})  # no database needed
    n = 400

    def probe(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.integration.probe", *args],
            env=stack.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )

    consumers = [probe("broker-get", "3") for _ in range(2)]
    # Large messages widen the window in which a half-written file could be seen.
    producer = probe("broker-put", str(n), "200000")
    assert producer.wait(timeout=60) == 0
    results = [json.loads(c.communicate(timeout=60)[0].strip().splitlines()[-1]) for c in consumers]
    assert [r["errors"] for r in results] == [[], []]
    received = sorted(i for r in results for i in r["got"])
    assert received == list(range(n))  # each message exactly once
    assert all(r["got"] for r in results)  # both consumers took part
