"""The isolation and roles matrix, generated from the OpenAPI schema: every endpoint that
exists when the suite runs (including ones added later) is checked for

- no credentials → 401 with a `WWW-Authenticate` challenge;
- the owner and a viewer of account A can read everything of A (so the 404s below mean
  something);
- a second account's token gets 404 on A's objects, for reads and writes alike, and finds
  none of A's data in its own lists, even when it filters by A's ids;
- a viewer of A gets 403 on every mutation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db.models import Max
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from inkline.core.openapi import is_public
from inkline.writer.models import Content
from tests.api.conftest import World, client

pytestmark = pytest.mark.django_db

UNSAFE = {"post", "put", "patch", "delete"}
PARAM = re.compile(r"{(\w+)}")


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in sorted(schema["paths"].items()):
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method in {"get", *UNSAFE}:
                yield path, method, operation


def path_values(world: World) -> dict[str, Any]:
    """Account A's object for each path parameter name used in the API. A new parameter
    name fails the matrix until it is added here: no endpoint goes unchecked."""
    return {
        "site_id": world.site.pk,
        "run_id": world.run.run_id,
        "content_id": world.content.pk,
        "job_id": world.import_job.pk,
        "webhook_id": world.webhook.pk,
        "delivery_id": world.delivery.pk,
        "revision_id": world.revision.pk,
    }


def url_for(path: str, world: World) -> str:
    values = path_values(world)
    missing = [name for name in PARAM.findall(path) if name not in values]
    if missing:
        pytest.fail(f"{path}: add account A's object for {missing} to path_values()")
    return PARAM.sub(lambda m: str(values[m.group(1)]), path)


def required_query(operation: dict[str, Any]) -> dict[str, Any]:
    """A valid value for each required query parameter (its example, enum or minimum)."""
    values = {}
    for param in operation.get("parameters", []):
        if param.get("in") != "query" or not param.get("required"):
            continue
        schema = param.get("schema", {})
        if "example" in param:
            values[param["name"]] = param["example"]
        elif schema.get("enum"):
            values[param["name"]] = schema["enum"][0]
        elif schema.get("type") in ("integer", "number"):
            values[param["name"]] = schema.get("minimum", 1)
        else:
            values[param["name"]] = "x"
    return values


def call(token: str | None, method: str, url: str, operation: dict[str, Any], **query: Any) -> Any:
    api = client(token)
    if method == "get":
        return api.get(url, {**required_query(operation), **query})
    return getattr(api, method)(url, {}, format="json")


def test_the_matrix_covers_the_api_of_api_md(world: World) -> None:
    paths = {path for path, _, _ in operations()}
    for expected in (
        "/api/v1/sites/",
        "/api/v1/sites/{site_id}/",
        "/api/v1/sites/{site_id}/keywords/import/",
        "/api/v1/sites/{site_id}/keywords/",
        "/api/v1/sites/{site_id}/images/",
        "/api/v1/content/{content_id}/approve/",
    ):
        assert expected in paths


def test_without_credentials_every_endpoint_answers_401(world: World) -> None:
    wrong = []
    for path, method, operation in operations():
        if is_public(operation):
            continue
        response = call(None, method, url_for(path, world), operation)
        if response.status_code != 401 or not response.get("WWW-Authenticate"):
            wrong.append(f"{method.upper()} {path}: {response.status_code}")
        bad_token = call("0" * 40, method, url_for(path, world), operation)
        if bad_token.status_code != 401:
            wrong.append(f"{method.upper()} {path} with a bad token: {bad_token.status_code}")
    assert wrong == []


def test_members_of_the_account_read_every_endpoint(world: World) -> None:
    wrong = []
    for path, method, operation in operations():
        if method != "get" or is_public(operation):
            continue
        for who, token in (("owner", world.owner), ("viewer", world.viewer)):
            response = call(token, method, url_for(path, world), operation)
            if response.status_code != 200:
                wrong.append(f"GET {path} as {who}: {response.status_code}")
    assert wrong == []


def test_another_account_gets_404_on_a_objects_and_sees_none_in_lists(world: World) -> None:
    status_before = Content.objects.get(pk=world.content.pk).status
    wrong = []
    for path, method, operation in operations():
        if is_public(operation):
            continue
        has_ids = bool(PARAM.search(path))
        if not has_ids:
            if method != "get":
                continue  # account-level writes act on the caller's own account
            query = {
                p["name"]: {"site": world.site.pk, "run": world.run.run_id}[p["name"]]
                for p in operation.get("parameters", [])
                if p.get("in") == "query" and p["name"] in ("site", "run")
            }
            for params in ({}, query) if query else ({},):
                response = call(world.other, method, path, operation, **params)
                body = response.json() if response.content else None
                if response.status_code >= 500 or (
                    response.status_code == 200 and world.foreign(body)
                ):
                    wrong.append(f"GET {path} {params}: {response.status_code} leaks")
                if response.status_code == 200 and world.site.pk in _site_ids(body):
                    wrong.append(f"GET {path} {params}: lists account A's site")
            continue
        response = call(world.other, method, url_for(path, world), operation)
        if response.status_code != 404:
            wrong.append(f"{method.upper()} {path}: {response.status_code}, not 404")
        elif world.foreign(response.json()):
            wrong.append(f"{method.upper()} {path}: the 404 names A's data")
    assert wrong == []
    # Nothing of A was changed by B's attempts.
    world.site.refresh_from_db()
    assert Content.objects.get(pk=world.content.pk).status == status_before
    world.run.refresh_from_db()
    assert world.run.status == "completed"


def _site_ids(body: Any) -> set[int]:
    """Every value under a `site` key anywhere in a response body."""
    found: set[int] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "site" and isinstance(value, int):
                found.add(value)
            found |= _site_ids(value)
    elif isinstance(body, list):
        for value in body:
            found |= _site_ids(value)
    return found


def test_a_viewer_gets_403_on_every_mutation(world: World) -> None:
    wrong = []
    mutations = 0
    for path, method, operation in operations():
        if method not in UNSAFE or is_public(operation):
            continue
        mutations += 1
        response = call(world.viewer, method, url_for(path, world), operation)
        if response.status_code != 403:
            wrong.append(f"{method.upper()} {path}: {response.status_code}")
    assert mutations >= 6
    assert wrong == []
    world.site.refresh_from_db()  # still there


def test_an_editor_changes_content_but_a_viewer_only_reads_it(world: World) -> None:
    url = f"/api/v1/content/{world.content.pk}/reject/"
    assert client(world.viewer).post(url, {}, format="json").status_code == 403
    response = client(world.editor).post(url, {"reason": "off-topic"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"


def _fingerprint() -> dict[str, tuple[int, Any]]:
    """Row count and latest change of every Inkline model: any write moves one of them."""
    state = {}
    for model in apps.get_models():
        if not model.__module__.startswith("inkline."):
            continue
        rows = model._default_manager.all()
        latest = (
            rows.aggregate(m=Max("updated_at"))["m"]
            if any(f.name == "updated_at" for f in model._meta.get_fields())
            else None
        )
        state[model._meta.label] = (rows.count(), latest)
    return state


def test_a_viewer_changes_nothing_through_the_ui_either(world: World) -> None:
    """Every route of the web UI, POSTed by a viewer (with a valid CSRF token): refused with
    403, or a page that only reads — and the database is untouched."""
    from inkline.web import urls as web_urls

    browser = Client()
    browser.force_login(Token.objects.get(key=world.viewer).user)
    values = {
        "site_id": world.site.pk,
        "run_id": world.run.run_id,
        "content_id": world.content.pk,
        "job_id": world.import_job.pk,
        "webhook_id": world.webhook.pk,
        "delivery_id": world.delivery.pk,
        "revision_id": world.revision.pk,
    }
    before = _fingerprint()
    refused = []
    for pattern in web_urls.urlpatterns:
        route = str(getattr(pattern, "pattern", ""))
        names = re.findall(r"<(?:\w+:)?(\w+)>", route)
        if any(name not in values for name in names):
            pytest.fail(f"/{route}: add account A's object for {names} to the values here")
        url = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
        response = browser.post(url, {"name": "viewer was here", "status": "approved"})
        assert response.status_code < 500, url
        if response.status_code == 403:
            refused.append(url)
    assert _fingerprint() == before
    assert f"/content/{world.content.pk}/approve/" in refused
    assert f"/runs/{world.run.run_id}/cancel/" in refused
