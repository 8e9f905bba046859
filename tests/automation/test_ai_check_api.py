"""`GET /api/v1/sites/{id}/ai/check/`: a fresh check of the AI endpoint, stored as the site's
latest; `?cached=1` reads the stored one. Scoped to the caller's account, any member."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Membership, Role, Site
from inkline.ai import registry
from inkline.automation.models import AutomationConfig
from inkline.automation.sites import account_create, site_create
from tests.ai.fake_check import BASE_URL, UNREACHABLE, FakeCheckProvider

pytestmark = pytest.mark.django_db

KEYS = {
    "ok", "provider", "base_url", "reachable", "auth", "model", "structured_output", "images",
    "problems", "checked_at",
}  # fmt: skip
NOON = dt.datetime(2026, 12, 6, 12, 0, 5, tzinfo=dt.UTC)


def client_for(username: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username=username)}")
    return client


@pytest.fixture
def api(account: Account) -> APIClient:
    return client_for("owner")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeCheckProvider:
    """The configured provider is a llama.cpp-like endpoint: JSON mode, no images."""
    provider = FakeCheckProvider()
    monkeypatch.setattr(registry, "get_provider", lambda name=None: provider)
    return provider


def stored(site: Site) -> dict[str, Any]:
    return dict(AutomationConfig.objects.get(site=site).ai_check)


def test_the_local_provider_checked_for_real_and_recorded(api: APIClient, site: Site) -> None:
    url = f"/api/v1/sites/{site.pk}/ai/check/"
    with time_machine.travel(NOON, tick=False):
        answer = api.get(url)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert set(body) == KEYS
    assert body == {
        "ok": True,
        "provider": "local",
        "base_url": "",
        "reachable": True,
        "auth": True,
        "model": "local-1",
        "structured_output": "json_schema",
        "images": True,
        "problems": [],
        "checked_at": "2026-12-06T12:00:05Z",
    }
    assert stored(site)["checked_at"] == NOON.isoformat()
    assert {k: v for k, v in stored(site).items() if k != "checked_at"} == {
        k: v for k, v in body.items() if k != "checked_at"
    }


def test_what_the_endpoint_can_do_and_its_problems(
    api: APIClient, site: Site, fake: FakeCheckProvider
) -> None:
    body = api.get(f"/api/v1/sites/{site.pk}/ai/check/").json()
    assert fake.calls == 1
    assert body["ok"] is True  # no images alone: text generation still works
    assert body["structured_output"] == "json_object"
    assert body["images"] is False
    assert body["model"] == "gemma-3-270m-it [q4]"
    assert body["base_url"] == BASE_URL
    assert [p["code"] for p in body["problems"]] == ["no_images"]
    assert set(body["problems"][0]) == {"code", "message", "fix"}
    assert stored(site)["structured_output"] == "json_object"

    fake.answer = UNREACHABLE
    body = api.get(f"/api/v1/sites/{site.pk}/ai/check/").json()
    assert body["ok"] is False and body["reachable"] is False
    assert body["structured_output"] is None and body["model"] is None
    assert body["problems"][0]["code"] == "unreachable"
    assert stored(site)["ok"] is False  # the newest check replaces the older one


def test_cached_reads_the_stored_check_without_asking(
    api: APIClient, site: Site, fake: FakeCheckProvider
) -> None:
    url = f"/api/v1/sites/{site.pk}/ai/check/"
    never = api.get(url, {"cached": "1"})
    assert never.status_code == 404
    assert never.json()["code"] == "no_check"
    assert fake.calls == 0
    AutomationConfig.objects.filter(site=site).delete()  # no config row at all: same answer
    assert api.get(url, {"cached": "true"}).json()["code"] == "no_check"

    with time_machine.travel(NOON, tick=False):
        fresh = api.get(url).json()
    assert fake.calls == 1
    with time_machine.travel(NOON + dt.timedelta(hours=1), tick=False):
        cached = api.get(url, {"cached": "1"})
    assert cached.status_code == 200
    assert cached.json() == fresh  # checked_at says when it was asked
    assert fake.calls == 1
    assert api.get(url, {"cached": "0"}).status_code == 200
    assert fake.calls == 2


def test_a_bad_cached_value_is_400_naming_the_field(api: APIClient, site: Site) -> None:
    answer = api.get(f"/api/v1/sites/{site.pk}/ai/check/", {"cached": "perhaps"})
    assert answer.status_code == 400
    assert "cached" in answer.json()


def test_a_hung_endpoint_answers_in_time(
    api: APIClient, site: Site, fake: FakeCheckProvider, settings: Any
) -> None:
    settings.INKLINE_AI_CHECK_TIMEOUT = 0.2
    fake.hold = threading.Event()
    try:
        body = api.get(f"/api/v1/sites/{site.pk}/ai/check/").json()
    finally:
        fake.hold.set()
    assert body["ok"] is False
    assert [p["code"] for p in body["problems"]] == ["timeout"]
    assert stored(site)["problems"][0]["code"] == "timeout"


def test_any_member_reads_other_accounts_never(
    account: Account, site: Site, fake: FakeCheckProvider
) -> None:
    user = get_user_model().objects.create_user(username="viewer", password="pw")
    Membership.objects.create(user=user, account=account, role=Role.VIEWER)
    Token.objects.create(user=user)
    assert client_for("viewer").get(f"/api/v1/sites/{site.pk}/ai/check/").status_code == 200

    other, _ = account_create(name="Other", username="stranger", password="pw", credits=10)
    theirs = site_create(account=other, name="theirs")
    stranger = client_for("stranger")
    calls = fake.calls
    for url in (
        f"/api/v1/sites/{site.pk}/ai/check/",
        f"/api/v1/sites/{site.pk}/ai/check/?cached=1",
    ):
        assert stranger.get(url).status_code == 404
    assert fake.calls == calls  # nothing asked for a site the caller cannot see
    assert stranger.get(f"/api/v1/sites/{theirs.pk}/ai/check/").status_code == 200
    assert APIClient().get(f"/api/v1/sites/{site.pk}/ai/check/").status_code == 401


def test_the_schema_describes_the_endpoint(api: APIClient) -> None:
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/sites/{site_id}/ai/check/"]["get"]
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["cached"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(component["properties"]) == KEYS
    assert set(component["required"]) == KEYS
    mode = component["properties"]["structured_output"]
    assert mode.get("nullable") is True or "null" in str(mode)
