"""Keyword import jobs: a large import done in the background, all or nothing.

The request stores the file in a job row and a worker is woken (the broker only wakes: if the
message is lost, the beat's reconciler wakes one again). The executor claims the job with a
conditional UPDATE that raises `epoch`; every later write of the job is conditional on that
epoch, so an executor that lost the job writes nothing. It checks every line (progress and
lease renewed as it goes), then writes every keyword in one transaction whose first statement
locks the job row and whose last marks the job done: the keywords and `done` commit together.
An executor that dies leaves no keyword behind (its transaction rolls back) and its lease
expires: the reconciler hands the job to another worker, up to MAX_ATTEMPTS claims.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import uuid
from collections.abc import Sequence
from typing import IO, Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from inkline import clock
from inkline.accounts.models import Site
from inkline.celery import app as celery_app
from inkline.planner.models import (
    ACTIVE_IMPORT_STATUSES,
    ImportStatus,
    KeywordImportJob,
    KeywordImportUpload,
)
from inkline.planner.services.keywords import (
    READ_BLOCK,
    CsvInfo,
    ImportReport,
    Lines,
    Progress,
    csv_inspect,
    csv_lines,
    keywords_validate,
    keywords_write,
)

log = logging.getLogger(__name__)

EXECUTE_IMPORT = "inkline.planner.execute_import"  # planner.tasks.execute_import
MAX_ATTEMPTS = 3  # claims of one job before it fails
MAX_JOB_ERRORS = 1_000  # bad lines a job keeps (error_count counts them all)
VALIDATE_SHARE = 30  # percent of a job's progress given to checking (the rest is writing)
WRITE_ROWS_PER_SECOND = 10_000  # a pessimistic pace, to size the lease of the write


class JobLost(Exception):
    """This executor no longer owns the job (another claimed it, or it ended): stop."""


def import_wake(job_id: uuid.UUID | str) -> None:
    """Wake a worker for this job (looked up by name: `planner.tasks` calls this module)."""
    celery_app.tasks[EXECUTE_IMPORT].delay(str(job_id))


def _lease_until(now: dt.datetime, extra_seconds: float = 0) -> dt.datetime:
    return now + dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS + extra_seconds)


def import_job_create(
    *,
    site: Site,
    file: IO[bytes] | None = None,
    info: CsvInfo | None = None,
    rows: Sequence[Any] | None = None,
    filename: str = "",
    wake: bool = True,
) -> KeywordImportJob:
    """Store a CSV file (`file`, seekable; `info` from `csv_inspect` if already read, which
    also refuses a file without a keyword column) or JSON rows (`rows`) as a queued job, the
    file in pieces as it is read. A worker is woken once the job is committed unless `wake`
    is False (the caller executes the job itself)."""
    if (file is None) == (rows is None):
        raise ValueError("give either a file (CSV) or rows (JSON)")
    if file is not None:
        info = info or csv_inspect(file)
        file.seek(0)
        source, encoding, total = "csv", info.encoding, info.lines
        stream = file
    else:
        assert rows is not None
        source, encoding, total = "json", "utf-8", len(rows)
        stream = io.BytesIO(json.dumps(list(rows)).encode())
    with transaction.atomic():
        job = KeywordImportJob.objects.create(
            site=site, source=source, encoding=encoding, filename=filename[:255], total_lines=total
        )
        seq = 0
        while piece := stream.read(READ_BLOCK):
            KeywordImportUpload.objects.create(job=job, seq=seq, data=piece)
            seq += 1
        if wake:
            transaction.on_commit(lambda: import_wake(job.pk))
    return job


class _StoredFile(io.RawIOBase):
    """A job's stored file read back piece by piece: one piece in memory at a time."""

    def __init__(self, job_id: uuid.UUID) -> None:
        self.job_id = job_id
        self.seq = 0
        self.piece = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.piece:
            data = (
                KeywordImportUpload.objects.filter(job_id=self.job_id, seq=self.seq)
                .values_list("data", flat=True)
                .first()
            )
            if data is None:
                return 0
            self.piece = memoryview(bytes(data))
            self.seq += 1
        n = min(len(buffer), len(self.piece))
        buffer[:n] = self.piece[:n]
        self.piece = self.piece[n:]
        return n


def _stored(job_id: uuid.UUID) -> IO[bytes]:
    return io.BufferedReader(_StoredFile(job_id), buffer_size=1 << 16)


def _claim(job_id: uuid.UUID | str) -> KeywordImportJob | None:
    """Take the job if nobody holds it and it has attempts left; None otherwise."""
    now = clock.now()
    try:
        taken = (
            KeywordImportJob.objects.filter(
                pk=job_id, status__in=ACTIVE_IMPORT_STATUSES, epoch__lt=MAX_ATTEMPTS
            )
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
            .update(
                status=ImportStatus.VALIDATING,
                epoch=F("epoch") + 1,
                progress=0,
                lease_expires_at=_lease_until(now),
                started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())),
                updated_at=now,
            )
        )
    except OperationalError:
        # SQLite: another import's write transaction kept the database locked longer than
        # the busy timeout. The job stays where it is; the reconciler wakes a worker again.
        log.warning("import %s: database busy, claim postponed", job_id, exc_info=True)
        return None
    if not taken:
        return None
    return KeywordImportJob.objects.select_related("site").get(pk=job_id)


def _lines(job: KeywordImportJob) -> Lines:
    if job.source == "csv":
        return lambda: csv_lines(_stored(job.pk), job.encoding)
    rows = json.load(_stored(job.pk))
    return lambda: enumerate(rows, start=1)


def _end(
    fence: QuerySet[KeywordImportJob], *, status: str, message: str = "", **values: Any
) -> bool:
    """End the job (if this executor still owns it) and drop its file, in one commit."""
    with transaction.atomic():
        ids = list(fence.values_list("pk", flat=True))
        ended = fence.update(
            status=status,
            progress=100,
            message=message,
            lease_expires_at=None,
            finished_at=clock.now(),
            updated_at=clock.now(),
            **values,
        )
        if ended:
            KeywordImportUpload.objects.filter(job_id__in=ids).delete()
    return bool(ended)


def import_job_execute(
    *, job_id: uuid.UUID | str, progress: Progress | None = None
) -> KeywordImportJob | None:
    """Claim the job and do it: check every line, then (when none is bad) write every
    keyword in one transaction. Returns the job as this attempt left it, or None when it was
    not this caller's to do (ended, gone, or held by a live executor). `progress(phase,
    line)` is told how far it got, for a caller showing it (the job row has it too)."""
    job = _claim(job_id)
    if job is None:
        return None
    fence = KeywordImportJob.objects.filter(pk=job.pk, epoch=job.epoch)
    total = max(job.total_lines, 1)

    def checking(phase: str, line: int) -> None:
        if phase == "validating":
            percent = min(VALIDATE_SHARE, VALIDATE_SHARE * line // total)
            now = clock.now()
            renewed = fence.filter(status=ImportStatus.VALIDATING).update(
                progress=percent, lease_expires_at=_lease_until(now), updated_at=now
            )
            if not renewed:
                raise JobLost
        if progress is not None:
            progress(phase, line)

    try:
        lines = _lines(job)
        validation = keywords_validate(
            site=job.site, lines=lines, progress=checking, max_errors=MAX_JOB_ERRORS
        )
        if validation.error_count:
            count = validation.error_count
            _end(
                fence,
                status=ImportStatus.FAILED,
                errors=validation.errors,
                error_count=count,
                message=f"{count} line{'s' if count != 1 else ''} with errors: nothing was "
                "imported. Fix them and import the whole file again.",
            )
        else:
            # The write holds the job row (PostgreSQL) or the database (SQLite) until it
            # commits: no other executor can take the job meanwhile, whatever the lease says.
            now = clock.now()
            lease = _lease_until(now, validation.rows / WRITE_ROWS_PER_SECOND)
            writing = fence.filter(status=ImportStatus.VALIDATING).update(
                status=ImportStatus.WRITING,
                progress=VALIDATE_SHARE,
                lease_expires_at=lease,
                updated_at=now,
            )
            if not writing:
                raise JobLost

            def fence_write() -> None:
                if not fence.filter(status=ImportStatus.WRITING).update(updated_at=clock.now()):
                    raise JobLost

            def done(report: ImportReport) -> None:
                if not _end(
                    fence,
                    status=ImportStatus.DONE,
                    created_count=report.created,
                    duplicate_count=report.duplicates,
                ):
                    raise JobLost

            keywords_write(
                site=job.site,
                lines=lines,
                validation=validation,
                progress=progress,
                before=fence_write,
                after=done,
            )
    except JobLost:
        log.info("import %s: taken over by another executor or ended", job.pk)
        return None
    except Exception as exc:
        log.exception("import %s: attempt %s failed", job.pk, job.epoch)
        message = f"Attempt {job.epoch} of {MAX_ATTEMPTS} failed, nothing was imported: {exc}"
        if job.epoch >= MAX_ATTEMPTS:
            _end(fence, status=ImportStatus.FAILED, message=message[:2000])
        else:  # expired at once: the reconciler (or the caller) starts the next attempt
            expired = clock.now() - dt.timedelta(microseconds=1)
            fence.update(lease_expires_at=expired, message=message[:2000])
    return KeywordImportJob.objects.filter(pk=job.pk).first()


def import_jobs_reconcile(*, now: dt.datetime | None = None, wake: bool = True) -> list[str]:
    """Wake a worker for every unfinished job nobody holds (a lost message, a dead worker),
    at most once a lease period per job; fail, with the reason, those that used all their
    attempts. Returns the job ids woken."""
    now = now or clock.now()
    quiet = now - dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS)
    stale = KeywordImportJob.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
        status__in=ACTIVE_IMPORT_STATUSES,
        updated_at__lt=quiet,  # nothing happened to it for a lease period
    )
    woken: list[str] = []
    for job_id, epoch, message in stale.values_list("pk", "epoch", "message"):
        fence = KeywordImportJob.objects.filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now),
            pk=job_id,
            epoch=epoch,
            status__in=ACTIVE_IMPORT_STATUSES,
        )
        try:
            if epoch >= MAX_ATTEMPTS:
                reason = message or (
                    f"The import was interrupted {epoch} times (its worker stopped); "
                    "nothing was imported."
                )
                if _end(fence, status=ImportStatus.FAILED, message=reason):
                    log.warning("import %s failed after %s attempts", job_id, epoch)
                continue
            if not fence.update(updated_at=now):
                continue
        except OperationalError:  # SQLite: a long import is writing; next tick
            log.warning("import %s: database busy, reconciled later", job_id, exc_info=True)
            continue
        if wake:
            import_wake(job_id)
        woken.append(str(job_id))
    return woken


def import_job_cancel(*, job_id: uuid.UUID | str, reason: str) -> bool:
    """End an unfinished job, keeping nothing of it (e.g. Ctrl-C in `inkline
    import-keywords`). An executor still at it finds the job ended at its next fenced write;
    one already writing holds the job row until it commits, and then the job is done."""
    fence = KeywordImportJob.objects.filter(pk=job_id, status__in=ACTIVE_IMPORT_STATUSES)
    return _end(fence, status=ImportStatus.FAILED, message=reason)
