"""Keyword imports are all or nothing, at the size that used to leave a partial import behind
(190,000 lines, 5 MB: killed at the web timeout after 176,000 rows were committed), and a
job's executor is fenced: a lost or dead one writes nothing and the job is done by another."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import time_machine

from inkline.accounts.models import Site
from inkline.planner.models import ImportStatus, Keyword, KeywordImportJob, KeywordImportUpload
from inkline.planner.services import (
    MAX_IMPORT_ATTEMPTS,
    import_job_cancel,
    import_job_create,
    import_job_execute,
    import_jobs_reconcile,
    keywords_import_csv,
    keywords_import_rows,
)
from inkline.planner.services import keywords as keywords_module
from inkline.planner.services.imports import _claim

pytestmark = pytest.mark.django_db

LINES = 190_000
T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def big_csv(n: int = LINES, *, bad_line: int | None = None) -> bytes:
    """`n` lines after the header, ~5 MB; `bad_line` (counting the header as 1) has a
    volume that is not a number."""
    rows = [b"keyword,volume,difficulty,intent"]
    for line in range(2, n + 2):
        volume = b"lots" if line == bad_line else str(line % 5000).encode()
        rows.append(b"long tail keyword number %d,%s,%d,informational" % (line, volume, line % 101))
    return b"\n".join(rows) + b"\n"


def count(site: Site) -> int:
    return Keyword.objects.filter(site=site).count()


def test_a_bad_line_near_the_end_of_190000_writes_nothing_and_is_reported(site: Site) -> None:
    data = big_csv(bad_line=LINES - 10)
    assert len(data) > 5_000_000
    report = keywords_import_csv(site=site, data=data)
    assert (report.created, report.duplicates) == (0, 0)
    assert report.errors == [
        {
            "line": LINES - 10,
            "error": "volume must be a whole number, got 'lots'",
            "content": f"long tail keyword number {LINES - 10},lots,9,informational",
        }
    ]
    assert count(site) == 0

    job = import_job_create(site=site, file=io.BytesIO(data), wake=False)
    assert job.total_lines == LINES
    ended = import_job_execute(job_id=job.pk)
    assert ended is not None
    assert (ended.status, ended.progress, ended.created_count) == ("failed", 100, 0)
    assert ended.error_count == 1 and ended.errors[0]["line"] == LINES - 10
    assert "nothing was imported" in ended.message
    assert count(site) == 0
    assert not KeywordImportUpload.objects.filter(job_id=job.pk).exists()  # file dropped


def test_a_failure_in_the_middle_of_writing_190000_keeps_nothing(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = import_job_create(site=site, file=io.BytesIO(big_csv()), wake=False)
    flush = keywords_module._Inserter.flush
    flushed: list[int] = []

    def failing_flush(self: Any, cursor: Any) -> None:
        flush(self, cursor)
        flushed.append(self.created)
        if len(flushed) == 50:  # 100,000 rows are in, inside the transaction
            raise OSError("disk full")

    monkeypatch.setattr(keywords_module._Inserter, "flush", failing_flush)
    seen: list[tuple[str, int]] = []
    attempt = import_job_execute(job_id=job.pk, progress=lambda *p: seen.append(p))
    assert flushed[-1] == 100_000
    assert attempt is not None and attempt.status == ImportStatus.WRITING  # to be retried
    assert "Attempt 1 of 3 failed, nothing was imported: disk full" in attempt.message
    assert count(site) == 0  # the 100,000 written rows went with the transaction
    assert ("validating", LINES + 1) in seen and any(p == "writing" for p, _ in seen)

    monkeypatch.setattr(keywords_module._Inserter, "flush", flush)
    done = import_job_execute(job_id=job.pk)  # the next attempt (here, not a worker)
    assert done is not None
    assert (done.status, done.progress, done.epoch) == ("done", 100, 2)
    assert (done.created_count, done.duplicate_count, done.error_count) == (LINES, 0, 0)
    assert count(site) == LINES
    assert done.message == ""
    assert not KeywordImportUpload.objects.filter(job_id=job.pk).exists()
    # A done job is never done twice.
    assert import_job_execute(job_id=job.pk) is None
    assert count(site) == LINES


def test_the_last_attempt_failing_fails_the_job_with_the_reason(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, cursor: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(keywords_module._Inserter, "flush", broken)
    job = import_job_create(site=site, file=io.BytesIO(b"keyword\nalpha\nbeta\n"), wake=False)
    for _ in range(MAX_IMPORT_ATTEMPTS):
        ended = import_job_execute(job_id=job.pk)
    assert ended is not None and ended.status == "failed"
    assert ended.message.startswith("Attempt 3 of 3 failed")
    assert import_job_execute(job_id=job.pk) is None
    assert count(site) == 0


def test_a_dead_executor_s_job_is_handed_on_then_failed_after_its_attempts(site: Site) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        job = import_job_create(site=site, file=io.BytesIO(b"keyword\nalpha\n"), wake=False)
        assert import_jobs_reconcile(wake=False) == []  # just queued: its message is on the way
        clock.shift(dt.timedelta(minutes=5))
        assert import_jobs_reconcile(wake=False) == [str(job.pk)]  # the message was lost
        for attempt in range(1, MAX_IMPORT_ATTEMPTS + 1):
            # An executor claims the job and dies before writing (no process here).
            held = _claim(job.pk)
            assert held is not None and held.epoch == attempt
            assert _claim(job.pk) is None  # its lease is live: nobody else takes it
            assert import_jobs_reconcile(wake=False) == []
            clock.shift(dt.timedelta(minutes=5))  # the lease expires
            if attempt < MAX_IMPORT_ATTEMPTS:
                assert import_jobs_reconcile(wake=False) == [str(job.pk)]
        assert import_jobs_reconcile(wake=False) == []
        failed = KeywordImportJob.objects.get(pk=job.pk)
        assert failed.status == "failed"
        assert "interrupted 3 times" in failed.message
        assert import_job_execute(job_id=job.pk) is None
    assert count(site) == 0


def test_a_lost_executor_writes_nothing(site: Site) -> None:
    """The job was taken over (its epoch moved on) while this executor was checking lines:
    it stops at its next fenced write."""
    job = import_job_create(site=site, file=io.BytesIO(big_csv(30_000)), wake=False)

    def taken_over(phase: str, line: int) -> None:
        KeywordImportJob.objects.filter(pk=job.pk).update(epoch=99)

    assert import_job_execute(job_id=job.pk, progress=taken_over) is None
    assert count(site) == 0


def test_a_cancelled_job_is_not_written(site: Site) -> None:
    job = import_job_create(site=site, file=io.BytesIO(big_csv(30_000)), wake=False)

    def cancel(phase: str, line: int) -> None:
        import_job_cancel(job_id=job.pk, reason="Stopped")

    assert import_job_execute(job_id=job.pk, progress=cancel) is None
    job.refresh_from_db()
    assert (job.status, job.message) == ("failed", "Stopped")
    assert count(site) == 0


def test_duplicates_are_counted_against_the_site_and_within_the_input(site: Site) -> None:
    Keyword.objects.create(site=site, phrase="Cold Brew")
    rows = [{"keyword": "cold  brew"}, {"keyword": "Espresso"}, {"keyword": "ESPRESSO"}]
    report = keywords_import_rows(site=site, rows=rows)
    assert (report.created, report.duplicates, report.errors) == (1, 2, [])
    job = import_job_create(site=site, rows=[*rows, {"keyword": "moka pot"}], wake=False)
    done = import_job_execute(job_id=job.pk)
    assert done is not None and done.status == "done"
    assert (done.created_count, done.duplicate_count) == (1, 3)
    assert sorted(Keyword.objects.filter(site=site).values_list("normalized", flat=True)) == [
        "cold brew",
        "espresso",
        "moka pot",
    ]
    keyword = Keyword.objects.get(site=site, normalized="moka pot")
    assert (keyword.status, keyword.attempts, keyword.cluster_id) == ("new", 0, None)
    assert keyword.created_at is not None and keyword.created_at == keyword.updated_at


def test_the_beat_reconciles_import_jobs_and_wakes_by_task_name(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inkline.celery import BEAT_SCHEDULE, app
    from inkline.planner import tasks
    from inkline.planner.services import imports

    assert BEAT_SCHEDULE["planner-imports"]["task"] == tasks.imports_tick.name
    assert app.tasks[imports.EXECUTE_IMPORT].name == tasks.execute_import.name
    woken: list[str] = []
    monkeypatch.setattr(imports, "import_wake", lambda job_id: woken.append(str(job_id)))
    with time_machine.travel(T0, tick=False) as clock:
        job = import_job_create(site=site, file=io.BytesIO(b"keyword\nalpha\n"), wake=False)
        clock.shift(dt.timedelta(minutes=5))
        assert tasks.imports_tick() == [str(job.pk)] == woken
        assert tasks.execute_import(str(job.pk)) == "done"
        assert tasks.execute_import(str(job.pk)) == "not taken"
        assert tasks.imports_tick() == []
