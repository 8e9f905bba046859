"""The WordPress publisher against a real WordPress (issue 18, findings 1-4): terms with "&",
an Author account, a wrong application password, plain permalinks, a stripped Authorization
header, a Contributor account."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from PIL import Image

from inkline.accounts.models import Account as DjangoAccount
from inkline.automation.sites import site_create
from inkline.publishing.publishers import Article, ArticleImage, PublishError, RelatedLink
from inkline.publishing.publishers.wordpress import WordPressPublisher
from inkline.publishing.services import content_publish, content_schedule
from inkline.writer.models import Content
from tests.publishing.builders import approved
from tests.wordpress.server import PLAIN, Account, RealWordPress

DATE = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)

INSTALL = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b0a"


def publisher(wp: RealWordPress, account: Account, **kwargs: object) -> WordPressPublisher:
    return WordPressPublisher(
        base_url=wp.url,
        username=account.username,
        password=account.password,
        install_id=INSTALL,
        **kwargs,
    )


def article(n: int, **kwargs: object) -> Article:
    fields: dict[str, object] = {
        "content_id": n,
        "title": f"Article {n}",
        "slug": f"article-{n}",
        "html": f"<p>Intro {n}.</p><h2>Part</h2><p>Body {n}.</p>",
        "description": f"About {n}",
        "date": DATE,
        **kwargs,
    }
    return Article(**fields)  # type: ignore[arg-type]


def image(tmp_path: Path, name: str) -> ArticleImage:
    path = tmp_path / name
    Image.new("RGB", (64, 48), (200, 120, 40)).save(path, "PNG")
    return ArticleImage(path=path, name=name, alt=f"alt of {name}")


def post_terms(wp: RealWordPress, post_id: str) -> dict[str, list[str]]:
    return dict(
        wp.php_json(
            f"""$names = ['fields' => 'names'];
            echo json_encode([
                'categories' => wp_get_post_terms({int(post_id)}, 'category', $names),
                'tags' => wp_get_post_terms({int(post_id)}, 'post_tag', $names),
            ]);"""
        )
    )


def term_count(wp: RealWordPress, taxonomy: str) -> int:
    return int(wp.php(f"echo wp_count_terms(['taxonomy' => '{taxonomy}', 'hide_empty' => 0]);"))


def test_terms_with_an_ampersand_are_found_and_reused(wordpress: RealWordPress) -> None:
    """Finding 1: WordPress stores "Guides & Tips" as "Guides &amp; Tips"."""
    wordpress.php("wp_insert_term('Guides & Tips', 'category');")
    wp = publisher(wordpress, wordpress.admin, categories=("Guides & Tips",))
    first = wp.publish(article(1, tags=("Tips & Tricks",)))
    second = wp.publish(article(2, tags=("Tips & Tricks", "Q&A")))
    assert post_terms(wordpress, first.remote_id) == {
        "categories": ["Guides &amp; Tips"],
        "tags": ["Tips &amp; Tricks"],
    }
    assert post_terms(wordpress, second.remote_id)["categories"] == ["Guides &amp; Tips"]
    assert sorted(post_terms(wordpress, second.remote_id)["tags"]) == [
        "Q&amp;A",
        "Tips &amp; Tricks",
    ]
    assert term_count(wordpress, "category") == 2  # Uncategorized and Guides & Tips
    assert term_count(wordpress, "post_tag") == 2


def test_an_author_uses_existing_terms_and_names_the_missing_ones(
    wordpress: RealWordPress, tmp_path: Path
) -> None:
    """Finding 4: an Author may assign categories but not create them (tags it may create);
    the article is published with what exists, the rest is named, its images uploaded."""
    wordpress.php(
        "wp_insert_term('News & Views', 'category'); wp_insert_term('Existing', 'post_tag');"
    )
    wp = publisher(wordpress, wordpress.author, categories=("News & Views", "Brand new"))
    published = wp.publish(
        article(
            3,
            tags=("Existing", "Unknown tag"),
            featured_image=image(tmp_path, "article-3-featured.png"),
            images=(image(tmp_path, "article-3-1.png"),),
        )
    )
    assert post_terms(wordpress, published.remote_id) == {
        "categories": ["News &amp; Views"],
        "tags": ["Existing", "Unknown tag"],
    }
    assert len(published.notes) == 1
    note = published.notes[0]
    assert "'Brand new'" in note and "categories" in note
    assert "may not create" in note and "Editor" in note
    post = wordpress.php_json(f"echo json_encode(get_post({published.remote_id}));")
    assert post["post_status"] == "publish" and post["post_author"] == str(wordpress.author.user_id)
    assert wordpress.php("echo get_post_thumbnail_id(" + published.remote_id + ");") != "0"
    assert term_count(wordpress, "category") == 2


def test_a_wrong_application_password_is_reported_as_one(wordpress: RealWordPress) -> None:
    """Finding 2: this WordPress answers 400 to GET posts?status=… for a wrong password."""
    wp = WordPressPublisher(
        base_url=wordpress.url,
        username="admin",
        password="abcd efgh ijkl mnop qrst uvwx",
        install_id=INSTALL,
    )
    with pytest.raises(PublishError) as caught:
        wp.publish(article(4))
    assert "application password" in caught.value.message
    assert "'admin'" in caught.value.message
    assert "400" not in caught.value.message
    assert caught.value.retryable is False


def test_a_stripped_authorization_header_is_named(wordpress: RealWordPress) -> None:
    wp = publisher(wordpress, wordpress.admin)
    with wordpress.authorization_stripped(), pytest.raises(PublishError) as caught:
        wp.publish(article(5))
    assert "Authorization header" in caught.value.message
    assert caught.value.retryable is False


def test_plain_permalinks_publish_through_rest_route(wordpress: RealWordPress) -> None:
    """Finding 3: /wp-json/ is an HTML page; the REST root is found in the Link header."""
    wordpress.set_permalinks(PLAIN)
    wp = publisher(wordpress, wordpress.admin, categories=("Plain",))
    published = wp.publish(article(6))
    assert published.url == f"{wordpress.url}/?p={published.remote_id}"
    again = publisher(wordpress, wordpress.admin, categories=("Plain",))
    assert again.publish(article(6)) == published  # found again, not posted twice
    link = RelatedLink(content_id=7, anchor="seven", slug="article-7", url="https://x.test/7")
    again.refresh_related(article(6, related=(link,)), remote_id=published.remote_id)
    content = wordpress.php(f"echo get_post({published.remote_id})->post_content;")
    assert "https://x.test/7" in content
    assert wordpress.php("echo count(get_posts(['post_status' => 'any']));") == "1"


def test_a_site_that_is_not_wordpress_fails_at_once(wordpress: RealWordPress) -> None:
    """Not JSON and no REST API announced: a wrong address, not worth 15 minutes of retries."""
    wp = WordPressPublisher(
        base_url=wordpress.url + "/wp-content/uploads/nothing-here",
        username="admin",
        password=wordpress.admin.password,
        install_id=INSTALL,
    )
    with pytest.raises(PublishError) as caught:
        wp.publish(article(8))
    assert caught.value.retryable is False
    assert "REST API" in caught.value.message


def test_what_a_contributor_may_not_do_is_named(wordpress: RealWordPress, tmp_path: Path) -> None:
    contributor = wordpress.add_user("contributor", "contributor")
    wp = publisher(wordpress, contributor)
    with pytest.raises(PublishError) as caught:
        wp.publish(article(9, featured_image=image(tmp_path, "article-9-featured.png")))
    assert "'contributor'" in caught.value.message
    assert "upload" in caught.value.message and "Author" in caught.value.message
    assert caught.value.retryable is False
    with pytest.raises(PublishError) as caught:
        wp.publish(article(9))
    assert "publish" in caught.value.message and "Author" in caught.value.message
    assert caught.value.retryable is False


@pytest.mark.django_db
def test_what_an_author_could_not_do_is_kept_on_the_published_article(
    wordpress: RealWordPress, account: DjangoAccount
) -> None:
    site = site_create(
        account=account,
        name="wp",
        publisher="wordpress",
        publisher_config={
            "url": wordpress.url,
            "username": wordpress.author.username,
            "application_password": wordpress.author.password,
            "categories": ["Reviews & Tests"],
        },
    )
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=DATE)
    with time_machine.travel(DATE + dt.timedelta(days=1), tick=False):
        assert content_publish(content_id=content_id) == "published"
    content = Content.objects.get(pk=content_id)
    assert content.status == "published" and content.remote_id.isdigit()
    assert "'Reviews & Tests'" in content.publish_error
    assert "may not create categories" in content.publish_error
