"""The WordPress publisher's media, content and marker against the HTTP stand-in: images
uploaded once as web-sized WebP with their fields, attached to the post; the content as block
markup naming them; the images of a failed attempt deleted only once the post is known to be
absent; JPEG when WordPress refuses or cannot resize WebP; the install id in the marker, and
the old marker accepted only on the post whose id WordPress gave us."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from inkline.publishing.linkset import RELATED_START, related_block
from inkline.publishing.publishers import Article, ArticleImage, PublishError, RelatedLink
from inkline.publishing.publishers.wordpress import WordPressPublisher
from tests.publishing.wp_server import WordPress

INSTALL = "5f1e7c0a-8d1b-4d7e-9a59-0c1a2b3c4d5e"
MARKER = f"<!-- inkline:{INSTALL}:9 -->"


@pytest.fixture
def wp(settings: Any) -> Iterator[WordPress]:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True  # the test server is on loopback
    with WordPress() as server:
        yield server


def article(tmp_path: Path, **changes: Any) -> Article:
    def image(name: str, alt: str, width: int = 2000) -> ArticleImage:
        path = tmp_path / f"{name}.png"
        Image.effect_noise((width, 300), 30).convert("RGB").save(path, "PNG")
        return ArticleImage(path=path, name=f"{name}.png", alt=alt)

    fields: dict[str, Any] = {
        "content_id": 9,
        "title": "Grinding",
        "slug": "grinding",
        "html": "<p>Intro</p><h2>One</h2><p>a</p><h2>Two</h2><p>b</p>",
        "description": "About grinding.",
        "date": dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC),
        "featured_image": image("grinding-featured", "A grinder"),
        "images": (image("grinding-1", "Coarse grounds"), image("grinding-2", "Fine", 800)),
    }
    return Article(**{**fields, **changes})


def publisher(wp: WordPress, **kwargs: Any) -> WordPressPublisher:
    return WordPressPublisher(
        base_url=wp.url,
        username=wp.username,
        password=wp.password,
        install_id=kwargs.pop("install_id", INSTALL),
        timeout=0.5,
        **kwargs,
    )


def test_images_are_uploaded_web_sized_with_their_fields_and_attached(
    wp: WordPress, tmp_path: Path
) -> None:
    item = article(tmp_path)
    published = publisher(wp).publish(item)
    (post,) = wp.posts
    assert published.remote_id == str(post["id"])
    assert len(wp.media) == 3
    for media, image in zip(wp.media, (item.featured_image, *item.images), strict=True):
        assert image is not None
        assert media["slug"] == image.name.removesuffix(".png")
        assert media["source_url"].endswith(".webp") and media["format"] == "WEBP"
        assert media["title"]["raw"] == media["alt_text"] == media["caption"]["raw"] == image.alt
        assert media["description"]["raw"] == MARKER
        assert media["post"] == post["id"]
        assert media["size"] < image.path.stat().st_size
    assert wp.media[0]["media_details"]["width"] == 1600  # 2000 px scaled down
    assert wp.media[2]["media_details"]["width"] == 800  # never up
    raw = post["content"]["raw"]
    assert raw.startswith(f"<!-- wp:html -->\n{MARKER}\n<!-- /wp:html -->\n\n<!-- wp:paragraph")
    assert post["featured_media"] == wp.media[0]["id"]
    large = wp.media[1]["media_details"]["sizes"]["large"]["source_url"]
    one, two = wp.media[1]["id"], wp.media[2]["id"]
    assert f'<!-- wp:image {{"id":{one},"sizeSlug":"large","linkDestination":"none"}} -->' in raw
    assert f'<img src="{large}" alt="Coarse grounds" class="wp-image-{one}"/>' in raw
    assert f'<!-- wp:image {{"id":{two},"sizeSlug":"full"' in raw  # no large size: 800 px
    assert f'<img src="{wp.media[2]["source_url"]}" alt="Fine" class="wp-image-{two}"/>' in raw
    assert raw.index("<h2>One</h2>") < raw.index(f"wp-image-{one}") < raw.index("<h2>Two</h2>")


def test_a_failed_attempt_deletes_its_images_and_the_next_uploads_them_again(
    wp: WordPress, tmp_path: Path
) -> None:
    item = article(tmp_path)
    wp.faults["POST posts"] = ["500"]
    with pytest.raises(PublishError, match="500") as failed:
        publisher(wp).publish(item)
    assert failed.value.retryable
    assert wp.media == [] and len(wp.deleted) == 3
    assert "DELETE /wp-json/wp/v2/media/" in wp.requests[-1]

    publisher(wp).publish(item)
    assert len(wp.posts) == 1 and len(wp.media) == 3
    assert {m["post"] for m in wp.media} == {wp.posts[0]["id"]}


def test_a_lost_answer_keeps_the_images_and_the_next_attempt_attaches_them(
    wp: WordPress, tmp_path: Path
) -> None:
    item = article(tmp_path)
    wp.faults["POST posts"] = ["timeout_after_accept"]
    with pytest.raises(PublishError, match="in time"):
        publisher(wp).publish(item)
    assert len(wp.posts) == 1 and wp.deleted == []  # the post shows them: kept
    assert {m["post"] for m in wp.media} == {None}

    published = publisher(wp).publish(item)
    assert published.remote_id == str(wp.posts[0]["id"]) and len(wp.posts) == 1
    assert len(wp.media) == 3  # found by slug, not uploaded again
    assert {m["post"] for m in wp.media} == {wp.posts[0]["id"]}


def test_images_of_another_installation_are_neither_reused_nor_deleted(
    wp: WordPress, tmp_path: Path
) -> None:
    item = article(tmp_path)
    publisher(wp, install_id="other").publish(item)
    wp.posts.clear()  # their post went; their images stay
    theirs = [m["id"] for m in wp.media]
    wp.faults["POST posts"] = ["500"]
    with pytest.raises(PublishError):
        publisher(wp).publish(item)
    assert [m["id"] for m in wp.media] == theirs  # ours uploaded, then deleted; theirs kept
    assert len(wp.deleted) == 3 and not set(wp.deleted) & set(theirs)


def test_webp_refused_or_not_resized_falls_back_to_jpeg(wp: WordPress, tmp_path: Path) -> None:
    wp.faults["POST media"] = ["400_file_type"]
    publisher(wp).publish(article(tmp_path))
    assert [m["format"] for m in wp.media] == ["JPEG"] * 3

    other = WordPress()
    with other:
        other.make_sizes = False  # takes WebP, cannot make its sizes
        publisher(other).publish(article(tmp_path, slug="other"))
        assert [m["format"] for m in other.media] == ["JPEG"] * 3
        assert len(other.deleted) == 1  # the first WebP, replaced; then JPEG straight away
        assert "jpg" in other.posts[0]["content"]["raw"]


def test_jpeg_when_configured(wp: WordPress, tmp_path: Path) -> None:
    publisher(wp, image_format="jpeg").publish(article(tmp_path))
    assert [m["mime_type"] for m in wp.media] == ["image/jpeg"] * 3


def test_the_old_marker_counts_only_on_the_post_whose_id_we_were_given(
    wp: WordPress, tmp_path: Path
) -> None:
    link = RelatedLink(content_id=3, anchor="beans", slug="beans", url="https://b.org/beans/")
    item = article(tmp_path, featured_image=None, images=(), related=(link,))
    legacy = "<!-- inkline:9 --><p>Old</p>"
    old = {"id": 55, "slug": "grinding", "link": "x", "content": {"raw": legacy}}
    wp.posts.append(old)
    with pytest.raises(PublishError, match="did not create") as refused:
        publisher(wp).publish(item)  # found by slug: it could be another installation's
    assert not refused.value.retryable and wp.media == []
    with pytest.raises(PublishError, match="not written by this Inkline"):
        publisher(wp).refresh_related(item, remote_id="")  # found by slug again

    publisher(wp).refresh_related(item, remote_id="55")  # the id we stored: ours
    raw = old["content"]["raw"]
    assert raw.startswith(f"{MARKER}<p>Old</p>")  # the marker upgraded
    assert raw.count(RELATED_START) == 1 and related_block([("beans", link.url)]) in raw
    assert [u["id"] for u in wp.updates] == [55]

    other = publisher(wp, install_id="another")
    with pytest.raises(PublishError, match="not written by this Inkline"):
        other.refresh_related(item, remote_id="55")  # the new marker names us, not them
