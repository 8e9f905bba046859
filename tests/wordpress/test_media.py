"""Issue 18 item 5 against a real WordPress: images web-sized, titled from their alt text and
attached to their post; the article stored as blocks WordPress parses (no Classic block) and
rendered with responsive images; the marker naming this installation; the images of a failed
publish deleted; another installation's post never adopted."""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from inkline.publishing.publishers import Article, ArticleImage, PublishError
from inkline.publishing.publishers.wordpress import WordPressPublisher
from tests.wordpress.server import Account, RealWordPress

INSTALL = "0b5f8a3e-4a57-4a36-9a63-3c0f0d7d2a11"
OTHER_INSTALL = "e2d0c1a4-1111-4c2b-8d9e-5a6b7c8d9e0f"
HTML = (
    '<p>Intro with <strong>bold</strong> and a <a href="https://example.com/">link</a>.</p>'
    "<h2>First part</h2><p>Text.</p><h3>A detail</h3><ul><li>one</li><li>two</li></ul>"
    "<h2>Second part</h2><ol><li>first</li><li>second</li></ol><p>End.</p>"
)


@functools.cache
def _photo_png() -> bytes:
    size = (2400, 1350)
    red = Image.radial_gradient("L").resize(size)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    blue = Image.effect_noise(size, 48)
    out = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(out, "PNG", compress_level=1)
    return out.getvalue()


def photo(path: Path) -> Path:
    """A 2400 x 1350 PNG with a photo's texture (gradients and noise), as generated images."""
    path.write_bytes(_photo_png())
    return path


def article(tmp_path: Path, *, content_id: int = 7, slug: str = "brewing-guide") -> Article:
    def image(name: str, alt: str) -> ArticleImage:
        return ArticleImage(path=photo(tmp_path / f"{name}.png"), name=f"{name}.png", alt=alt)

    return Article(
        content_id=content_id,
        title="Brewing guide",
        slug=slug,
        html=HTML,
        description="How to brew.",
        date=dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC),
        tags=("coffee",),
        featured_image=image(f"{slug}-featured", "A cup of coffee on a table"),
        images=(image(f"{slug}-1", "Beans in a grinder"), image(f"{slug}-2", "A pour-over")),
    )


def publisher(
    wp: RealWordPress, account: Account, *, install: str = INSTALL, **kwargs: Any
) -> WordPressPublisher:
    return WordPressPublisher(
        base_url=wp.url,
        username=account.username,
        password=account.password,
        install_id=install,
        timeout=60,
        **kwargs,
    )


def get(wp: RealWordPress, path: str, **params: Any) -> Any:
    auth = (wp.admin.username, wp.admin.password)
    answer = requests.get(f"{wp.url}/wp-json/wp/v2/{path}", params=params, auth=auth, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def attachments(wp: RealWordPress) -> list[dict[str, Any]]:
    """Every attachment WordPress holds, with its parent and whether its file is on disk."""
    return list(
        wp.php_json(
            """
            $out = [];
            foreach (get_posts(['post_type' => 'attachment', 'post_status' => 'any',
                                'numberposts' => -1]) as $a) {
                $out[] = ['id' => $a->ID, 'parent' => $a->post_parent,
                          'file' => file_exists(get_attached_file($a->ID))];
            }
            echo json_encode($out);
            """
        )
    )


@pytest.mark.parametrize("role", ["administrator", "author"])
def test_media_are_attached_web_sized_titled_from_alt_and_the_article_is_blocks(
    wordpress: RealWordPress, tmp_path: Path, role: str
) -> None:
    account = wordpress.admin if role == "administrator" else wordpress.author
    item = article(tmp_path)
    published = publisher(wordpress, account).publish(item)
    post_id = int(published.remote_id)

    media = get(wordpress, "media", parent=post_id, context="edit", per_page=100)
    assert len(media) == 3  # attached, none "Unattached"
    images = {m["id"]: m for m in media}
    for image in (item.featured_image, *item.images):
        assert image is not None
        found = next(m for m in media if m["alt_text"] == image.alt)
        assert found["title"]["raw"] == image.alt  # not the file name
        assert found["caption"]["raw"] == image.alt
        assert found["mime_type"] == "image/webp"
        assert found["source_url"].endswith(".webp")
        assert found["media_details"]["width"] == 1600  # 2400 px scaled down
        assert found["media_details"]["height"] == 900
        assert "large" in found["media_details"]["sizes"]  # this GD resizes WebP
        assert found["media_details"]["filesize"] < image.path.stat().st_size / 3

    post = get(wordpress, f"posts/{post_id}", context="edit")
    raw = post["content"]["raw"]
    assert raw.startswith(f"<!-- wp:html -->\n<!-- inkline:{INSTALL}:{item.content_id} -->")
    assert post["featured_media"] in images
    assert raw.count("<!-- wp:heading -->") == 2
    assert raw.count('<!-- wp:heading {"level":3} -->') == 1
    assert raw.count('<!-- wp:list {"ordered":true} -->') == 1
    inline = [i for i in images if i != post["featured_media"]]
    for media_id in inline:
        attrs = f'{{"id":{media_id},"sizeSlug":"large","linkDestination":"none"}}'
        assert f"<!-- wp:image {attrs} -->" in raw
        assert f'class="wp-image-{media_id}"' in raw
        assert '<figure class="wp-block-image size-large">' in raw

    # WordPress's own parser reads blocks only: no Classic (freeform) block with content.
    parsed = wordpress.php_json(
        f"""
        $names = [];
        foreach (parse_blocks(get_post({post_id})->post_content) as $b) {{
            if ($b['blockName'] !== null || trim($b['innerHTML']) !== '') {{
                $names[] = $b['blockName'] ?? 'classic';
            }}
        }}
        echo json_encode($names);
        """
    )
    assert "classic" not in parsed
    assert parsed[0] == "core/html"  # the marker
    assert {"core/paragraph", "core/heading", "core/list", "core/image"} <= set(parsed)

    # Rendered: WordPress adds the dimensions and the responsive sizes.
    rendered = post["content"]["rendered"]
    for media_id in inline:
        img = re.search(rf"<img [^>]*wp-image-{media_id}[^>]*>", rendered)
        assert img is not None, rendered
        tag = img.group(0)
        assert 'width="1024"' in tag and 'height="576"' in tag
        assert "srcset=" in tag and "1600w" in tag and "1024w" in tag
        assert "sizes=" in tag


def test_jpeg_when_asked(wordpress: RealWordPress, tmp_path: Path) -> None:
    item = article(tmp_path)
    published = publisher(wordpress, wordpress.admin, image_format="jpeg").publish(item)
    media = get(wordpress, "media", parent=int(published.remote_id), context="edit")
    assert len(media) == 3
    for found in media:
        assert found["mime_type"] == "image/jpeg"
        assert found["media_details"]["width"] == 1600
        assert "large" in found["media_details"]["sizes"]


def test_a_failed_publish_deletes_the_images_it_uploaded(
    wordpress: RealWordPress, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = article(tmp_path)
    wp = publisher(wordpress, wordpress.admin)

    def refused(taxonomy: str, names: tuple[str, ...]) -> list[int]:
        raise PublishError("WordPress answered 403 to POST tags", retryable=False)

    monkeypatch.setattr(wp, "_terms", refused)  # fails after the three uploads
    with pytest.raises(PublishError, match="403"):
        wp.publish(item)
    assert attachments(wordpress) == []  # rows and files gone
    assert not any((wordpress.dir / "uploads").rglob("*.webp"))

    monkeypatch.undo()
    published = wp.publish(item)  # the next attempt uploads them again
    parents = {a["parent"] for a in attachments(wordpress)}
    assert parents == {int(published.remote_id)}
    assert len(attachments(wordpress)) == 3


def test_another_installations_post_and_images_are_not_ours(
    wordpress: RealWordPress, tmp_path: Path
) -> None:
    item = article(tmp_path)
    theirs = publisher(wordpress, wordpress.admin, install=OTHER_INSTALL).publish(item)
    before = attachments(wordpress)

    with pytest.raises(PublishError, match="did not create") as failed:
        publisher(wordpress, wordpress.admin).publish(item)  # same content id, same slug
    assert failed.value.retryable is False
    assert attachments(wordpress) == before  # their images kept, none uploaded
    with pytest.raises(PublishError, match="not written by this Inkline"):
        publisher(wordpress, wordpress.admin).refresh_related(item, remote_id=theirs.remote_id)
