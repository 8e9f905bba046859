"""Writer endpoints: lists with status filters, the content detail, approve and reject."""

from __future__ import annotations

import pytest

from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.writer.models import Content, Image, WritingTask
from tests.api.conftest import World, client

pytestmark = pytest.mark.django_db

DETAIL_FIELDS = {
    "id",
    "title",
    "html",
    "meta_description",
    "slug",
    "word_count",
    "status",
    "site_status",
    "scheduled_publish_at",
    "published_at",
    "published_url",
    "images",
}


def test_content_detail_has_the_api_md_fields_and_its_images(world: World) -> None:
    response = client(world.viewer).get(f"/api/v1/content/{world.content.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= DETAIL_FIELDS
    assert body["html"] == world.content.html
    assert body["word_count"] == world.content.word_count > 0
    images = Image.objects.filter(content=world.content).order_by("kind", "position")
    assert len(body["images"]) == images.count() > 0
    shown = {(i["kind"], i["position"]): i for i in body["images"]}
    for image in images:
        item = shown[(image.kind, image.position)]
        assert set(item) == {"id", "kind", "position", "alt_text", "url"}
        assert item["alt_text"] == image.alt_text
        assert item["url"].startswith("http://testserver/media/")
        assert item["url"].endswith(image.file.name)
    served = client(world.viewer).get(body["images"][0]["url"].removeprefix("http://testserver"))
    assert served.status_code == 200
    # How it was written: the provenance stage 4 stored, the model as the provider named it
    assert body["provenance"] == world.content.provenance
    assert body["provenance"]["provider"] == "local" and body["provenance"]["prompt_version"]


def test_approve_and_reject_follow_the_review_state_machine(world: World) -> None:
    api = client(world.editor)
    content = world.content
    Content.objects.filter(pk=content.pk).update(status="review")
    url = f"/api/v1/content/{content.pk}"

    approved = api.post(f"{url}/approve/")
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    again = api.post(f"{url}/approve/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"

    rejected = api.post(f"{url}/reject/", {"reason": "too thin"}, format="json")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert Content.objects.get(pk=content.pk).last_error == "too thin"
    assert api.post(f"{url}/reject/").status_code == 409

    Content.objects.filter(pk=content.pk).update(status="published")
    assert api.post(f"{url}/approve/").status_code == 409
    assert api.post(f"{url}/reject/", {"reason": "x" * 1001}, format="json").status_code == 400
    assert api.post("/api/v1/content/999999/approve/").status_code == 404


@pytest.mark.parametrize(
    ("path", "model", "status"),
    [
        ("tasks", WritingTask, "done"),
        ("content", Content, "approved"),
        ("images", Image, "done"),
        ("clusters", Cluster, "ideas"),
        ("ideas", ContentIdea, "queued"),
    ],
)
def test_site_lists_filter_by_status(world: World, path: str, model: type, status: str) -> None:
    api = client(world.owner)
    url = f"/api/v1/sites/{world.site.pk}/{path}/"
    rows = model.objects.filter(site=world.site)
    everything = api.get(url, {"page_size": 1000}).json()
    assert everything["count"] == rows.count() > 0
    assert [r["id"] for r in everything["results"]] == sorted(rows.values_list("id", flat=True))
    matching = api.get(url, {"status": status}).json()
    assert matching["count"] == rows.filter(status=status).count()
    assert all(r["status"] == status for r in matching["results"])
    other = next(v for v, _ in model.Status.choices if v != status)
    assert api.get(url, {"status": other}).json()["count"] == rows.filter(status=other).count()
    assert api.get(url, {"status": "nonsense"}).status_code == 400


def test_pages_are_capped_at_1000(world: World) -> None:
    Keyword.objects.bulk_create(
        Keyword(site=world.site, phrase=f"bulk {i}", normalized=f"bulk {i}") for i in range(1001)
    )
    url = f"/api/v1/sites/{world.site.pk}/keywords/"
    refused = client(world.owner).get(url, {"page_size": 5000})
    assert refused.status_code == 400
    assert refused.json() == {"page_size": ["Must be a whole number from 1 to 1000."]}
    body = client(world.owner).get(url, {"page_size": 1000}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == Keyword.objects.filter(site=world.site).count() > 1000
    assert len(body["results"]) == 1000
    assert body["next"] is not None
