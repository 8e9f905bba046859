"""Dashboard page and pipeline endpoint at 100,000 keywords and 20 sites (issue #9, figure 5):
queries per request, then latency under 20 concurrent clients from a second process on
loopback against the production-style server (`inkline web`: gunicorn).

The load comes from `wrk` when it is installed (a Lua script reports the 95th percentile),
else from a small thread pool of `http.client` connections in a child process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report, setup_django, verdict

KEYWORDS = 100_000  # on the measured site
SITES = 20
OTHER_KEYWORDS = 1_000  # on each of the 19 other sites
CLIENTS = 20
SECONDS = 10
REPO = Path(__file__).resolve().parent.parent
QUERIES_GOAL = 12
P95_GOAL_MS = 50.0

WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.2f %.2f %.2f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.duration / 1e6))
end
"""


def populate() -> tuple[int, int, str, str]:
    """20 sites, 100,000 keywords on the first (half of them clustered) and 1,000 on each
    other; returns the large and a small site's ids, a session cookie and an API token."""
    from django.conf import settings
    from django.test import Client

    from inkline.automation.sites import account_create, site_create
    from inkline.planner.models import Cluster, Keyword

    account, token = account_create(name="Bench", username="bench", password="x", credits=10)
    sites = [site_create(account=account, name=f"site {i}") for i in range(SITES)]
    for n, site in enumerate(sites):
        count = KEYWORDS if n == 0 else OTHER_KEYWORDS
        clusters = Cluster.objects.bulk_create(
            Cluster(site=site, name=f"topic {i}", status=Cluster.Status.IDEAS)
            for i in range(count // 100)
        )
        for start in range(0, count, 5_000):
            Keyword.objects.bulk_create(
                (
                    Keyword(
                        site=site,
                        phrase=f"keyword {i}",
                        normalized=f"keyword {i}",
                        volume=i,
                        status=Keyword.Status.CLUSTERED if i % 2 else Keyword.Status.NEW,
                        cluster=clusters[i % len(clusters)] if i % 2 else None,
                    )
                    for i in range(start, min(start + 5_000, count))
                ),
                batch_size=500,
            )
    client = Client()
    client.force_login(token.user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return sites[0].pk, sites[1].pk, f"{settings.SESSION_COOKIE_NAME}={cookie}", token.key


def count_queries(path: str, headers: dict[str, str]) -> tuple[int, int]:
    """Queries of a first request (everything counted afresh) and of the same request
    repeated at once (what a polled page reuses)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    client = Client(headers=headers)
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counts.append(len(queries.captured_queries))
    return counts[0], counts[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its children (the server's workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        pids.extend(int(c) for c in children)
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_wrk(url: str, header: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_LUA)
    try:
        out = subprocess.run(
            ["wrk", "-t", "2", "-c", str(CLIENTS), "-d", f"{SECONDS}s", "--timeout", "5s",
             "-s", script.name, "-H", header, url],
            capture_output=True, text=True, timeout=SECONDS + 30, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    requests, errors, p50, p95, duration = (float(x) for x in line.split()[1:])
    rps = requests / duration
    return {"requests": requests, "errors": errors, "p50": p50, "p95": p95, "rps": rps}


def load_python(url: str, header: str) -> dict[str, float]:
    """The fallback load generator, run in a child process: CLIENTS threads, one keep-alive
    connection each, for SECONDS."""
    out = subprocess.run(
        [sys.executable, __file__, "--load", url, header],
        capture_output=True, text=True, timeout=SECONDS + 60, check=True,
    ).stdout  # fmt: skip
    return dict(json.loads(out))


def python_client(url: str, header: str) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    name, value = header.split(": ", 1)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + SECONDS

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", parts.path, headers={name: value})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn.close()
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    print(json.dumps({"requests": len(latencies), "errors": errors, "p50": pick(0.5),
                      "p95": pick(0.95), "rps": len(latencies) / wall}))  # fmt: skip


def main() -> None:
    data_dir = setup_django()
    started = time.perf_counter()
    site_id, small_id, cookie, token = populate()
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f}")
    print(f"data: {SITES} sites, {KEYWORDS:,} keywords on the measured site "
          f"({time.perf_counter() - started:.0f} s to build)")  # fmt: skip
    targets = {
        "dashboard page": (f"/sites/{site_id}/", f"Cookie: {cookie}"),
        "pipeline endpoint": (
            f"/api/v1/sites/{site_id}/automation/pipeline/",
            f"Authorization: Token {token}",
        ),
        # The same on a small site: what the framework costs whatever the data size.
        "dashboard page, 1,000-keyword site": (f"/sites/{small_id}/", f"Cookie: {cookie}"),
    }
    queries = {}
    for name, (path, header) in targets.items():
        key, value = header.split(": ", 1)
        first, again = count_queries(path, {key: value})
        queries[name] = (first, again)
        print(f"{name}: {first} queries on a first request, {again} when repeated at once")

    tool = "wrk" if shutil.which("wrk") else "python threads"
    print(f"server: inkline web (gunicorn, 2 workers x 1 thread); load: {tool}, "
          f"{CLIENTS} clients, {SECONDS} s per target")  # fmt: skip
    try:
        report_usual(measure(data_dir, targets), queries, tool)
        # The worst case: nothing reused, as while a run moves the dashboard's key each second.
        print("with INKLINE_PIPELINE_CACHE_SECONDS=0 (counts, estimates and page every time):")
        worst = {k: v for k, v in targets.items() if "1,000" not in k}
        report_fresh(measure(data_dir, worst, {"INKLINE_PIPELINE_CACHE_SECONDS": "0"}), tool)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def under(tool: str) -> str:
    return f"under {CLIENTS} `{tool}` clients against `inkline web`, SQLite (`web_latency.py`)"


def report_usual(
    results: dict[str, dict[str, float]], queries: dict[str, tuple[int, int]], tool: str
) -> None:
    for name, r in results.items():
        first, again = queries[name]
        queries_met = max(first, again) <= QUERIES_GOAL
        p95_met = r["p95"] <= P95_GOAL_MS and not r["errors"]
        report(
            f"{page(name)}: queries per request, p95 latency {under(tool)}",
            f"≤ {QUERIES_GOAL} queries; p95 ≤ {P95_GOAL_MS:.0f} ms",
            f"{first} queries counting afresh, {again} when reused — {verdict(queries_met)}; "
            f"p95 {r['p95']:.1f} ms — {verdict(p95_met)} ({latency_details(r)})",
        )


def report_fresh(results: dict[str, dict[str, float]], tool: str) -> None:
    for name, r in results.items():
        report(
            f"{page(name)}, nothing reused (`INKLINE_PIPELINE_CACHE_SECONDS=0`): p95 latency "
            f"{under(tool)}",
            "report",
            f"p95 {r['p95']:.1f} ms ({latency_details(r)})",
        )


def page(name: str) -> str:
    """'Dashboard page, 100,000-keyword site of 20 sites' for a target's name."""
    keywords = OTHER_KEYWORDS if f"{OTHER_KEYWORDS:,}" in name else KEYWORDS
    return f"{name.split(',')[0].capitalize()}, {keywords:,}-keyword site of {SITES} sites"


def latency_details(r: dict[str, float]) -> str:
    errors = f", {r['errors']:.0f} errors" if r["errors"] else ""
    return (
        f"p50 {r['p50']:.1f} ms, {r['rps']:.0f} req/s, {r['cpu_ms']:.2f} ms server CPU per "
        f"request{errors}"
    )


def measure(
    data_dir: str, targets: dict[str, tuple[str, str]], extra_env: dict[str, str] | None = None
) -> dict[str, dict[str, float]]:
    """Start `inkline web` on the data, put each target under load, print the figures and
    return them by target, with the server's CPU per request as `cpu_ms`."""
    results = {}
    port = free_port()
    env = {**os.environ, "INKLINE_DATA_DIR": data_dir, "PYTHONPATH": str(REPO / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "inkline.cli", "web", "--port", str(port)],
        env={**env, **(extra_env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the web server did not start") from None
                time.sleep(0.2)
        load = load_wrk if shutil.which("wrk") else load_python
        for name, (path, header) in targets.items():
            url = f"http://127.0.0.1:{port}{path}"
            load(url, header)  # warm-up: connections, caches, the first requests' imports
            cpu = cpu_seconds(server.pid)
            r = load(url, header)
            cpu = cpu_seconds(server.pid) - cpu
            print(
                f"{name}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, {r['rps']:.0f} req/s, "
                f"{r['requests']:.0f} requests, {r['errors']:.0f} errors, server CPU "
                f"{cpu / max(1, r['requests']) * 1000:.2f} ms per request "
                f"(load average {os.getloadavg()[0]:.2f})"
            )
            results[name] = {**r, "cpu_ms": cpu / max(1, r["requests"]) * 1000}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        python_client(sys.argv[2], sys.argv[3])
    else:
        main()
