"""`inkline serve` starts web, worker and beat; Ctrl-C stops all of them."""

from __future__ import annotations

import os
import signal
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.stack import Stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # it brings its own databases


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def group_members(pgid: int) -> list[tuple[int, str]]:
    """Live processes of process group `pgid` (pid, command), from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append((int(entry.name), cmdline))
    return members


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def test_serve_runs_web_worker_and_beat_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    port = free_port()
    with Stack(tmp_path, production=False, extra_env={}) as stack:
        serve = stack.spawn("serve", "serve", "--port", str(port))
        try:
            wait_for(
                "the web server to answer",
                lambda: 0 < http_status(f"http://127.0.0.1:{port}/") < 500,
                timeout=40,
                every=0.2,
            )
            roles = {"web": "gunicorn", "worker": " worker", "beat": " beat"}
            members = wait_for(
                "web, worker and beat to run",
                lambda: (
                    (m := group_members(serve.pid))
                    and all(any(word in cmd for _, cmd in m) for word in roles.values())
                    and m
                ),
                timeout=30,
            )
            assert len(members) >= 4, members  # serve itself and its three children
            os.killpg(serve.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
            assert serve.wait(timeout=30) == 0
            wait_for("every process to exit", lambda: not group_members(serve.pid), timeout=15)
            assert http_status(f"http://127.0.0.1:{port}/") == 0
        except (AssertionError, TimeoutError):
            print(stack.logs())
            raise
        finally:
            stack.procs.pop("serve", None)
            if serve.poll() is None:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait(timeout=10)
