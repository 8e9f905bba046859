"""Six imports of the same keywords at once never answer 500 (they did: a unique constraint
error): each keyword is stored once, and every import's created + duplicates add up to its
rows. Threads on PostgreSQL; processes on the embedded SQLite file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from rest_framework.test import APIClient

from inkline.accounts.models import Site
from inkline.automation.sites import account_create, site_create
from inkline.planner.models import Keyword
from inkline.planner.services import import_job_create, import_job_execute
from tests.planner.imports_race import KEYWORDS, big_file

ROOT = Path(__file__).resolve().parents[2]
N = 6


def in_threads(fn: Any) -> list[Any]:
    gate = threading.Barrier(N)
    results: list[Any] = [None] * N

    def run(i: int) -> None:
        try:
            gate.wait(timeout=30)
            results[i] = fn(i)
        except Exception as exc:  # reported, not lost in the thread
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.postgres_only
def test_six_concurrent_imports_of_the_same_keywords_on_postgres(transactional_db: Any) -> None:
    assert connection.vendor == "postgresql"
    account, token = account_create(name="Race", username="race", password="pw", credits=0)
    site = site_create(account=account, name="race")

    def post(i: int) -> Any:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        data = "keyword\n" + "\n".join(k.upper() if i % 2 else k for k in KEYWORDS) + "\n"
        upload = SimpleUploadedFile("race.csv", data.encode(), content_type="text/csv")
        response = api.post(
            f"/api/v1/sites/{site.pk}/keywords/import/", {"file": upload}, format="multipart"
        )
        return response.status_code, response.json()

    answers = in_threads(post)
    assert [status for status, _ in answers] == [200] * N, answers
    bodies = [body for _, body in answers]
    assert all(b["errors"] == [] and b["created"] + b["duplicates"] == 50 for b in bodies)
    assert sum(b["created"] for b in bodies) == 50
    assert Keyword.objects.filter(site=site).count() == 50

    def job(i: int) -> Any:
        created = import_job_create(
            site=Site.objects.get(pk=site.pk), file=io.BytesIO(big_file(i)), wake=False
        )
        return import_job_execute(job_id=created.pk)

    jobs = in_threads(job)
    assert all(j is not None and j.status == "done" for j in jobs), jobs
    assert all(j.created_count + j.duplicate_count == 3_000 for j in jobs)
    stored = Keyword.objects.filter(site=site, normalized__startswith="race job keyword ")
    assert sum(j.created_count for j in jobs) == stored.count() == (N + 2) * 1_000


@pytest.mark.sqlite_only
def test_six_concurrent_imports_of_the_same_keywords_in_processes_on_sqlite(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "INKLINE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.planner.imports_race", str(N)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    answers = figures["answers"]
    assert [a["status"] for a in answers] == [200] * N, answers
    bodies = [a["body"] for a in answers]
    assert all(b["errors"] == [] and b["created"] + b["duplicates"] == 50 for b in bodies)
    assert sum(b["created"] for b in bodies) == figures["race_keywords"] == 50
    jobs = [a["job"] for a in answers]
    assert all(j["status"] == "done" for j in jobs), jobs
    assert all(j["created"] + j["duplicates"] == 3_000 for j in jobs)
    assert sum(j["created"] for j in jobs) == figures["job_keywords"] == (N + 2) * 1_000
    assert figures["distinct"] == figures["total"]
