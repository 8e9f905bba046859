"""The Publishing endpoints of API.md: settings with validation, preview, schedule, queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Membership, Site
from inkline.automation.sites import account_create, site_create
from inkline.publishing.models import PublishingSettings
from inkline.writer.models import Content
from tests.publishing.builders import approved, publishing

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def client_for(user_token: str | None) -> APIClient:
    api = APIClient()
    if user_token:
        api.credentials(HTTP_AUTHORIZATION=f"Token {user_token}")
    return api


@pytest.fixture
def owner(account: Account) -> APIClient:
    return client_for(Token.objects.get(user__username="owner").key)


@pytest.fixture
def viewer(account: Account) -> APIClient:
    user = get_user_model().objects.create_user(username="viewer", password="pw")
    Membership.objects.create(user=user, account=account, role="viewer")
    return client_for(Token.objects.create(user=user).key)


@pytest.fixture
def stranger(db: Any) -> APIClient:
    _, token = account_create(name="Other", username="other", password="pw")
    return client_for(token.key)


def base(site: Site) -> str:
    return f"/api/v1/sites/{site.pk}/publishing"


def test_settings_read_every_field_of_the_contract(owner: APIClient, site: Site) -> None:
    answer = owner.get(f"{base(site)}/settings/")
    assert answer.status_code == 200
    assert answer.json() == {
        "auto_approval_enabled": True,
        "auto_publish_enabled": True,
        "scheduling_mode": "time_slots",
        "publish_days": ["mon", "tue", "wed", "thu", "fri"],
        "publish_time_slots": ["09:00", "14:00", "18:00"],
        "stagger_start_time": "09:00",
        "stagger_end_time": "18:00",
        "stagger_interval_minutes": 15,
        "daily_publish_target": 3,
        "weekly_publish_target": 15,
        "monthly_publish_target": 50,
        "queue_limit": 100,
        "internal_links_max": 3,
        "schedule_on_wordpress": False,
    }


def test_settings_patch_saves_valid_changes(owner: APIClient, site: Site) -> None:
    answer = owner.patch(
        f"{base(site)}/settings/",
        {
            "scheduling_mode": "stagger",
            "publish_days": ["sun", "mon"],
            "stagger_start_time": "07:30",
            "stagger_end_time": "10:00",
            "stagger_interval_minutes": 45,
            "queue_limit": 7,
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["publish_days"] == ["mon", "sun"]
    stored = PublishingSettings.objects.get(site=site)
    assert stored.scheduling_mode == "stagger"
    assert stored.stagger_start_time == dt.time(7, 30)
    assert (stored.stagger_interval_minutes, stored.queue_limit) == (45, 7)


def test_schedule_on_wordpress_is_a_boolean_setting_in_the_schema(
    owner: APIClient, site: Site
) -> None:
    url = f"{base(site)}/settings/"
    bad = owner.patch(url, {"schedule_on_wordpress": "sometimes"}, format="json")
    assert bad.status_code == 400 and "schedule_on_wordpress" in bad.json()
    answer = owner.patch(url, {"schedule_on_wordpress": True}, format="json")
    assert answer.status_code == 200 and answer.json()["schedule_on_wordpress"] is True
    assert PublishingSettings.objects.get(site=site).schedule_on_wordpress is True
    schema = owner.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    fields = schema["components"]["schemas"]["PublishingSettings"]["properties"]
    assert "Hand scheduled posts to WordPress" in fields["schedule_on_wordpress"]["description"]
    queue_item = schema["components"]["schemas"]["QueueItem"]["properties"]
    assert {"wordpress_scheduled_at", "wordpress_sync_error"} <= set(queue_item)
    queue = owner.get(f"{base(site)}/queue/").json()
    assert queue["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"publish_days": []}, "publish_days"),
        ({"publish_days": ["funday"]}, "publish_days"),
        ({"publish_days": ["mon", "mon"]}, "publish_days"),
        ({"publish_time_slots": ["9:00"]}, "publish_time_slots"),
        ({"publish_time_slots": ["24:00"]}, "publish_time_slots"),
        ({"publish_time_slots": ["09:00", "09:00"]}, "publish_time_slots"),
        ({"publish_time_slots": []}, "publish_time_slots"),  # time-slot mode needs one
        ({"publish_time_slots": "09:00"}, "publish_time_slots"),
        ({"stagger_end_time": "08:00"}, "stagger_end_time"),
        ({"stagger_start_time": "18:30"}, "stagger_start_time"),
        ({"stagger_start_time": "noon"}, "stagger_start_time"),
        ({"stagger_interval_minutes": 0}, "stagger_interval_minutes"),
        ({"queue_limit": 0}, "queue_limit"),
        ({"internal_links_max": -1}, "internal_links_max"),
        ({"internal_links_max": 21}, "internal_links_max"),
        ({"internal_links_max": "three"}, "internal_links_max"),
        ({"internal_links_max": None}, "internal_links_max"),
        ({"daily_publish_target": -1}, "daily_publish_target"),
        ({"scheduling_mode": "weekly"}, "scheduling_mode"),
        ({"auto_publish_enabled": "perhaps"}, "auto_publish_enabled"),
    ],
)
def test_bad_settings_are_400_naming_the_field_and_change_nothing(
    owner: APIClient, site: Site, body: dict[str, Any], field: str
) -> None:
    before = PublishingSettings.objects.get(site=site).updated_at
    answer = owner.patch(f"{base(site)}/settings/", body, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert PublishingSettings.objects.get(site=site).updated_at == before


def test_roles_and_tenancy(
    owner: APIClient, viewer: APIClient, stranger: APIClient, site: Site
) -> None:
    assert viewer.get(f"{base(site)}/settings/").status_code == 200
    assert viewer.patch(f"{base(site)}/settings/", {"queue_limit": 5}).status_code == 403
    assert viewer.post(f"{base(site)}/schedule/").status_code == 403
    for path in ("settings/", "preview/", "queue/"):
        assert stranger.get(f"{base(site)}/{path}").status_code == 404
    assert stranger.post(f"{base(site)}/schedule/").status_code == 404
    assert client_for(None).get(f"{base(site)}/queue/").status_code == 401
    assert PublishingSettings.objects.get(site=site).queue_limit == 100


def test_preview_returns_the_next_free_slots_and_writes_nothing(
    owner: APIClient, account: Account
) -> None:
    site = site_create(account=account, name="ny", timezone="America/New_York")
    publishing(site, publish_time_slots=["02:30", "09:00"], publish_days=["sun"])
    approved(site, 1)
    owner.post(f"{base(site)}/schedule/")  # occupies the first slot from the real now
    rows = list(Content.objects.values_list("id", "site_status", "scheduled_publish_at"))
    settings_row = PublishingSettings.objects.get(site=site).updated_at
    # Sunday 8 March 2026: 02:30 does not exist in New York (the clocks jump from 02:00 to
    # 03:00): it moves forward by the gap, to 03:30 EDT.
    answer = owner.get(f"{base(site)}/preview/", {"count": "3", "now": "2026-03-08T00:00:00Z"})
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "slots": ["2026-03-08T07:30:00Z", "2026-03-08T13:00:00Z", "2026-03-15T06:30:00Z"],
        "timezone": "America/New_York",
        "scheduling_mode": "time_slots",
    }
    # an unencoded "+" arrives as a space: still understood
    spaced = owner.get(f"{base(site)}/preview/?count=1&now=2026-03-08T00:00:00 00:00")
    assert spaced.json()["slots"] == ["2026-03-08T07:30:00Z"]
    assert list(Content.objects.values_list("id", "site_status", "scheduled_publish_at")) == rows
    assert PublishingSettings.objects.get(site=site).updated_at == settings_row


@pytest.mark.parametrize(
    ("query", "field"),
    [({"count": 0}, "count"), ({"count": "x"}, "count"), ({"now": "yesterday"}, "now")],
)
def test_bad_preview_queries_are_400(
    owner: APIClient, site: Site, query: dict[str, Any], field: str
) -> None:
    answer = owner.get(f"{base(site)}/preview/", query)
    assert answer.status_code == 400
    assert list(answer.json()) == [field]


def test_schedule_and_queue_match_the_database(owner: APIClient, site: Site) -> None:
    publishing(site, queue_limit=2)
    ids = approved(site, 3)
    answer = owner.post(f"{base(site)}/schedule/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["scheduled"] == 2
    assert [u["content_id"] for u in body["unscheduled"]] == [ids[2]]
    assert "queue is full" in body["unscheduled"][0]["reason"]

    queue = owner.get(f"{base(site)}/queue/").json()
    scheduled = Content.objects.filter(site=site, site_status="scheduled").order_by(
        "scheduled_publish_at"
    )
    assert queue["scheduled_count"] == scheduled.count() == 2
    assert queue["queue_limit"] == 2
    assert [i["content_id"] for i in queue["items"]] == [c.pk for c in scheduled]
    assert [i["title"] for i in queue["items"]] == [c.title for c in scheduled]
    assert [dt.datetime.fromisoformat(i["scheduled_publish_at"]) for i in queue["items"]] == [
        c.scheduled_publish_at for c in scheduled
    ]
    assert queue["unscheduled"] == body["unscheduled"]


def test_unschedule_and_publish_retry_endpoints(
    owner: APIClient, stranger: APIClient, site: Site
) -> None:
    (content_id,) = approved(site, 1)
    owner.post(f"{base(site)}/schedule/")
    assert stranger.post(f"/api/v1/content/{content_id}/unschedule/").status_code == 404
    answer = owner.post(f"/api/v1/content/{content_id}/unschedule/")
    assert answer.status_code == 200
    assert answer.json()["site_status"] == "not_published"
    assert answer.json()["status"] == "review"
    again = owner.post(f"/api/v1/content/{content_id}/unschedule/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    retry = owner.post(f"/api/v1/content/{content_id}/publish-retry/")
    assert retry.status_code == 409 and retry.json()["code"] == "invalid_transition"


def test_the_openapi_schema_describes_the_publishing_endpoints(owner: APIClient) -> None:
    schema = owner.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    settings_path = paths["/api/v1/sites/{site_id}/publishing/settings/"]
    assert {"get", "patch"} <= set(settings_path)
    assert "400" in settings_path["patch"]["responses"]
    preview = paths["/api/v1/sites/{site_id}/publishing/preview/"]["get"]
    assert {p["name"] for p in preview["parameters"]} >= {"count", "now", "site_id"}
    assert "/api/v1/sites/{site_id}/publishing/queue/" in paths
    assert "/api/v1/sites/{site_id}/publishing/schedule/" in paths
    assert "409" in paths["/api/v1/content/{content_id}/unschedule/"]["post"]["responses"]
