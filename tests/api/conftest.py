"""Fixtures for the API suite: two accounts, a viewer, and account A's site worked through the
whole pipeline by the local provider, so every kind of object exists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Membership, Role, Site
from inkline.automation.models import AutomationRun
from inkline.automation.sites import account_create, site_create
from inkline.notices.models import Delivery, EventKind, WebhookEndpoint
from inkline.planner.models import KeywordImportJob
from inkline.planner.services import import_job_create
from inkline.writer.models import Content, ContentRevision
from tests.factories import COFFEE, add_keywords, run_now

WP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"  # the shape of a WordPress application password


def client(token: str | None = None) -> APIClient:
    api = APIClient()
    if token:
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def member(account: Account, username: str, role: str) -> str:
    """A user of `account` with `role`; returns their API token key."""
    user = get_user_model().objects.create_user(username=username, password="pw")
    Membership.objects.create(user=user, account=account, role=role)
    return Token.objects.create(user=user).key


@dataclass
class World:
    account: Account
    site: Site
    owner: str  # tokens
    editor: str
    viewer: str
    run: AutomationRun
    content: Content
    other_account: Account
    other_site: Site
    other: str
    import_job: KeywordImportJob
    webhook: WebhookEndpoint
    delivery: Delivery
    revision: ContentRevision  # a refresh of `content`, in review
    markers: list[str] = field(default_factory=list)

    def foreign(self, body: Any) -> list[str]:
        """Account A's markers found in `body` (anything JSON-serializable)."""
        text = json.dumps(body, ensure_ascii=False)
        return [m for m in self.markers if m in text]


@pytest.fixture(scope="package")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    """Built once for this package inside an outer transaction; each test's own transaction
    (the `db` fixture) is a savepoint in it, so every test starts from the same world."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def build_world() -> World:
    account, token = account_create(
        name="Alpha Corp", username="alpha", password="pw", credits=100_000
    )
    site = site_create(
        account=account,
        name="alpha-site",
        url="https://alpha.example.com",
        timezone="Europe/Berlin",
        publisher="wordpress",
        publisher_config={
            "url": "https://alpha.example.com",
            "username": "alpha-editor",
            "application_password": WP_PASSWORD,
        },
    )
    add_keywords(site, COFFEE[:2])
    # A webhook of A (made directly: its host need not resolve here), which gets the run's
    # run.completed event: a delivery in its log.
    webhook = WebhookEndpoint(
        account=account, url="https://hooks-alpha.example.com/in", events=list(EventKind)
    )
    webhook.set_secret("whsec_alpha")
    webhook.save()
    run = run_now(site)
    delivery = Delivery.objects.get(endpoint=webhook)
    content = Content.objects.filter(site=site).order_by("id").first()
    assert run.status == "completed" and content is not None, run.error_message
    other_account, other_token = account_create(
        name="Bravo Ltd", username="bravo", password="pw", credits=1_000
    )
    other_site = site_create(account=other_account, name="bravo-site", timezone="Asia/Tokyo")
    add_keywords(other_site, ["green tea benefits", "matcha latte recipe"])
    # A keyword import job of A, queued (no worker runs here).
    import_job = import_job_create(site=site, rows=[{"keyword": "a queued one"}], wake=False)
    # A refresh of A's article waiting for review (no worker writes it here).
    revision = ContentRevision.objects.create(
        content=content,
        site=site,
        number=1,
        status=ContentRevision.Status.REVIEW,
        base_title=content.title,
        base_html=content.html,
        title=content.title,
        html=content.html + "<p>Refreshed.</p>",
    )
    markers = [
        "alpha-site",
        "Alpha Corp",
        "hooks-alpha",
        run.run_id,
        *COFFEE[:2],
        *Content.objects.filter(site=site).values_list("slug", flat=True),
    ]
    return World(
        account=account,
        site=site,
        owner=token.key,
        editor=member(account, "alpha-editor-user", Role.EDITOR),
        viewer=member(account, "alpha-viewer", Role.VIEWER),
        run=run,
        content=content,
        other_account=other_account,
        other_site=other_site,
        other=other_token.key,
        import_job=import_job,
        webhook=webhook,
        delivery=delivery,
        revision=revision,
        markers=markers,
    )
