"""The webhooks API: account-scoped CRUD, the secret shown once, the delivery log,
redelivery by hand, and the SSRF guard on endpoint URLs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Membership, Role
from inkline.automation.sites import account_create
from inkline.notices.models import Delivery, EventKind, WebhookEndpoint
from inkline.notices.services import deliveries_send_due, event_emit
from tests.notices.receiver import Receiver, serving

pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:9/hook"


def client_of(username: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username=username)}")
    return client


@pytest.fixture
def api(account: Account) -> APIClient:
    return client_of("owner")


@pytest.fixture
def loopback(settings: Any) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True


@pytest.mark.usefixtures("loopback")
def test_create_shows_the_secret_once_then_read_change_delete(api: APIClient) -> None:
    made = api.post(
        "/api/v1/webhooks/",
        {"url": URL, "events": ["run.failed", "article.published"], "description": "ops"},
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["events"] == ["run.failed", "article.published"] and body["is_active"] is True
    url = f"/api/v1/webhooks/{body['id']}/"
    shown = api.get(url).json()
    assert "secret" not in shown and shown["url"] == URL
    assert "secret" not in api.get("/api/v1/webhooks/").json()["results"][0]
    assert WebhookEndpoint.objects.get().secret() == body["secret"]

    changed = api.patch(url, {"events": ["budget.alert"], "is_active": False})
    assert changed.status_code == 200
    assert changed.json()["events"] == ["budget.alert"] and changed.json()["is_active"] is False

    rotated = api.post(f"{url}rotate-secret/").json()["secret"]
    assert rotated != body["secret"] and WebhookEndpoint.objects.get().secret() == rotated

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_a_url_on_a_private_address_is_refused_unless_allowed(
    api: APIClient, settings: Any
) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = False
    for url in ("http://127.0.0.1:8000/hook", "http://10.0.0.5/hook", "http://[::1]/x"):
        refused = api.post("/api/v1/webhooks/", {"url": url, "events": ["run.failed"]})
        assert refused.status_code == 400, url
        assert "INKLINE_ALLOW_PRIVATE_TARGETS" in refused.json()["url"][0]
    metadata = api.post(
        "/api/v1/webhooks/", {"url": "http://169.254.169.254/", "events": ["run.failed"]}
    )
    assert metadata.status_code == 400
    assert not WebhookEndpoint.objects.exists()

    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True
    made = api.post("/api/v1/webhooks/", {"url": URL, "events": ["run.failed"]})
    assert made.status_code == 201
    # a change of URL is checked too
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = False
    moved = api.patch(f"/api/v1/webhooks/{made.json()['id']}/", {"url": "http://10.1.1.1/"})
    assert moved.status_code == 400 and "url" in moved.json()
    assert WebhookEndpoint.objects.get().url == URL
    # still refused for metadata addresses even when private targets are allowed
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True
    metadata = api.post(
        "/api/v1/webhooks/", {"url": "http://169.254.169.254/", "events": ["run.failed"]}
    )
    assert metadata.status_code == 400 and "metadata" in metadata.json()["url"][0]


@pytest.mark.usefixtures("loopback")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": ["run.exploded"]}, "events"),
        ({"url": URL, "events": ["run.failed", "run.failed"]}, "events"),
        ({"url": URL, "events": "run.failed"}, "events"),
        ({"url": "ftp://example.com/", "events": ["run.failed"]}, "url"),
        ({"url": URL, "events": ["run.failed"], "is_active": "yes"}, "is_active"),
        ({"events": ["run.failed"]}, "url"),
    ],
)
def test_bad_input_is_400_naming_the_field(api: APIClient, body: Any, field: str) -> None:
    answer = api.post("/api/v1/webhooks/", body)
    assert answer.status_code == 400 and field in answer.json()


@pytest.mark.usefixtures("loopback")
def test_webhooks_are_scoped_to_the_account_and_viewers_only_read(api: APIClient) -> None:
    made = api.post("/api/v1/webhooks/", {"url": URL, "events": ["run.failed"]}).json()
    account_create(name="Other", username="other", password="pw")
    other = client_of("other")
    assert other.get("/api/v1/webhooks/").json()["results"] == []
    assert other.get(f"/api/v1/webhooks/{made['id']}/").status_code == 404
    assert other.get(f"/api/v1/webhooks/{made['id']}/deliveries/").status_code == 404
    assert other.delete(f"/api/v1/webhooks/{made['id']}/").status_code == 404

    viewer = get_user_model().objects.create_user(username="viewer", password="pw")
    Membership.objects.create(
        user=viewer, account=WebhookEndpoint.objects.get().account, role=Role.VIEWER
    )
    Token.objects.create(user=viewer)
    reader = client_of("viewer")
    assert reader.get(f"/api/v1/webhooks/{made['id']}/").status_code == 200
    assert (
        reader.post("/api/v1/webhooks/", {"url": URL, "events": ["run.failed"]}).status_code == 403
    )
    assert reader.post(f"/api/v1/webhooks/{made['id']}/rotate-secret/").status_code == 403


@pytest.mark.usefixtures("loopback")
def test_the_delivery_log_and_redelivery_by_hand(api: APIClient, account: Account) -> None:
    with serving(Receiver()) as receiver:
        made = api.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["run.failed"]})
        receiver.secret = made.json()["secret"]
        base = f"/api/v1/webhooks/{made.json()['id']}/deliveries/"
        with transaction.atomic():
            event_id = event_emit(
                account_id=account.pk, kind=EventKind.RUN_FAILED, payload={"message": "x"}
            )
        (pending,) = api.get(base).json()["results"]
        assert pending["status"] == "pending" and pending["event_id"] == str(event_id)
        busy = api.post(f"{base}{pending['id']}/redeliver/")
        assert busy.status_code == 409 and busy.json()["code"] == "invalid_transition"

        deliveries_send_due()
        (done,) = api.get(base).json()["results"]
        assert done["status"] == "delivered" and done["response_status"] == 200
        assert done["attempts"] == 1 and done["response_excerpt"] == "ok"

        again = api.post(f"{base}{done['id']}/redeliver/")
        assert again.status_code == 201
        assert again.json()["redelivery_of"] == done["id"]
        assert again.json()["status"] == "pending"
        deliveries_send_due()
        log = api.get(base).json()["results"]
        assert [d["id"] for d in log] == [again.json()["id"], done["id"]]  # newest first
        assert [d["status"] for d in log] == ["delivered", "delivered"]
    # sent by hand again: the same event (receivers deduplicate on its id)
    assert receiver.event_ids() == [str(event_id), str(event_id)]
    assert api.post(f"{base}999999/redeliver/").status_code == 404
    assert Delivery.objects.count() == 2
