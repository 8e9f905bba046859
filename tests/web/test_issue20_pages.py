"""Issue 20's page fixes, at the HTTP level (the browser tests are in tests/e2e)."""

from __future__ import annotations

import pytest
from django.test import Client

from inkline.accounts.models import Account, Site
from tests.web.test_actions import PUBLISHING

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def preview_of(html: str) -> str:
    return html.split('id="preview"', 1)[1].split("</section>", 1)[0]


def test_a_refused_save_previews_the_refused_fields_not_the_days(owner: Client, site: Site) -> None:
    url = f"/sites/{site.pk}/publishing/"
    bad = PUBLISHING | {
        "scheduling_mode": "stagger",
        "publish_days": ["mon", "tue", "wed", "thu", "fri"],
        "stagger_start_time": "12:00",
        "stagger_end_time": "09:00",
        "queue_limit": "0",
    }
    preview = preview_of(owner.post(url, bad).content.decode())
    assert "publish day" not in preview
    assert 'data-field="stagger_end_time"' in preview and "End time" in preview
    assert 'data-field="queue_limit"' in preview and "Queue limit" in preview
    live = owner.get(f"{url}preview/", bad).content.decode()
    assert "publish day" not in live and 'data-field="queue_limit"' in live
    no_days = owner.get(f"{url}preview/", PUBLISHING | {"publish_days": []}).content.decode()
    assert "no publish days are selected" in no_days
