"""Reads the pages need, shaped for templates. Each makes a fixed number of queries whatever
the amount of data (asserted in tests/web)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils.safestring import mark_safe

from inkline import clock
from inkline.accounts.models import Site
from inkline.automation import selectors as automation
from inkline.automation.models import (
    AutomationConfig,
    AutomationRun,
)
from inkline.automation.stages import STAGE_CLASSES, stage_of_operation
from inkline.billing import budget, estimates
from inkline.billing import selectors as billing
from inkline.billing.models import CreditTransaction, Operation
from inkline.core.localtime import local_instant
from inkline.publishing import selectors as publishing
from inkline.publishing.models import PublishingSettings
from inkline.publishing.slots import NoSlots, SlotRules, next_slots
from inkline.web.charts import OPERATION_COLOURS, pie, stacked_bars
from inkline.writer.diff import revision_diff
from inkline.writer.models import Content, ContentRevision

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
    time_left: str = ""  # "about 3 min left" while it runs and has measured its pace


def time_left_words(seconds: int | None) -> str:
    """An estimate of the time a run has left, in words ("" when there is none)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return "less than a minute left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min left" if minutes else f"about {hours} h left"


def stage_cards(
    site_id: int,
    *,
    config: AutomationConfig | None = None,
    reuse_key: str | None = None,
) -> list[StageCard]:
    return [
        StageCard(
            stage=s["stage"],
            name=s["name"],
            unit=STAGE_CLASSES[s["stage"]].noun,
            help=STAGE_CLASSES[s["stage"]].description,
            enabled=s["enabled"],
            pending=s["pending"],
            limit=s["limit"],
            runs_needed=s["runs_needed"],
            estimated_credits=s["estimated_credits"],
        )
        for s in automation.pipeline_stages(site_id, config=config, reuse_key=reuse_key)
    ]


def stage_help() -> list[tuple[int, str, str]]:
    """Each stage's number, name and what it does: the help the stage cards show on hover,
    listed where a phone (no hover) reaches it too."""
    return [(n, stage.name, stage.description) for n, stage in STAGE_CLASSES.items()]


def run_view(run: AutomationRun) -> RunView:
    stage = min(run.current_stage, 7)
    result = run.stage_results.get(str(stage), {})
    return RunView(
        run=run,
        stage=stage,
        stage_name=STAGE_CLASSES[stage].name,
        stage_done=int(result.get("processed", 0)) + int(result.get("failed", 0)),
        stage_planned=int(run.stage_plan.get(str(stage), 0)),
        time_left=time_left_words(automation.seconds_remaining(run)),
    )


def dashboard_live(site: Site, *, config: AutomationConfig | None) -> dict[str, Any]:
    """Stage cards and the latest run: the active one, else the last to have ended."""
    recent = list(
        AutomationRun.objects.filter(site_id=site.pk).order_by("-queued_at", "-id")[:RECENT_RUNS]
    )
    latest = recent[0] if recent else None
    return {
        # The runs are read first: a page polled every second may reuse recent counts.
        "cards": stage_cards(
            site.pk,
            config=config,
            reuse_key=automation.reuse_key(version=site.pipeline_version, latest_run=latest),
        ),
        "latest": run_view(latest) if latest else None,
        "recent_runs": recent,
    }


def live_key(site: Site) -> str:
    """What the dashboard's live part shows depends on: the site's pending counts (see
    `automation.reuse_key`; settings and budget changes raise the site's pipeline version
    too) and its time zone. One prepared read of the newest run."""
    latest = automation.latest_run(site.pk)
    reuse = automation.reuse_key(version=site.pipeline_version, latest_run=latest)
    return f"{site.pk}:{site.timezone}:{reuse}"


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
            stage=n,
            name=stage.name,
            unit=stage.noun,
            initial=run.initial_snapshot.get(f"stage_{n}"),
            result=run.stage_results.get(str(n)),
            remaining=remaining[n],
        )
        for n, stage in STAGE_CLASSES.items()
    ]
    events = list(run.events.order_by("at", "id"))
    return {
        "run": run,
        "view": run_view(run),
        "rows": rows,
        "remaining_total": sum(remaining.values()),
        "events": events,
        "ended": not run.is_active,
        # Polled while it runs, and while a paused or cancelled run settles its calls.
        "polling": run.is_active or run.settling,
    }


@dataclass(frozen=True)
class LimitRow:
    card: StageCard
    limit_field: Any
    enabled_field: Any
    tip: str


def automation_settings(site: Site, form: Any) -> dict[str, Any]:
    """The per-run limits panel: each stage's limit, pending count, runs needed and tips."""
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
            limit_field=form[STAGE_CLASSES[card.stage].limit_field],
            enabled_field=form[STAGE_CLASSES[card.stage].enabled_field],
            tip=tips.get(card.stage, ""),
        )
        for card in stage_cards(site.pk)
    ]
    config = form.instance
    return {"form": form, "rows": rows, "config": config}


PREVIEW_COUNT = 10


STRUCTURED_OUTPUT_LABELS = {
    "json_schema": "JSON schema (strict structured output)",
    "json_object": "JSON mode, with the schema in the prompt",
    "prompt": "plain JSON asked in the prompt, validated",
}


def ai_check_panel(document: dict[str, Any] | None) -> dict[str, Any]:
    """The site settings page's "AI connection" panel: the stored check (the document of
    `automation.services.ai_check_record`) shaped for the template; None: never checked."""
    if not document:
        return {"ai_check": None}
    mode = document.get("structured_output")
    return {
        "ai_check": {
            **document,
            "checked_at": dt.datetime.fromisoformat(str(document["checked_at"])),
            "structured_label": STRUCTURED_OUTPUT_LABELS.get(str(mode), "none worked"),
        }
    }


@dataclass(frozen=True)
class SlotPreview:
    """The next free slots under some settings, or why there are none."""

    slots: list[dt.datetime]
    no_slot_reason: str = ""


def preview_slots(site: Site, settings: Any, *, moves: Any = ()) -> SlotPreview:
    """The next free slots under `settings` (saved or not), writing nothing; when the rules
    allow none, the reason (`slots.NoSlots`: no day ticked, no time slot). `moves` (of
    `publishing.services.replacement_plan`) are counted as made: their new slots are taken,
    their old ones free."""
    now = clock.now()
    occupied = publishing.occupied_instants(site.pk, since=now)
    occupied = (occupied - {m.old for m in moves}) | {m.new for m in moves}
    try:
        return SlotPreview(
            next_slots(
                rules=SlotRules.from_settings(settings),
                tz=site.tz,
                now=now,
                count=PREVIEW_COUNT,
                occupied=occupied,
            )
        )
    except NoSlots as exc:
        return SlotPreview([], exc.reason)


@dataclass(frozen=True)
class FieldProblem:
    name: str
    label: str
    errors: list[str]


def form_problems(form: Any) -> list[FieldProblem]:
    """A bound form's errors by field, labelled as the page labels them, in the form's
    order (errors not tied to a field last, under no name)."""
    errors = form.errors
    problems = [
        FieldProblem(name, str(form[name].label), list(errors[name]))
        for name in form.fields
        if name in errors
    ]
    if "__all__" in errors:
        problems.append(FieldProblem("", "", list(errors["__all__"])))
    return problems


def publishing_page(site: Site, settings: Any, *, form: Any = None) -> dict[str, Any]:
    """Queue status, upcoming publications by local day, unscheduled items with reasons, and
    the preview of the next slots: under `settings`, or, when the bound `form` was refused,
    the refused fields instead (its instance holds values that were never accepted)."""
    queue = publishing.publishing_queue(site)
    titles = dict(
        Content.objects.filter(pk__in=[u["content_id"] for u in queue["unscheduled"]]).values_list(
            "id", "title"
        )
    )
    tz = site.tz
    agenda = [
        (day, list(items))
        for day, items in groupby(
            queue["items"], key=lambda i: i["scheduled_publish_at"].astimezone(tz).date()
        )
    ]
    unscheduled = [{**u, "title": titles.get(u["content_id"], "")} for u in queue["unscheduled"]]
    refused = form is not None and form.is_bound and not form.is_valid()
    return {
        "queue": queue,
        "agenda": agenda,
        "unscheduled": unscheduled,
        "preview": None if refused else preview_slots(site, settings),
        "problems": form_problems(form) if refused else [],
        "form_ok": not refused,
    }


@dataclass(frozen=True)
class BudgetRow:
    operation: str
    label: str
    percentage: Any
    budget: int | None
    affords: int | None
    unit: str
    colour: str


# The noun of one item each operation works on.
OPERATION_UNITS = {
    "clustering": "keywords",
    "idea_generation": "clusters",
    "content_generation": "articles",
    "image_prompt_extraction": "articles",
    "image_generation": "images",
}


def budget_page(site: Site) -> dict[str, Any]:
    """The allocation in force, its pie, and what each share affords under the run cap."""
    allocation = billing.site_allocation(site.pk)
    global_defaults = billing.global_percentages()
    effective = budget.effective_percentages(
        use_global_defaults=allocation.use_global_defaults,
        custom=billing.allocation_percentages(allocation),
        global_defaults=global_defaults,
    )
    cap = automation.run_cap(site.pk)
    shares = budget.operation_budgets(cap, effective)
    costs = {c.operation_type: c for c in billing.cost_configs()}
    rows = []
    for op, label in Operation.choices:
        share = shares[op] if shares is not None else None
        config = costs.get(op)
        stage = stage_of_operation(op)
        pricing = stage.pricing() if stage is not None else None
        affords = (
            estimates.affordable(pricing, config, share)
            if pricing is not None and config is not None
            else None
        )
        rows.append(
            BudgetRow(op, label, effective[op], share, affords, OPERATION_UNITS[op],
                      OPERATION_COLOURS[op])
        )  # fmt: skip
    return {
        "allocation": allocation,
        "global_defaults": [(label, global_defaults.get(op)) for op, label in Operation.choices],
        "rows": rows,
        "cap": cap,
        "pie": pie([(r.operation, r.label, r.percentage) for r in rows]),
    }


USAGE_DAYS = 14


@dataclass(frozen=True)
class LedgerFilters:
    """The credits page's ledger filters, checked: a site of the account, a run of it."""

    site_id: int | None = None
    run_pk: int | None = None
    run_id: str = ""
    error: str = ""


def ledger_filters(account_id: int, params: Any) -> LedgerFilters:
    """`?site=ID&run=run_…` read against the account (another account's site or run, or
    an unknown one, filters nothing and says so, as the API's filters do)."""
    site_text = str(params.get("site") or "").strip()
    run_text = str(params.get("run") or "").strip()[:64]
    site_id = None
    error = ""
    if site_text:
        if (
            site_text.isdecimal()
            and Site.objects.filter(pk=int(site_text), account_id=account_id).exists()
        ):
            site_id = int(site_text)
        else:
            error = "No such site in this account."
    run_pk = None
    if run_text:
        run_pk = (
            AutomationRun.objects.filter(run_id=run_text, account_id=account_id)
            .values_list("pk", flat=True)
            .first()
        )
        if run_pk is None:
            error = f"No run {run_text} in this account."
    return LedgerFilters(site_id, run_pk, run_text if run_pk else "", error)


def credits_page(account_id: int) -> dict[str, Any]:
    """Balance, and credits captured per operation per day over the last two weeks."""
    today = clock.now().astimezone(dt.UTC).date()
    days = [today - dt.timedelta(days=n) for n in range(USAGE_DAYS - 1, -1, -1)]
    rows = (
        CreditTransaction.objects.filter(
            account_id=account_id,
            kind=CreditTransaction.Kind.CAPTURE,
            at__date__gte=days[0],
        )
        .annotate(day=TruncDate("at", tzinfo=dt.UTC))
        .values("day", "operation_type")
        .annotate(spent=Sum("amount"))
    )
    usage: dict[dt.date, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for row in rows:
        spent = -int(row["spent"] or 0)
        usage.setdefault(row["day"], {})[row["operation_type"]] = spent
        totals[row["operation_type"]] = totals.get(row["operation_type"], 0) + spent
    labels = dict(Operation.choices)
    return {
        "balance": billing.balance_of(account_id),
        "chart": stacked_bars(days, usage, labels),
        "legend": [
            (labels[op], colour, totals.get(op, 0)) for op, colour in OPERATION_COLOURS.items()
        ],
        "usage_days": USAGE_DAYS,
    }


@dataclass(frozen=True)
class WeekDay:
    date: dt.date
    items: list[Content]


def queue_week(site: Site, day: dt.date) -> dict[str, Any]:
    """The publishing queue's week holding `day` (Monday to Sunday, in the site's time
    zone): each day's scheduled and published articles by their local time."""
    tz = site.tz
    monday = day - dt.timedelta(days=day.weekday())
    start = local_instant(monday, dt.time(), tz)
    end = local_instant(monday + dt.timedelta(days=7), dt.time(), tz)
    rows = list(
        Content.objects.filter(
            site=site, scheduled_publish_at__gte=start, scheduled_publish_at__lt=end
        )
        .exclude(status=Content.Status.REJECTED)
        .order_by("scheduled_publish_at", "id")
        .only("id", "title", "status", "site_status", "scheduled_publish_at", "published_url")
    )
    days = {
        monday + dt.timedelta(days=n): WeekDay(monday + dt.timedelta(days=n), []) for n in range(7)
    }
    for content in rows:
        assert content.scheduled_publish_at is not None
        local = content.scheduled_publish_at.astimezone(tz).date()
        if local in days:
            days[local].items.append(content)
    today = clock.now().astimezone(tz).date()
    return {
        "week_days": list(days.values()),
        "week_start": monday,
        "week_end": monday + dt.timedelta(days=6),
        "previous_week": monday - dt.timedelta(days=7),
        "next_week": monday + dt.timedelta(days=7),
        "today": today,
        "week_count": len(rows),
    }


# --- refreshes ------------------------------------------------------------------------------
REVISIONS_SHOWN = 20  # refreshes in review shown on the review page


def diff_of(revision: ContentRevision) -> dict[str, Any]:
    """A revision's diff for a template: its blocks' HTML is escaped text with <ins>/<del>
    (`writer.diff`), safe to show as it is."""
    diff = revision_diff(revision)
    return {
        "added": diff.added,
        "removed": diff.removed,
        "blocks": [(b.kind, b.tag, mark_safe(b.html)) for b in diff.blocks],  # noqa: S308
    }


def revisions_in_review(site_id: int) -> list[tuple[ContentRevision, dict[str, Any]]]:
    rows = (
        ContentRevision.objects.filter(site_id=site_id, status=ContentRevision.Status.REVIEW)
        .select_related("content")
        .order_by("pk")[:REVISIONS_SHOWN]
    )
    return [(r, diff_of(r)) for r in rows]
