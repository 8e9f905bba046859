"""Small builders for pipeline data (plain functions: explicit and readable)."""

from __future__ import annotations

from typing import Any

from inkline.accounts.models import Site
from inkline.automation import engine
from inkline.automation.models import AutomationConfig, AutomationRun
from inkline.automation.services import run_start
from inkline.billing.models import CreditCostConfig
from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.writer.models import WritingTask

COFFEE = """how to make cold brew|cold brew ratio|cold brew concentrate|best cold brew maker
french press ratio|how to use a french press|best french press|french press grind size
espresso machine for beginners|best espresso machine under 500|espresso grind size
how to pull an espresso shot|burr grinder vs blade grinder|best burr grinder
coffee grinder settings|how to clean a coffee grinder|v60 recipe|pour over ratio
pour over kettle|how to make pour over coffee|aeropress recipe|aeropress inverted method
best aeropress recipe|aeropress vs french press""".replace("\n", "|").split("|")


def add_keywords(site: Site, phrases: list[str] | None = None) -> list[Keyword]:
    return [Keyword.objects.create(site=site, phrase=p) for p in (phrases or COFFEE)]


def add_tasks(site: Site, n: int) -> list[WritingTask]:
    cluster = Cluster.objects.create(site=site, name="Coffee", status=Cluster.Status.IDEAS)
    tasks = []
    for i in range(n):
        idea = ContentIdea.objects.create(
            site=site,
            cluster=cluster,
            title=f"Coffee guide {i}",
            primary_keyword=f"coffee topic {i}",
            target_keywords=[f"coffee topic {i}"],
            outline=["What it is", "How it works", "Tips", "Common mistakes"],
            status=ContentIdea.Status.QUEUED,
        )
        tasks.append(
            WritingTask.objects.create(
                site=site,
                idea=idea,
                cluster=cluster,
                title=idea.title,
                primary_keyword=idea.primary_keyword,
            )
        )
    return tasks


def configure(site: Site, **fields: Any) -> AutomationConfig:
    AutomationConfig.objects.filter(site=site).update(**fields)
    return AutomationConfig.objects.get(site=site)


def only_stages(site: Site, *stages: int, **limits: Any) -> AutomationConfig:
    return configure(site, **{f"stage_{s}_enabled": s in stages for s in range(1, 8)}, **limits)


def run_now(site: Site, provider: Any = None) -> AutomationRun:
    """Start a run and execute it to the end in this process."""
    run = run_start(site=site, wake=False)
    return engine.run_to_end(run_id=run.run_id, provider=provider)


def leased_context(
    site: Site, run: AutomationRun, provider: Any, *, owner: str = "w1", concurrency: int = 1
) -> engine.RunContext:
    """Take the run's lease as worker `owner` and build the engine's context for it, so a
    test can drive single items through `StageRunner.reserve` and `settle` as a slice does."""
    lease = engine.lease_acquire(run_id=run.run_id, owner=owner)
    assert lease is not None
    return engine.RunContext(
        run=AutomationRun.objects.select_related("site").get(pk=run.pk),
        lease=lease,
        site=site,
        config=site.automation_config,
        provider=provider,
        costs={c.operation_type: c for c in CreditCostConfig.objects.all()},
        deadline=float("inf"),
        concurrency=concurrency,
    )
