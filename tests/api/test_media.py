"""Generated images are served to whom may see them: a draft's files to members of the owning
account only (session or token), 404 to anyone else, exactly as for a file that does not
exist; a published article's files to anyone. No request path reaches the file system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils.http import http_date

from inkline.writer.models import Content, Image
from tests.api.conftest import World, client

pytestmark = pytest.mark.django_db


def an_image(world: World) -> Image:
    image = Image.objects.filter(content=world.content).exclude(file="").order_by("id").first()
    assert image is not None and image.file.name.endswith(".png")
    return image


def url_of(image: Image) -> str:
    return image.file.url


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def browser(username: str) -> Client:
    session = Client()
    assert session.login(username=username, password="pw")
    return session


def test_the_api_and_the_pages_name_the_url_the_view_serves(world: World) -> None:
    image = an_image(world)
    assert url_of(image) == f"/media/{image.file.name}"
    detail = client(world.viewer).get(f"/api/v1/content/{world.content.pk}/").json()
    assert f"http://testserver{url_of(image)}" in [i["url"] for i in detail["images"]]


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_members_get_a_drafts_image_by_token(world: World, who: str) -> None:
    image = an_image(world)
    assert Content.objects.get(pk=world.content.pk).status != Content.Status.PUBLISHED
    response = client(getattr(world, who)).get(url_of(image))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-cache"}
    assert "Cookie" in response["Vary"] and "Authorization" in response["Vary"]
    with default_storage.open(image.file.name, "rb") as stored:
        assert body(response) == stored.read()


def test_a_member_gets_it_by_session_too(world: World) -> None:
    response = browser("alpha").get(url_of(an_image(world)))
    assert response.status_code == 200
    assert body(response)[:8] == b"\x89PNG\r\n\x1a\n"


def test_anonymous_and_foreign_users_get_404_for_a_drafts_image(world: World) -> None:
    url = url_of(an_image(world))
    assert client().get(url).status_code == 404
    assert client(world.other).get(url).status_code == 404
    assert browser("bravo").get(url).status_code == 404
    assert client("0" * 40).get(url).status_code == 404  # an unknown token: anonymous
    missing = client(world.other).get(url.replace(".png", "9.png"))
    assert missing.status_code == 404  # the same answer as for a file that does not exist


def test_a_published_articles_images_are_public(world: World) -> None:
    image = an_image(world)
    Content.objects.filter(pk=world.content.pk).update(
        status=Content.Status.PUBLISHED, site_status=Content.SiteStatus.PUBLISHED
    )
    for caller in (client(), client(world.other), client(world.viewer)):
        response = caller.get(url_of(image))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert "public" in response["Cache-Control"]
        assert "max-age=86400" in response["Cache-Control"]


def test_a_member_revalidates_with_304_and_a_stranger_still_gets_404(world: World) -> None:
    image = an_image(world)
    first = client(world.viewer).get(url_of(image))
    since = first["Last-Modified"]
    again = client(world.viewer).get(url_of(image), HTTP_IF_MODIFIED_SINCE=since)
    assert again.status_code == 304
    stranger = client(world.other).get(url_of(image), HTTP_IF_MODIFIED_SINCE=since)
    assert stranger.status_code == 404
    older = http_date(0)
    assert client(world.viewer).get(url_of(image), HTTP_IF_MODIFIED_SINCE=older).status_code == 200


def test_head_works_and_other_methods_are_refused(world: World) -> None:
    url = url_of(an_image(world))
    head = client(world.viewer).head(url)
    assert head.status_code == 200 and head["Content-Type"] == "image/png"
    assert client(world.viewer).post(url).status_code == 405
    assert client(world.viewer).delete(url).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/media/secret_key",
        "/media/../secret_key",
        "/media/%2e%2e/secret_key",
        "/media/images/../../secret_key",
        "/media/images/2026/12/..%2f..%2f..%2fsecret_key",
        "/media//etc/passwd",
        "/media/%2fetc%2fpasswd",
        "/media/images/2026/12/1-1.png/../../../../secret_key",
        "/media/images/2026/12/1-99999999999999999999.png",
        "/media/images/2026/12/1-0.png",
    ],
)
def test_traversal_and_made_up_names_are_404(world: World, path: str) -> None:
    assert (Path(settings.DATA_DIR) / "secret_key").exists()  # there is something to steal
    assert client(world.owner).get(path).status_code == 404


def test_a_real_image_under_another_name_or_site_is_404(world: World) -> None:
    image = an_image(world)
    name = image.file.name
    other_site = name.replace(f"/{world.site.pk}-", f"/{world.other_site.pk}-")
    assert client(world.owner).get(f"/media/{other_site}").status_code == 404
    moved = name.replace("images/", "images/../images/", 1)
    assert client(world.owner).get(f"/media/{moved}").status_code == 404
    # The file on disk under a name no row has (e.g. left by a rolled-back transaction).
    stray = default_storage.save(name.replace(".png", "_stray1.png"), ContentFile(b"x"))
    try:
        assert client(world.owner).get(f"/media/{stray}").status_code == 404
    finally:
        default_storage.delete(stray)


def test_a_file_that_is_not_an_image_type_is_a_download(world: World) -> None:
    image = an_image(world)
    name = default_storage.save(
        f"images/2026/12/{world.site.pk}-{image.pk}.svg",
        ContentFile(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    )
    Image.objects.filter(pk=image.pk).update(file=name)
    try:
        response = client(world.viewer).get(f"/media/{name}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
    finally:
        default_storage.delete(name)


def test_the_preview_page_shows_images_its_reader_may_load(world: World) -> None:
    Content.objects.filter(pk=world.content.pk).update(status=Content.Status.REVIEW)
    session = browser("alpha")
    page = session.get(f"/sites/{world.site.pk}/review/")
    assert page.status_code == 200
    image = an_image(world)
    assert f'src="{url_of(image)}"'.encode() in page.content
    assert session.get(url_of(image)).status_code == 200
    assert Client().get(url_of(image)).status_code == 404
