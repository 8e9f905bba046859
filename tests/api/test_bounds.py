"""The edges of the API (issue 17): every request a client can make is answered, and bad
input is a 4xx naming what is wrong, never a 500. Each server error found by hand or by
schemathesis has its case here, run on SQLite and PostgreSQL; the schema documents every
limit (integer bounds, 413, 414, 415), which tests/api/test_schema.py then holds the API to.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from drf_spectacular.generators import SchemaGenerator

from inkline.automation import selectors, services
from inkline.automation.models import AutomationRun
from inkline.core.api import MAX_ID, MAX_INT
from inkline.core.middleware import MAX_URL_LENGTH
from inkline.core.parsers import MAX_JSON_DEPTH, json_depth
from inkline.planner.models import Keyword
from inkline.publishing.models import PublishingSettings
from tests.api.conftest import World, client
from tests.api.test_isolation import url_for

pytestmark = pytest.mark.django_db

TOO_BIG_ID = 2**63  # one past the largest 64-bit primary key


def json_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, method)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


def send(world: World, method: str, url: str, body: str, **headers: Any) -> Any:
    api = client(world.owner)
    return getattr(api, method)(
        url, data=body, content_type=headers.pop("content_type", "application/json"), **headers
    )


# --- ids --------------------------------------------------------------------------------------
def test_retry_ids_past_the_64_bit_range_are_400(world: World) -> None:
    url = f"/api/v1/sites/{world.site.pk}/automation/retry/"
    api = client(world.owner)
    for ids in ([TOO_BIG_ID], [0], [-1]):
        answer = api.post(url, {"stage": 1, "ids": ids})
        assert answer.status_code == 400, ids
        assert list(answer.json()) == ["ids"], answer.json()
    too_many = api.post(url, {"stage": 1, "ids": list(range(1, 10_002))})
    assert too_many.status_code == 400 and list(too_many.json()) == ["ids"]
    assert api.post(url, {"stage": 1, "ids": [MAX_ID]}).json() == {"stage": 1, "retried": 0}


@pytest.mark.parametrize("content_id", [TOO_BIG_ID, 10**30, 0])
def test_path_ids_out_of_range_are_json_404s(world: World, content_id: int) -> None:
    api = client(world.owner)
    for url in (
        f"/api/v1/content/{content_id}/",
        f"/api/v1/content/{content_id}/unschedule/",
        f"/api/v1/content/{content_id}/internal-links/",
        f"/api/v1/sites/{content_id}/publishing/preview/",
    ):
        answer = api.post(url) if url.endswith("unschedule/") else api.get(url)
        assert answer.status_code == 404, url
        assert answer.json()["code"] == "not_found"


@pytest.mark.parametrize("run_id", ["run%00x", "run%0Ax", "run%7Fx", "r" * 41])
def test_run_ids_with_control_characters_are_json_404s(world: World, run_id: str) -> None:
    """A NUL in a run id reached PostgreSQL, which refuses it (a 500)."""
    api = client(world.owner)
    for url in (f"/api/v1/automation/runs/{run_id}/", f"/api/v1/automation/runs/{run_id}/pause/"):
        answer = api.post(url) if url.endswith("pause/") else api.get(url)
        assert answer.status_code == 404, url
        assert answer.json()["code"] == "not_found"
    assert api.get(f"/api/v1/automation/runs/{world.run.run_id}/").status_code == 200


def test_text_with_nul_is_400_naming_the_field(world: World) -> None:
    api = client(world.owner)
    answer = api.get("/api/v1/billing/transactions/?run=run%00x")
    assert answer.status_code == 400 and list(answer.json()) == ["run"]
    content = f"/api/v1/content/{world.content.pk}/reject/"
    rejected = api.post(content, {"reason": "bad\x00"})
    assert rejected.status_code == 400 and list(rejected.json()) == ["reason"]


@pytest.mark.parametrize("site", ["site", TOO_BIG_ID, 0])
def test_id_filters_out_of_range_are_400_naming_them(world: World, site: Any) -> None:
    answer = client(world.owner).get("/api/v1/billing/transactions/", {"site": site})
    assert answer.status_code == 400 and list(answer.json()) == ["site"]


# --- nesting and sizes ------------------------------------------------------------------------
def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth("1") == 0
    assert json_depth('{"a": [1, {"b": []}]}') == 4
    assert json_depth('{"a": "[[[[{{{{ \\" ]]]"}') == 1
    assert json_depth("[" * 1000 + "]" * 1000) == 1000


@pytest.mark.parametrize(("path", "method"), json_operations())
def test_json_nested_1000_deep_is_400_on_every_json_endpoint(
    world: World, path: str, method: str
) -> None:
    get_user_model().objects.filter(username="alpha").update(is_staff=True)  # staff-only ones
    body = "[" * 1000 + "]" * 1000  # 2 KB
    answer = send(world, method, url_for(path, world), body)
    assert answer.status_code == 400, answer.content
    assert f"deeper than {MAX_JSON_DEPTH} levels" in answer.json()["detail"]


def test_nesting_up_to_64_levels_is_read(world: World) -> None:
    url = "/api/v1/auth/token/"
    deep = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    answer = send(world, "post", url, deep)
    assert answer.status_code == 400
    assert "nested" not in json.dumps(answer.json())  # read, then refused as not an object
    too_deep = send(world, "post", url, "[" + deep + "]")
    assert "nested deeper" in too_deep.json()["detail"]


def test_numbers_beyond_a_float_are_400(world: World) -> None:
    body = '{"name": "inf", "publisher_config": {"weight": 1e999}}'
    answer = send(world, "post", "/api/v1/sites/", body)
    assert answer.status_code == 400
    assert "out of range" in answer.json()["detail"]


def test_a_body_over_its_limit_is_413_before_it_is_read(world: World, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({"name": "x" * 2000})
    answer = send(world, "post", "/api/v1/sites/", big)
    assert answer.status_code == 413
    assert answer.json() == {"detail": "The request body is larger than 1000 bytes."}
    # The keyword import keeps its own, larger limit (INKLINE_IMPORT_MAX_BYTES) for JSON too.
    rows = json.dumps({"keywords": [{"keyword": "cold brew ratio"}]}) + " " * 3000
    url = f"/api/v1/sites/{world.site.pk}/keywords/import/"
    imported = send(world, "post", url, rows)
    assert imported.status_code == 200, imported.content
    assert Keyword.objects.filter(site=world.site, phrase="cold brew ratio").exists()


def test_a_url_over_the_limit_is_a_json_414(world: World) -> None:
    api = client(world.owner)
    url = "/api/v1/sites/?status="
    answer = api.get(url + "x" * (MAX_URL_LENGTH - len(url) + 2))  # the "?" is not counted
    assert answer.status_code == 414
    assert answer.json()["code"] == "uri_too_long"
    assert api.get("/api/v1/sites/?page=1").status_code == 200


def test_bodies_other_than_json_are_415(world: World) -> None:
    api = client(world.owner)
    form = api.post("/api/v1/sites/", {"name": "form"}, format="multipart")
    assert form.status_code == 415
    encoded = api.patch(
        f"/api/v1/sites/{world.site.pk}/automation/config/",
        "is_enabled=true",
        content_type="application/x-www-form-urlencoded",
    )
    assert encoded.status_code == 415
    # The token endpoint also takes a form (README's curl example).
    token = client().post("/api/v1/auth/token/", "username=alpha&password=pw",
                          content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert token.status_code == 200 and token.json()["token"] == world.owner


# --- integers and instants --------------------------------------------------------------------
@pytest.mark.parametrize(
    "field", ["daily_publish_target", "weekly_publish_target", "monthly_publish_target"]
)
@pytest.mark.parametrize("value", [2**63, 2**31, -1])
def test_publish_targets_out_of_range_are_400(world: World, field: str, value: int) -> None:
    url = f"/api/v1/sites/{world.site.pk}/publishing/settings/"
    answer = client(world.owner).patch(url, {field: value})
    assert answer.status_code == 400
    assert list(answer.json()) == [field]


def test_the_largest_publish_target_is_stored(world: World) -> None:
    url = f"/api/v1/sites/{world.site.pk}/publishing/settings/"
    answer = client(world.owner).patch(url, {"monthly_publish_target": MAX_INT})
    assert answer.status_code == 200, answer.json()
    assert PublishingSettings.objects.get(site=world.site).monthly_publish_target == MAX_INT


@pytest.mark.parametrize(
    "now", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59Z"]
)
def test_preview_instants_out_of_range_are_400(world: World, now: str) -> None:
    url = f"/api/v1/sites/{world.site.pk}/publishing/preview/"
    answer = client(world.owner).get(url, {"now": now})
    assert answer.status_code == 400
    assert list(answer.json()) == ["now"]


def test_preview_reaches_the_end_of_the_range(world: World) -> None:
    url = f"/api/v1/sites/{world.site.pk}/publishing/preview/"
    answer = client(world.owner).get(url, {"now": "2199-12-31T23:00:00Z", "count": 1000})
    assert answer.status_code == 200, answer.json()
    assert len(answer.json()["slots"]) == 1000


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"page": 0}, "page"),
        ({"page": "last"}, "page"),
        ({"page": MAX_INT + 1}, "page"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 1001}, "page_size"),
        ({"page_size": "1.0"}, "page_size"),
        ({"status": ""}, "status"),
        ({"cluster": "1.0"}, "cluster"),
        ({"cluster": TOO_BIG_ID}, "cluster"),
    ],
)
def test_bad_list_parameters_are_400_naming_them(
    world: World, query: dict[str, Any], name: str
) -> None:
    answer = client(world.owner).get(f"/api/v1/sites/{world.site.pk}/keywords/", query)
    assert answer.status_code == 400
    assert list(answer.json()) == [name]


def test_a_page_past_the_end_is_404(world: World) -> None:
    answer = client(world.owner).get("/api/v1/sites/", {"page": MAX_INT})
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"is_enabled": 0}, "is_enabled"),
        ({"is_enabled": "true"}, "is_enabled"),
        ({"max_tasks_per_run": "5"}, "max_tasks_per_run"),
        ({"max_tasks_per_run": 5.0}, "max_tasks_per_run"),
        ({"max_tasks_per_run": True}, "max_tasks_per_run"),
        ({"scheduled_time": 900}, "scheduled_time"),
    ],
)
def test_values_of_the_wrong_json_type_are_400(
    world: World, body: dict[str, Any], name: str
) -> None:
    url = f"/api/v1/sites/{world.site.pk}/automation/config/"
    answer = client(world.owner).patch(url, body)
    assert answer.status_code == 400
    assert list(answer.json()) == [name]


def test_every_integer_the_api_takes_has_documented_bounds() -> None:
    """Parameters and request bodies alike: an integer without `minimum` and `maximum` (or an
    enum) fails here, before a client finds its overflow (a typed `<id:…>` path parameter has
    them; Django's `<int:…>` has none)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    unbounded: list[str] = []

    def walk(node: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], where, seen | {name})
            return
        bounded = "enum" in node or {"minimum", "maximum"} <= set(node)
        if node.get("type") == "integer" and not node.get("readOnly") and not bounded:
            unbounded.append(where)
        for name, child in node.get("properties", {}).items():
            walk(child, f"{where}.{name}", seen)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                walk(node[key], f"{where}[]", seen)
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key, []):
                walk(child, where, seen)

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                walk(parameter["schema"], f"{method} {path} {parameter['name']}", frozenset())
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                walk(content["schema"], f"{method} {path} ({media})", frozenset())
    assert not unbounded


# --- a run ending between the refused start and the lookup -----------------------------------
def test_a_run_ending_meanwhile_lets_the_new_run_start(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = services.run_start(site=world.site, wake=False)
    lookup = selectors.active_run

    def ended_meanwhile(site_id: int) -> AutomationRun | None:
        AutomationRun.objects.filter(pk=first.pk).update(status="cancelled")
        return lookup(site_id)

    monkeypatch.setattr(selectors, "active_run", ended_meanwhile)
    second = services.run_start(site=world.site, wake=False)
    assert second.pk != first.pk and second.status == "queued"


def test_a_refused_start_names_the_active_run(world: World) -> None:
    url = f"/api/v1/sites/{world.site.pk}/automation/runs/"
    api = client(world.owner)
    started = api.post(url)
    assert started.status_code == 201
    refused = api.post(url)
    assert refused.status_code == 409
    assert refused.json()["code"] == "run_active"
    assert refused.json()["run_id"] == started.json()["run_id"]
