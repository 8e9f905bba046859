"""Large imports over the API: more than INKLINE_IMPORT_SYNC_ROWS lines answer 202 with a job
id; the job is followed at /api/v1/import-jobs/{job_id}/, by members of its account only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inkline.celery import app as celery_app
from inkline.planner.models import Keyword, KeywordImportJob
from inkline.planner.services import EXECUTE_IMPORT, import_job_execute
from tests.api.conftest import World, client

pytestmark = pytest.mark.django_db


def post_csv(world: World, data: bytes, token: str | None = None) -> Any:
    return client(token or world.owner).post(
        f"/api/v1/sites/{world.site.pk}/keywords/import/",
        {"file": SimpleUploadedFile("big.csv", data, content_type="text/csv")},
        format="multipart",
    )


def job_of(world: World, job_id: str, token: str | None = None) -> Any:
    return client(token or world.owner).get(f"/api/v1/import-jobs/{job_id}/")


def csv_of(n: int, *, bad: int | None = None) -> bytes:
    lines = [
        f"job keyword {i},{'many' if i + 1 == bad else i},,"  # line i + 1: the header is 1
        for i in range(1, n + 1)
    ]
    return ("keyword,volume,difficulty,intent\n" + "\n".join(lines) + "\n").encode()


def test_up_to_5000_lines_are_answered_at_once_and_more_become_a_job(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    at_once = post_csv(world, csv_of(5_000))
    assert at_once.status_code == 200
    assert at_once.json() == {"created": 5_000, "duplicates": 0, "errors": []}
    with django_capture_on_commit_callbacks() as wakes:
        queued = post_csv(world, csv_of(5_001))
    assert queued.status_code == 202, queued.content
    assert list(queued.json()) == ["job_id"]
    job_id = queued.json()["job_id"]
    assert queued["Location"] == f"/api/v1/import-jobs/{job_id}/"
    assert len(wakes) == 1  # a worker is woken once the job is committed, by the task's name,
    assert EXECUTE_IMPORT in celery_app.tasks  # registered in every process (web included)
    before = job_of(world, job_id).json()
    assert before["status"] == "queued" and before["progress"] == 0
    assert (before["created"], before["duplicates"], before["errors"]) == (0, 0, [])
    assert before["total_lines"] == 5_001 and before["site"] == world.site.pk

    import_job_execute(job_id=job_id)  # what the woken worker does
    after = job_of(world, job_id).json()
    assert (after["status"], after["progress"]) == ("done", 100)
    assert (after["created"], after["duplicates"], after["errors"]) == (1, 5_000, [])
    assert after["errors_total"] == 0 and after["finished_at"] is not None
    assert Keyword.objects.filter(site=world.site, phrase__startswith="job keyword ").count() == (
        5_001
    )


def test_a_job_with_bad_lines_imports_nothing_and_lists_them(world: World, settings: Any) -> None:
    settings.INKLINE_IMPORT_SYNC_ROWS = 10
    queued = post_csv(world, csv_of(40, bad=33))
    assert queued.status_code == 202
    job_id = queued.json()["job_id"]
    import_job_execute(job_id=job_id)
    failed = job_of(world, job_id).json()
    assert failed["status"] == "failed" and failed["created"] == 0
    assert failed["errors"] == [{"line": 33, "error": "volume must be a whole number, got 'many'"}]
    assert failed["errors_total"] == 1
    assert "nothing was imported" in failed["message"]
    assert not Keyword.objects.filter(site=world.site, phrase__startswith="job keyword ").exists()


def test_json_rows_over_the_limit_become_a_job(world: World, settings: Any) -> None:
    settings.INKLINE_IMPORT_SYNC_ROWS = 2
    rows = [{"keyword": "json job one"}, {"keyword": "JSON job  one"}, {"keyword": "json job two"}]
    queued = client(world.owner).post(
        f"/api/v1/sites/{world.site.pk}/keywords/import/", {"keywords": rows}, format="json"
    )
    assert queued.status_code == 202
    job_id = queued.json()["job_id"]
    import_job_execute(job_id=job_id)
    done = job_of(world, job_id).json()
    assert (done["status"], done["created"], done["duplicates"]) == ("done", 2, 1)


def test_a_large_file_without_a_keyword_column_is_400_at_once(world: World) -> None:
    before = KeywordImportJob.objects.count()
    response = post_csv(world, b"phrase\n" + b"x\n" * 6_000)
    assert response.status_code == 400
    assert "keyword" in response.json()["file"][0]
    assert KeywordImportJob.objects.count() == before


def test_a_job_is_seen_by_its_account_only(world: World, settings: Any) -> None:
    settings.INKLINE_IMPORT_SYNC_ROWS = 1
    job_id = post_csv(world, csv_of(3)).json()["job_id"]
    assert job_of(world, job_id, world.viewer).status_code == 200  # a member who only reads
    other = job_of(world, job_id, world.other)
    assert other.status_code == 404
    assert world.foreign(other.json()) == [] and job_id not in other.content.decode()
    assert client().get(f"/api/v1/import-jobs/{job_id}/").status_code == 401
    assert job_of(world, str(uuid.uuid4())).status_code == 404
    assert client(world.owner).get("/api/v1/import-jobs/12/").status_code == 404
    # B cannot start an import in A's site; a viewer of A cannot either.
    assert post_csv(world, csv_of(3), world.other).status_code == 404
    assert post_csv(world, csv_of(3), world.viewer).status_code == 403
