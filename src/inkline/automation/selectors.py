"""Reads of the pipeline: what each stage has pending (from the stage registry), runs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, QuerySet, Subquery
from django.db.models.functions import Coalesce

from inkline.accounts.models import Site
from inkline.automation.models import ACTIVE_STATUSES, AutomationConfig, AutomationRun
from inkline.automation.progress import Outlook, expected_items, run_outlook, stage_pace
from inkline.automation.stages import RETRYABLE_STAGES, STAGE_CLASSES, STAGES
from inkline.automation.stages import stage as stage_of
from inkline.billing.estimates import pipeline_estimates


def pending_queryset(stage: int, site_id: int) -> QuerySet[Any]:
    """The items stage `stage` would take for a site, oldest first (by id)."""
    return stage_of(stage).pending(site_id)


def pipeline_pending(site_id: int) -> dict[int, int]:
    """Pending count per stage: exactly the database count of `pending_queryset`, all seven
    in one query (a scalar subquery per stage), so a page pays one round trip, not seven."""
    counts = {
        f"stage_{stage}": Coalesce(
            Subquery(
                pending_queryset(stage, site_id)
                .order_by()
                .values("site_id")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        )
        for stage in STAGES
    }
    row = Site.objects.filter(pk=site_id).annotate(**counts).values_list(*counts).first()
    return {stage: int(n) for stage, n in zip(STAGES, row or [0] * len(STAGES), strict=True)}


def failed_counts(site_id: int) -> dict[int, int]:
    """Items excluded from pending after too many failed attempts, per stage."""
    max_attempts = settings.INKLINE_ITEM_MAX_ATTEMPTS
    return {
        n: STAGE_CLASSES[n]
        .model._default_manager.filter(site_id=site_id, attempts__gte=max_attempts)
        .count()
        for n in RETRYABLE_STAGES
    }


def active_run(site_id: int) -> AutomationRun | None:
    return (
        AutomationRun.objects.filter(site_id=site_id, status__in=ACTIVE_STATUSES)
        .order_by("-id")
        .first()
    )


def run_counts_by_status(site_id: int) -> dict[str, int]:
    rows = AutomationRun.objects.filter(site_id=site_id).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def items_remaining(site_id: int) -> dict[str, int]:
    return {f"stage_{stage}": n for stage, n in pipeline_pending(site_id).items()}


# Read by every poll of the pipeline: fixed SQL through `raw()`, like the site reads of
# `inkline.accounts.selectors` (tests/test_prepared.py checks them against the ORM).
_CONFIG_SQL = "SELECT * FROM automation_automationconfig WHERE site_id = %s"
_LATEST_RUN_SQL = (
    "SELECT id, run_id, site_id, status, progress_percent, heartbeat_at, stopped_reason,"
    " lease_owner, lease_expires_at"
    " FROM automation_automationrun WHERE site_id = %s ORDER BY id DESC LIMIT 1"
)


def site_config(site_id: int) -> AutomationConfig | None:
    """The site's automation settings (None: no row yet)."""
    found = list(AutomationConfig.objects.raw(_CONFIG_SQL, [site_id]))
    return found[0] if found else None


def ai_check_last(site_id: int) -> dict[str, Any] | None:
    """The site's latest AI connection check as stored (`services.ai_check_record`), or None
    when its endpoint was never checked."""
    found = AutomationConfig.objects.filter(site_id=site_id).values_list("ai_check", flat=True)
    return next(iter(found), None) or None


def run_cap(site_id: int) -> int:
    """The site's per-run credit cap (0 = unlimited)."""
    config = site_config(site_id)
    return int(config.max_credits_per_run) if config is not None else 0


def latest_run(site_id: int) -> AutomationRun | None:
    """The site's newest run, its state only (the other fields are deferred, as with the
    ORM's `only()`: no results or snapshots). At most one run of a site is active and a new
    one cannot start while it is, so the active run, if any, is this one."""
    found = list(AutomationRun.objects.raw(_LATEST_RUN_SQL, [site_id]))
    return found[0] if found else None


def pipeline_summary(
    site_id: int, *, config: Any = None, allocation: Any = None, version: int | None = None
) -> dict[str, object]:
    """The pipeline endpoint's answer: per stage, pending (the database count), the per-run
    limit, runs needed to clear it, and the credits that would cost; plus the active run and
    the latest run's state and stopped reason (why the last run failed, e.g. its endpoint).
    Pass the site's config and budget allocation if they were loaded with it, and its
    `pipeline_version` to let recent counts be reused (see `pending_counts`)."""
    latest = latest_run(site_id)  # read before the counts: see `pending_counts`
    active = latest if latest and latest.is_active else None
    key = None if version is None else reuse_key(version=version, latest_run=latest)
    stages = pipeline_stages(site_id, config=config, allocation=allocation, reuse_key=key)
    last = (
        {"run_id": latest.run_id, "status": latest.status, "stopped_reason": latest.stopped_reason}
        if latest is not None
        else None
    )
    return {"stages": stages, "active_run": active.run_id if active else None, "last_run": last}


def pipeline_stages(
    site_id: int,
    *,
    config: Any = None,
    allocation: Any = None,
    reuse_key: str | None = None,
) -> list[dict[str, Any]]:
    """Per stage: pending, the per-run limit, runs needed and credit estimates. Pass the
    site's `AutomationConfig` and budget allocation when the caller has them, and a
    `reuse_key` to let a polled page reuse recent counts (see `pending_counts`)."""
    if config is None:
        config = site_config(site_id) or AutomationConfig()
    pending = pending_counts(site_id, reuse_key=reuse_key)
    # Credits for the next run and for everything pending, what each operation's share of
    # the run cap affords, and runs needed counting both the item limit and that budget.
    limits = {n: config.stage_limit(n) for n in STAGES}
    estimates = pipeline_estimates(
        site_id=site_id,
        pending=pending,
        pricing={n: s.pricing() for n, s in STAGE_CLASSES.items()},
        limits=limits,
        cap=int(config.max_credits_per_run or 0),
        allocation=allocation,
    )
    return [
        {
            "stage": n,
            "name": s.name,
            "enabled": config.stage_enabled(n),
            "pending": pending[n],
            "limit": limits[n],
            **estimates[n],
        }
        for n, s in STAGE_CLASSES.items()
    ]


def reuse_key(*, version: int, latest_run: AutomationRun | None) -> str:
    """What must not have changed for a site's pending counts to be reused: its
    `pipeline_version` (raised by every change made outside runs: imports, review decisions,
    retries) and its newest run's state (the engine updates its run in the same transaction
    as every item it commits). Read both *before* counting."""
    run = latest_run
    if run is None:
        return f"{version}:none"
    beat = run.heartbeat_at.timestamp() if run.heartbeat_at else 0
    # A worker letting go of a paused or cancelled run (it settled its calls) changes no
    # other column: the lease's owner tells.
    return f"{version}:{run.pk}:{run.status}:{run.progress_percent}:{beat}:{run.lease_owner}"


def pending_counts(site_id: int, *, reuse_key: str | None = None) -> dict[int, int]:
    """`pipeline_pending`, reused by pages that poll it while nothing changed.

    Counting what a large site has pending reads every pending row's index entry, while the
    dashboard polls every second. With a `reuse_key` (see `reuse_key`) a web process reuses
    the counts for the same key for up to `INKLINE_PIPELINE_CACHE_SECONDS` (default 1; 0
    turns reuse off): a change the key does not see (made by code that does not raise the
    site's version) shows up at most that many seconds late."""
    ttl = settings.INKLINE_PIPELINE_CACHE_SECONDS
    if reuse_key is None or ttl <= 0:
        return pipeline_pending(site_id)
    key = f"inkline:pending:{site_id}:{reuse_key}"
    counts: dict[int, int] | None = cache.get(key)
    if counts is None:
        counts = pipeline_pending(site_id)
        cache.set(key, counts, ttl)
    return counts


# Earlier runs read for the pace each stage was measured at (newest first).
PACE_RUNS = 5


def stage_paces(site_id: int, *, before: int | None = None) -> dict[int, float]:
    """Seconds per item of each stage for a site: as its last runs (those before run pk
    `before`) measured it, else the stage's typical seconds (see `progress.stage_pace`)."""
    runs = AutomationRun.objects.filter(site_id=site_id).order_by("-id")
    if before is not None:
        runs = runs.filter(pk__lt=before)
    measured: dict[str, Any] = {}
    for results in runs.values_list("stage_results", flat=True)[:PACE_RUNS]:
        for key, result in (results or {}).items():
            if key not in measured and int(result.get("processed", 0) or 0) > 0:
                measured[key] = result
    typical = {n: s.typical_seconds for n, s in STAGE_CLASSES.items()}
    return stage_pace(typical=typical, measured=measured)


def outlook_of(run: AutomationRun, *, config: AutomationConfig, pace: dict[int, float]) -> Outlook:
    """The work `run` has done and is expected to have left, in seconds (`progress`)."""
    enabled = [n for n in STAGES if config.stage_enabled(n)]
    items = expected_items(
        stages=STAGES,
        enabled=enabled,
        snapshot=run.initial_snapshot or {},
        plan=run.stage_plan or {},
        limits={n: config.stage_limit(n) for n in STAGES},
        yields={n: s.yields for n, s in STAGE_CLASSES.items()},
    )
    return run_outlook(
        enabled_stages=enabled,
        current_stage=run.current_stage,
        items=items,
        results=run.stage_results or {},
        pace=pace,
    )


def seconds_remaining(run: AutomationRun) -> int | None:
    """About how many seconds a running run has left, at its own pace; None when it is not
    running or has measured nothing yet."""
    if run.status != "running" or run.current_stage > 7:
        return None
    config = site_config(run.site_id) or AutomationConfig()
    outlook = outlook_of(run, config=config, pace=stage_paces(run.site_id, before=run.pk))
    if outlook.done_seconds <= 0:
        return None
    return round(outlook.remaining_seconds)
