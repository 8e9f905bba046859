"""Pipeline data in bulk for page tests: every kind of row a page lists, `n` of each."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from inkline import clock
from inkline.accounts.models import Account, Membership, Role, Site
from inkline.automation.events import event_record
from inkline.automation.models import AutomationRun
from inkline.billing.services import credit_topup
from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.writer.models import Content, Image, WritingTask


def member(account: Account, username: str, role: str = Role.VIEWER) -> object:
    user = get_user_model().objects.create_user(username=username, password="pw")
    Membership.objects.create(user=user, account=account, role=role)
    return user


def populate(site: Site, n: int) -> None:
    """n keywords (half clustered), n clusters, ideas, tasks, n articles in review with
    images, n approved (half scheduled), n finished runs with events, n ledger rows."""
    now = clock.now()
    clusters = Cluster.objects.bulk_create(
        Cluster(site=site, name=f"Cluster {i}", status=Cluster.Status.IDEAS) for i in range(n)
    )
    Keyword.objects.bulk_create(
        Keyword(
            site=site,
            phrase=f"keyword {i}",
            normalized=f"keyword {i}",
            volume=i,
            status=Keyword.Status.CLUSTERED if i % 2 else Keyword.Status.NEW,
            cluster=clusters[i] if i % 2 else None,
        )
        for i in range(n)
    )
    ideas = ContentIdea.objects.bulk_create(
        ContentIdea(
            site=site,
            cluster=clusters[i],
            title=f"Idea {i}",
            primary_keyword=f"keyword {i}",
            status=ContentIdea.Status.QUEUED,
        )
        for i in range(n)
    )
    tasks = WritingTask.objects.bulk_create(
        WritingTask(site=site, idea=ideas[i], cluster=clusters[i], title=f"Task {i}",
                    primary_keyword=f"keyword {i}", status=WritingTask.Status.DONE)
        for i in range(n)
    )  # fmt: skip
    html = "<p>Intro.</p><h2>One</h2><p>Body one.</p><h2>Two</h2><p>Body two.</p>"
    review = Content.objects.bulk_create(
        Content(site=site, task=tasks[i], title=f"Review {i}", html=html, slug=f"review-{i}",
                word_count=9, status=Content.Status.REVIEW, prompts_extracted=True)
        for i in range(n)
    )  # fmt: skip
    Image.objects.bulk_create(
        Image(content=c, site=site, kind=kind, position=pos, prompt="a cup", alt_text="A cup",
              status=Image.Status.PENDING)
        for c in review
        for kind, pos in ((Image.Kind.FEATURED, 0), (Image.Kind.IN_ARTICLE, 1))
    )  # fmt: skip
    Content.objects.bulk_create(
        Content(
            site=site,
            title=f"Approved {i}",
            html=html,
            slug=f"approved-{i}",
            status=Content.Status.APPROVED,
            approved_at=now,
            site_status=(
                Content.SiteStatus.SCHEDULED if i % 2 else Content.SiteStatus.NOT_PUBLISHED
            ),
            scheduled_publish_at=now + dt.timedelta(hours=i + 1) if i % 2 else None,
            unscheduled_reason="" if i % 2 else "The queue is full (limit 100).",
        )
        for i in range(n)
    )
    for i in range(n):
        run = AutomationRun.objects.create(
            site=site,
            account_id=site.account_id,
            status="completed",
            queued_at=now - dt.timedelta(hours=n - i),
            started_at=now - dt.timedelta(hours=n - i),
            completed_at=now - dt.timedelta(hours=n - i - 1),
            progress_percent=100,
            initial_snapshot={"stage_1": 5, "total_initial_items": 5},
            stage_results={"1": {"processed": 5, "created": 2, "failed": 0, "credits_used": 1,
                                 "seconds": 0.5, "status": "done"}},
            stopped_reason="Completed: every enabled stage finished.",
        )  # fmt: skip
        event_record(site_id=site.pk, run=run, message=f"Run {i} completed.", code="completed")
        credit_topup(account_id=site.account_id, amount=1 + i, description=f"Top-up {i}")
