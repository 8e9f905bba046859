"""A WordPress application password set through the API is used to publish, and appears in
no API response, run event, run log, process log line or admin page."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from inkline import clock
from inkline.accounts.models import Site
from inkline.automation.models import RunEvent
from inkline.publishing.services import content_publish_due, content_schedule
from inkline.writer.models import Content
from tests.api.conftest import World, client
from tests.api.test_isolation import PARAM, operations, required_query
from tests.factories import add_keywords, run_now

pytestmark = pytest.mark.django_db

SECRET = "Qz7x Lm2P 9vKr T4sW hN8c Jd3F"  # an application password, as WordPress shows it


class FakeWordPress(BaseHTTPRequestHandler):
    """Speaks just enough of the WP REST API to refuse the credentials (401), recording the
    Authorization header it was sent."""

    seen: list[str] = []

    def _refuse(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps(
            {
                "code": "rest_cannot_create",
                "message": "Sorry, you are not allowed to create posts as this user.",
                "data": {"status": 401},
            }
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def wordpress() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWordPress)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeWordPress.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_wordpress_password_never_leaves_the_vault(
    world: World, wordpress: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True
    caplog.set_level(logging.DEBUG)
    api = client(world.owner)
    created = api.post(
        "/api/v1/sites/",
        {
            "name": "wp",
            "url": wordpress,
            "publisher": "wordpress",
            "publisher_config": {"url": wordpress, "username": "inkline"},
        },
        format="json",
    )
    assert created.status_code == 201
    site_id = created.json()["id"]
    changed = api.patch(
        f"/api/v1/sites/{site_id}/",
        {
            "publisher_config": {
                "url": wordpress,
                "username": "inkline",
                "application_password": SECRET,
            }
        },
        format="json",
    )
    assert changed.status_code == 200
    site = Site.objects.get(pk=site_id)
    assert site.secrets()["application_password"] == SECRET

    add_keywords(site, ["pour over kettle", "gooseneck kettle temperature"])
    run = run_now(site)
    assert run.status == "completed", run.error_message
    for content in Content.objects.filter(site=site, status="review"):
        api.post(f"/api/v1/content/{content.pk}/approve/")
    content_schedule(site=site)
    later = clock.now().replace(year=clock.now().year + 2)
    outcomes = content_publish_due(now=later, site_id=site.pk).outcomes
    assert outcomes and set(outcomes.values()) <= {"retry", "failed"}
    # The password was really used: the server got it as HTTP basic auth...
    basic = base64.b64encode(f"inkline:{SECRET}".encode()).decode()
    assert f"Basic {basic}" in FakeWordPress.seen
    # ...and the refusal is recorded where users see it.
    errors = list(Content.objects.filter(site=site).values_list("publish_error", flat=True))
    assert any("401" in e for e in errors), errors

    produced: list[str] = [json.dumps(created.json()), json.dumps(changed.json()), *errors]
    first = Content.objects.filter(site=site).first()
    assert first is not None
    values = {"site_id": site.pk, "run_id": run.run_id, "content_id": first.pk}
    for path, method, operation in operations():
        if method != "get" or any(name not in values for name in PARAM.findall(path)):
            continue
        url = PARAM.sub(lambda m: str(values[m.group(1)]), path)
        response = api.get(url, required_query(operation))
        assert response.status_code == 200, url
        produced.append(response.content.decode())
    produced += [e.message for e in RunEvent.objects.filter(site=site)]
    logs = list((Path(settings.LOG_DIR) / "runs").glob("*.log"))
    assert logs
    produced += [p.read_text() for p in logs]
    produced.append(caplog.text)
    produced.append(json.dumps(site.publisher_config))
    produced.append(site.publisher_secrets)  # encrypted: the clear text is not in it

    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    for page in ("/admin/accounts/site/", f"/admin/accounts/site/{site.pk}/change/"):
        response = admin.get(page)
        assert response.status_code == 200
        produced.append(response.content.decode())

    text = "\n".join(produced)
    assert "inkline" in text and "application_password_set" in text  # we looked in the right places
    for needle in (SECRET, basic, SECRET.replace(" ", "")):
        assert needle not in text
