"""Processes importing the same keywords into one site at once, on the embedded SQLite file
(WAL, IMMEDIATE transactions): `python -m tests.planner.imports_race PROCESSES` with a fresh
INKLINE_DATA_DIR. Each process posts the same 50 keywords to the import endpoint (answered at
once), then imports an overlapping 3,000-line file as a job it executes itself; the last line
of output is a JSON document of what they were answered and what the site holds."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import sys
from typing import Any

KEYWORDS = [f"Race Keyword {i}" for i in range(50)]


def big_file(seed: int) -> bytes:
    """3,000 lines; each process's file shares 2,000 keywords with the next one's."""
    first = seed * 1_000
    lines = [f"race job keyword {n}" for n in range(first, first + 3_000)]
    return ("keyword\n" + "\n".join(lines) + "\n").encode()


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inkline.settings")
    import django

    django.setup()


def work(args: tuple[int, str, int], gate: Any, results: Any) -> None:
    site_id, token, seed = args
    _setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connections
    from django.test import Client

    from inkline.accounts.models import Site
    from inkline.planner.services import import_job_create, import_job_execute

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    # Each process writes the keywords in its own case and spacing: one keyword all the same.
    data = "keyword\n" + "\n".join(k.upper() if seed % 2 else k for k in KEYWORDS) + "\n"
    upload = SimpleUploadedFile("race.csv", data.encode(), content_type="text/csv")
    out: dict[str, Any] = {}
    try:
        gate.wait(timeout=60)  # every process is ready: start together
        response = client.post(f"/api/v1/sites/{site_id}/keywords/import/", {"file": upload})
        out["status"] = response.status_code
        out["body"] = response.json() if response.status_code < 500 else response.content[:500]
        gate.wait(timeout=60)
        job = import_job_create(
            site=Site.objects.get(pk=site_id), file=io.BytesIO(big_file(seed)), wake=False
        )
        done = import_job_execute(job_id=job.pk)
        out["job"] = (
            {
                "status": done.status,
                "created": done.created_count,
                "duplicates": done.duplicate_count,
                "message": done.message,
            }
            if done is not None
            else None
        )
    finally:
        connections.close_all()
        results.put(out)


def main(processes: int) -> dict[str, Any]:
    _setup()
    from django.core.management import call_command
    from django.db import connections

    from inkline.automation.sites import account_create, site_create
    from inkline.planner.models import Keyword

    call_command("migrate", verbosity=0)
    account, token = account_create(name="Race", username="race", password="pw", credits=0)
    site = site_create(account=account, name="race")
    connections.close_all()

    # Forked after every connection is closed: each process opens its own.
    fork = multiprocessing.get_context("fork")
    gate, results = fork.Barrier(processes), fork.Queue()
    workers = [
        fork.Process(target=work, args=((site.pk, token.key, i), gate, results))
        for i in range(processes)
    ]
    for p in workers:
        p.start()
    answers = [results.get(timeout=240) for _ in workers]
    for p in workers:
        p.join(timeout=30)
    keywords = Keyword.objects.filter(site=site)
    return {
        "answers": answers,
        "race_keywords": keywords.filter(normalized__startswith="race keyword ").count(),
        "job_keywords": keywords.filter(normalized__startswith="race job keyword ").count(),
        "distinct": keywords.values("normalized").distinct().count(),
        "total": keywords.count(),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6), default=str))
