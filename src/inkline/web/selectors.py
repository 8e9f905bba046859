"""Reads the pages need, shaped for templates. Each makes a fixed number of queries whatever
the amount of data (asserted in tests/web)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inkline.accounts.models import Site
from inkline.automation import selectors as automation
from inkline.automation.models import (
    STAGE_LIMIT_FIELDS,
    STAGE_NAMES,
    STAGES,
    AutomationConfig,
    AutomationRun,
)

# What each stage's pending count counts, in the words of the tooltip, and its unit.
STAGE_HELP: dict[int, tuple[str, str]] = {
    1: ("keywords", "Keywords not yet in a cluster. Stage 1 groups them into topic clusters."),
    2: ("clusters", "Clusters that have no content ideas yet. Stage 2 writes ideas for each."),
    3: ("ideas", "Content ideas not yet queued for writing. Stage 3 turns each into a task."),
    4: ("tasks", "Writing tasks waiting for their article. Stage 4 writes the articles."),
    5: ("articles", "Articles in review without image prompts. Stage 5 extracts the prompts."),
    6: ("images", "Image prompts without an image file. Stage 6 generates the images."),
    7: ("articles", "Articles in review with every image done. Stage 7 approves them."),
}
RECENT_RUNS = 10


@dataclass(frozen=True)
class StageCard:
    stage: int
    name: str
    unit: str
    help: str
    enabled: bool
    pending: int
    limit: int
    runs_needed: int
    estimated_credits: int


@dataclass(frozen=True)
class RunView:
    """An active or finished run as the dashboard shows it."""

    run: AutomationRun
    stage: int
    stage_name: str
    stage_done: int
    stage_planned: int


def stage_cards(site_id: int) -> list[StageCard]:
    summary = automation.pipeline_summary(site_id)
    return [
        StageCard(
            stage=s["stage"],
            name=s["name"],
            unit=STAGE_HELP[s["stage"]][0],
            help=STAGE_HELP[s["stage"]][1],
            enabled=s["enabled"],
            pending=s["pending"],
            limit=s["limit"],
            runs_needed=s["runs_needed"],
            estimated_credits=s["estimated_credits"],
        )
        for s in summary["stages"]  # type: ignore[attr-defined]
    ]


def run_view(run: AutomationRun) -> RunView:
    stage = min(run.current_stage, 7)
    result = run.stage_results.get(str(stage), {})
    return RunView(
        run=run,
        stage=stage,
        stage_name=STAGE_NAMES[stage],
        stage_done=int(result.get("processed", 0)) + int(result.get("failed", 0)),
        stage_planned=int(run.stage_plan.get(str(stage), 0)),
    )


def dashboard_live(site: Site) -> dict[str, Any]:
    """Stage cards and the latest run: the active one, else the last to have ended."""
    latest = AutomationRun.objects.filter(site=site).order_by("-queued_at", "-id").first()
    return {"cards": stage_cards(site.pk), "latest": run_view(latest) if latest else None}


def dashboard(site: Site) -> dict[str, Any]:
    config = AutomationConfig.objects.filter(site=site).first()
    recent = list(
        AutomationRun.objects.filter(site=site).order_by("-queued_at", "-id")[:RECENT_RUNS]
    )
    return {**dashboard_live(site), "config": config, "recent_runs": recent}


@dataclass(frozen=True)
class StageRow:
    stage: int
    name: str
    unit: str
    initial: int | None
    result: dict[str, Any] | None
    remaining: int


def run_detail(run: AutomationRun) -> dict[str, Any]:
    remaining = automation.pipeline_pending(run.site_id)
    rows = [
        StageRow(
            stage=stage,
            name=STAGE_NAMES[stage],
            unit=STAGE_HELP[stage][0],
            initial=run.initial_snapshot.get(f"stage_{stage}"),
            result=run.stage_results.get(str(stage)),
            remaining=remaining[stage],
        )
        for stage in STAGES
    ]
    events = list(run.events.order_by("at", "id"))
    return {
        "run": run,
        "view": run_view(run),
        "rows": rows,
        "remaining_total": sum(remaining.values()),
        "events": events,
        "ended": not run.is_active,
    }


@dataclass(frozen=True)
class LimitRow:
    card: StageCard
    limit_field: Any
    enabled_field: Any
    tip: str


def automation_settings(site: Site, form: Any) -> dict[str, Any]:
    """The per-run limits panel: each stage's limit, pending count, runs needed and tips."""
    from inkline.publishing.models import PublishingSettings
    from inkline.writer.models import Content

    publishing = PublishingSettings.objects.filter(site=site).first()
    scheduled = Content.objects.filter(site=site, site_status=Content.SiteStatus.SCHEDULED).count()
    tips = {}
    if publishing:
        tips[4] = (
            f"Tip: match this with your daily publish target ({publishing.daily_publish_target} "
            "a day) for a balanced flow."
        )
        tips[7] = (
            "Approvals are limited by your publishing capacity: "
            f"{scheduled} of {publishing.queue_limit} queue places are taken."
        )
    rows = [
        LimitRow(
            card=card,
            limit_field=form[STAGE_LIMIT_FIELDS[card.stage]],
            enabled_field=form[f"stage_{card.stage}_enabled"],
            tip=tips.get(card.stage, ""),
        )
        for card in stage_cards(site.pk)
    ]
    config = form.instance
    return {"form": form, "rows": rows, "config": config}
