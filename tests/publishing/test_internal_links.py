"""Internal links: publishing articles of one cluster links them to each other (anchor text from
the primary keyword) in the static output and on WordPress, once, at most `internal_links_max`
per article, never to an unpublished article or another cluster's."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection, connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Site
from inkline.automation.sites import site_create
from inkline.core.installation import install_id
from inkline.planner.models import Cluster
from inkline.publishing.delivery import backoff
from inkline.publishing.links import MAX_SYNC_ATTEMPTS, links_relink_site
from inkline.publishing.linkset import RELATED_START
from inkline.publishing.models import InternalLink, LinkSync
from inkline.publishing.publishers import Article, Published
from inkline.publishing.publishers.factory import get_publisher
from inkline.publishing.services import content_publish, content_schedule
from inkline.publishing.tasks import publish_due
from inkline.writer.models import Content
from tests.publishing.builders import publishing
from tests.publishing.wp_server import WordPress

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
LINK = re.compile(r"\[([^\]]+)\]\((/posts/[^)]+/)\)")


def in_cluster(site: Site, name: str, n: int, *, start: int = 0) -> list[Content]:
    """`n` approved articles of a new (or existing) cluster `name`, approved in order."""
    cluster, _ = Cluster.objects.get_or_create(site=site, name=name)
    return [
        Content.objects.create(
            site=site,
            cluster=cluster,
            title=f"{name} article {i}",
            slug=f"{name.lower()}-{i}",
            html=f"<p>About {name} {i}.</p><h2>Part</h2><p>Body.</p>",
            meta_description=f"About {name} {i}",
            primary_keyword=f"{name.lower()} keyword {i}",
            status=Content.Status.APPROVED,
            approved_at=NOW - dt.timedelta(hours=1) + dt.timedelta(seconds=start + i),
        )
        for i in range(start, start + n)
    ]


def owner_api() -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username='owner').key}")
    return api


def tick(at: dt.datetime) -> int:
    with time_machine.travel(at, tick=False):
        return int(publish_due.apply().get())


def slot_of(content: Content) -> dt.datetime:
    content.refresh_from_db()
    assert content.scheduled_publish_at is not None
    return content.scheduled_publish_at


def markdown(site: Site, content: Content) -> str:
    path = Path(settings.SITE_OUTPUT_DIR) / str(site.pk) / "content" / "posts"
    return (path / f"{content.slug}.md").read_text()


def links_in(site: Site, content: Content) -> list[tuple[str, str]]:
    return LINK.findall(markdown(site, content))


def address(content: Content) -> str:
    return f"/posts/{content.slug}/"


@pytest.fixture
def static_site(account: Account) -> Site:
    site = site_create(account=account, name="coffee", url="https://blog.example.com")
    publishing(site, scheduling_mode="immediate")
    return site


# --- static --------------------------------------------------------------------------------
def test_two_articles_of_one_cluster_link_each_other_exactly_once_in_the_static_output(
    static_site: Site,
) -> None:
    first, second = in_cluster(static_site, "Coffee", 2)
    content_schedule(site=static_site, now=NOW)
    assert tick(slot_of(first)) == 1
    assert links_in(static_site, first) == []  # nothing else of its cluster is published yet

    assert tick(slot_of(second)) == 1
    assert links_in(static_site, second) == [("coffee keyword 0", address(first))]
    # The same tick pushed the first article again, now with the link to the second.
    assert links_in(static_site, first) == [("coffee keyword 1", address(second))]
    for article in (first, second):
        text = markdown(static_site, article)
        assert text.count("## Related reading") == 1
        assert text.index("Body.") < text.index("## Related reading")  # after the article
    assert not LinkSync.objects.exists()
    assert set(InternalLink.objects.values_list("source_id", "target_id", "position")) == {
        (first.pk, second.pk, 0),
        (second.pk, first.pk, 0),
    }

    # Pushing again (a lost claim, a new limit, a repeated tick) keeps exactly one link.
    LinkSync.objects.bulk_create(
        LinkSync(content=c, site=static_site, token=uuid.uuid4(), due_at=slot_of(second))
        for c in (first, second)
    )
    before = {c.pk: markdown(static_site, c) for c in (first, second)}
    assert tick(slot_of(second) + dt.timedelta(minutes=1)) == 0
    assert not LinkSync.objects.exists()
    assert {c.pk: markdown(static_site, c) for c in (first, second)} == before


def test_a_publish_retried_after_a_failure_still_links_once(
    static_site: Site, settings: Any, tmp_path: Path
) -> None:
    first, second = in_cluster(static_site, "Coffee", 2)
    content_schedule(site=static_site, now=NOW)
    assert tick(slot_of(first)) == 1
    good = settings.SITE_OUTPUT_DIR
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings.SITE_OUTPUT_DIR = blocker  # the second article's first attempt cannot write
    at = slot_of(second)
    assert content_publish(content_id=second.pk, now=at) == "retry"
    assert not InternalLink.objects.exists()
    settings.SITE_OUTPUT_DIR = good
    assert tick(at + backoff(1)) == 1
    assert links_in(static_site, second) == [("coffee keyword 0", address(first))]
    assert links_in(static_site, first) == [("coffee keyword 1", address(second))]
    assert InternalLink.objects.count() == 2


def test_at_most_the_configured_number_of_links_per_article(static_site: Site) -> None:
    publishing(static_site, scheduling_mode="immediate", internal_links_max=2)
    articles = in_cluster(static_site, "Coffee", 4)  # N + 2 of them
    content_schedule(site=static_site, now=NOW)
    for article in articles:
        tick(slot_of(article))
    inbound = {a.pk: 0 for a in articles}
    for article in articles:
        found = links_in(static_site, article)
        assert len(found) == 2, found
        assert address(article) not in [href for _, href in found]
        for other in articles:
            inbound[other.pk] += [href for _, href in found].count(address(other))
    assert min(inbound.values()) >= 1  # none is left without a link to it
    newest = articles[-1]
    # Closest in publication order first: the newest links to the two before it.
    assert links_in(static_site, newest) == [
        ("coffee keyword 2", address(articles[2])),
        ("coffee keyword 1", address(articles[1])),
    ]
    assert not LinkSync.objects.exists()


def test_deleting_an_article_in_the_admin_takes_the_links_to_it_out_of_the_others(
    static_site: Site, admin_client: Any
) -> None:
    publishing(static_site, scheduling_mode="immediate", internal_links_max=2)
    articles = in_cluster(static_site, "Coffee", 4)
    content_schedule(site=static_site, now=NOW)
    for article in articles:
        tick(slot_of(article))
    gone = articles[2]
    linking = [a for a in articles if address(gone) in [h for _, h in links_in(static_site, a)]]
    assert linking  # some articles link to it before

    later = slot_of(articles[-1]) + dt.timedelta(minutes=1)
    page = f"/admin/writer/content/{gone.pk}/delete/"
    with time_machine.travel(later, tick=False):
        assert admin_client.post(page, {"post": "yes"}).status_code == 302
    assert not Content.objects.filter(pk=gone.pk).exists()
    assert set(LinkSync.objects.values_list("content_id", flat=True)) >= {a.pk for a in linking}
    tick(later)
    assert not LinkSync.objects.exists()
    for article in articles:
        if article.pk != gone.pk:
            found = links_in(static_site, article)
            assert address(gone) not in [href for _, href in found]
            assert len(found) == 2  # another article of the cluster took its place


def test_never_a_link_to_an_unpublished_article_or_another_clusters(static_site: Site) -> None:
    first, second, later = in_cluster(static_site, "Coffee", 3)
    (tea,) = in_cluster(static_site, "Tea", 1)
    rejected = in_cluster(static_site, "Coffee", 1, start=3)[0]
    Content.objects.filter(pk=rejected.pk).update(status=Content.Status.REJECTED)
    content_schedule(site=static_site, now=NOW)
    # `later` stays scheduled, far in the future.
    Content.objects.filter(pk=later.pk).update(scheduled_publish_at=NOW + dt.timedelta(days=30))
    for article in (first, tea, second):
        assert tick(slot_of(article)) == 1
    assert later.pk not in set(InternalLink.objects.values_list("target_id", flat=True))
    for article in (first, second):
        hrefs = [href for _, href in links_in(static_site, article)]
        assert address(later) not in hrefs and address(tea) not in hrefs
        assert address(rejected) not in hrefs
        assert len(hrefs) == 1
    assert links_in(static_site, tea) == []
    # A pending update of an article that is not published pushes nothing.
    LinkSync.objects.create(content=later, site=static_site, token=uuid.uuid4(), due_at=NOW)
    tick(slot_of(second))
    assert not LinkSync.objects.exists()
    assert not (
        Path(settings.SITE_OUTPUT_DIR)
        / str(static_site.pk)
        / "content"
        / "posts"
        / f"{later.slug}.md"
    ).exists()


def test_a_new_limit_relinks_every_cluster_and_pushes_the_changed_articles(
    static_site: Site, account: Account
) -> None:
    articles = in_cluster(static_site, "Coffee", 3)
    content_schedule(site=static_site, now=NOW)
    for article in articles:
        tick(slot_of(article))
    assert all(len(links_in(static_site, a)) == 2 for a in articles)

    api = owner_api()
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        answer = api.patch(
            f"/api/v1/sites/{static_site.pk}/publishing/settings/",
            {"internal_links_max": 1},
            format="json",
        )
    assert answer.status_code == 200 and answer.json()["internal_links_max"] == 1
    assert tick(NOW + dt.timedelta(hours=1)) == 0
    assert all(len(links_in(static_site, a)) == 1 for a in articles)

    publishing(static_site, internal_links_max=1)
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        answer = api.patch(
            f"/api/v1/sites/{static_site.pk}/publishing/settings/",
            {"internal_links_max": 0},
            format="json",
        )
    assert answer.status_code == 200
    tick(NOW + dt.timedelta(hours=2))
    assert not InternalLink.objects.exists()
    assert all(RELATED_START not in markdown(static_site, a) for a in articles)
    assert all("Related reading" not in markdown(static_site, a) for a in articles)


@pytest.mark.parametrize("siblings", [1, 12])
def test_a_publish_runs_the_same_number_of_queries_whatever_the_clusters_size(
    static_site: Site, siblings: int, django_assert_max_num_queries: Any
) -> None:
    published = in_cluster(static_site, "Coffee", siblings)
    Content.objects.filter(pk__in=[c.pk for c in published]).update(
        status=Content.Status.PUBLISHED,
        site_status=Content.SiteStatus.PUBLISHED,
        published_at=NOW - dt.timedelta(days=1),
    )
    links_relink_site(site=static_site, limit=3, now=NOW)  # the siblings are linked already
    LinkSync.objects.all().delete()
    (article,) = in_cluster(static_site, "Coffee", 1, start=siblings)
    content_schedule(site=static_site, now=NOW)
    # Claim, read, images, settings, siblings, cluster lock, mark published, links read,
    # removed, added, pushes marked, the webhooks wanting article.published (+ savepoints):
    # 15 with 1 sibling, 16 with 12 (one link moves out of a block). The siblings' own
    # pushes come after, one per changed block.
    with django_assert_max_num_queries(16):
        assert content_publish(content_id=article.pk, now=slot_of(article)) == "published"
    assert InternalLink.objects.filter(source=article).count() == min(3, siblings)
    # Only the siblings within 3 places of the end of the publication order change.
    assert LinkSync.objects.count() == {1: 1, 12: 2}[siblings]


# --- WordPress -----------------------------------------------------------------------------
@pytest.fixture
def wp(settings: Any) -> Iterator[WordPress]:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True  # the test server is on loopback
    with WordPress() as server:
        yield server


def wp_site(account: Account, wp: WordPress) -> Site:
    site = site_create(
        account=account,
        name="wp",
        publisher="wordpress",
        publisher_config={
            "url": wp.url,
            "username": wp.username,
            "application_password": wp.password,
            "timeout": 0.5,
        },
    )
    publishing(site, scheduling_mode="immediate")
    return site


def post_of(wp: WordPress, content: Content) -> dict[str, Any]:
    content.refresh_from_db()
    return next(p for p in wp.posts if str(p["id"]) == content.remote_id)


def test_wordpress_receives_the_update_of_the_first_post_with_a_link_to_the_second(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    first, second = in_cluster(site, "Coffee", 2)
    content_schedule(site=site, now=NOW)
    assert tick(slot_of(first)) == 1
    assert RELATED_START not in post_of(wp, first)["content"]["raw"]
    # The post is edited in WordPress: the update must keep that.
    post_of(wp, first)["content"]["raw"] += "<p>Edited in WordPress.</p>"

    assert tick(slot_of(second)) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    created = post_of(wp, second)["content"]["raw"]
    assert created.count(f'<a href="{first.published_url}">coffee keyword 0</a>') == 1
    assert [u["id"] for u in wp.updates] == [int(first.remote_id)]
    updated = post_of(wp, first)["content"]["raw"]
    assert updated.startswith(f"<!-- wp:html -->\n<!-- inkline:{install_id()}:{first.pk} -->")
    assert updated.count(f'<a href="{second.published_url}">coffee keyword 1</a>') == 1
    assert updated.count(RELATED_START) == 1
    assert "Edited in WordPress." in updated
    assert f"POST /wp-json/wp/v2/posts/{first.remote_id}" in wp.requests
    assert not LinkSync.objects.exists()

    # Nothing changed: another push reads the post and leaves it alone.
    LinkSync.objects.create(content=first, site=site, token=uuid.uuid4(), due_at=slot_of(second))
    tick(slot_of(second) + dt.timedelta(minutes=1))
    assert len(wp.updates) == 1 and post_of(wp, first)["content"]["raw"] == updated


def test_a_failed_wordpress_update_is_retried_later_without_a_duplicate_link(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    first, second = in_cluster(site, "Coffee", 2)
    content_schedule(site=site, now=NOW)
    assert tick(slot_of(first)) == 1
    first.refresh_from_db()
    wp.faults[f"POST posts/{first.remote_id}"] = ["503", "500"]

    at = slot_of(second)
    assert tick(at) == 1  # the second article is published all the same
    second.refresh_from_db()
    assert second.status == "published"
    sync = LinkSync.objects.get(content=first)
    assert sync.attempts == 1 and "503" in sync.error
    assert sync.due_at == at + backoff(1)
    assert InternalLink.objects.filter(source=first, target=second).exists()  # never lost
    assert RELATED_START not in post_of(wp, first)["content"]["raw"]

    shown = owner_api().get(f"/api/v1/content/{first.pk}/internal-links/").json()
    assert shown["update_pending"] is True and shown["update_attempts"] == 1
    assert "503" in shown["update_error"]
    assert shown["outgoing"] == [
        {"content_id": second.pk, "anchor": "coffee keyword 1", "url": second.published_url}
    ]
    assert shown["incoming"] == [
        {"content_id": second.pk, "anchor": "coffee keyword 1", "url": second.published_url}
    ]
    assert shown["html"].count(f'href="{second.published_url}"') == 1

    assert tick(at + backoff(1) - dt.timedelta(seconds=1)) == 0
    assert LinkSync.objects.get(content=first).attempts == 1  # not due yet
    tick(at + backoff(1))  # the 500
    sync = LinkSync.objects.get(content=first)
    assert sync.attempts == 2 and "500" in sync.error
    tick(at + backoff(1) + backoff(2))
    assert not LinkSync.objects.exists()
    raw = post_of(wp, first)["content"]["raw"]
    assert raw.count(f'href="{second.published_url}"') == 1
    assert raw.count(RELATED_START) == 1
    assert len(wp.updates) == 1
    shown = owner_api().get(f"/api/v1/content/{first.pk}/internal-links/").json()
    assert (shown["update_pending"], shown["update_error"]) == (False, "")


def test_the_internal_links_endpoint_is_scoped_to_the_account(static_site: Site) -> None:
    from inkline.automation.sites import account_create

    (article,) = in_cluster(static_site, "Coffee", 1)
    _, token = account_create(name="Other", username="other", password="pw")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert stranger.get(f"/api/v1/content/{article.pk}/internal-links/").status_code == 404
    assert owner_api().get(f"/api/v1/content/{2**70}/internal-links/").status_code == 404
    shown = owner_api().get(f"/api/v1/content/{article.pk}/internal-links/").json()
    assert shown["outgoing"] == [] and shown["html"] == article.html


def test_a_post_whose_answer_was_lost_carries_its_block_once(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    first, second = in_cluster(site, "Coffee", 2)
    content_schedule(site=site, now=NOW)
    tick(slot_of(first))
    wp.faults["POST posts"] = ["timeout_after_accept"]  # stored, but the answer is lost
    at = slot_of(second)
    assert tick(at) == 0
    assert len(wp.posts) == 2
    assert tick(at + backoff(1)) == 1  # found by its slug: no second post
    assert len(wp.posts) == 2
    for content, other in ((first, second), (second, first)):
        other.refresh_from_db()
        raw = post_of(wp, content)["content"]["raw"]
        assert raw.count(RELATED_START) == 1
        assert raw.count(f'href="{other.published_url}"') == 1
    assert not LinkSync.objects.exists()


def test_wordpress_updates_give_up_after_the_attempts_and_keep_the_error(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    first, second = in_cluster(site, "Coffee", 2)
    content_schedule(site=site, now=NOW)
    tick(slot_of(first))
    first.refresh_from_db()
    wp.posts.remove(post_of(wp, first))  # deleted in WordPress: a 404, no retry helps
    tick(slot_of(second))
    sync = LinkSync.objects.get(content=first)
    assert sync.due_at is None and "Gave up after 1 attempt(s)" in sync.error
    assert "404" in sync.error
    first.refresh_from_db()
    assert first.status == "published"
    assert MAX_SYNC_ATTEMPTS >= 5


# --- PostgreSQL: two publishes of one cluster at the same moment ------------------------------
class TogetherPublisher:
    """The site's static publisher, but each publish waits until both are in flight, so the
    two articles commit their links concurrently."""

    def __init__(self, site: Site, barrier: threading.Barrier) -> None:
        self.inner = get_publisher(site)
        self.barrier = barrier

    def publish(self, article: Article) -> Published:
        published = self.inner.publish(article)
        self.barrier.wait(timeout=10)
        return published

    def refresh_related(self, article: Article, *, remote_id: str) -> None:
        self.inner.refresh_related(article, remote_id=remote_id)


@pytest.mark.postgres_only
@pytest.mark.parametrize("round_", range(3))
def test_two_concurrent_publishes_of_one_cluster_still_link_both_ways(
    transactional_db: Any, account: Account, round_: int
) -> None:
    assert connection.vendor == "postgresql"
    site = site_create(account=account, name=f"race{round_}")
    publishing(site, scheduling_mode="immediate")
    first, second = in_cluster(site, "Coffee", 2)
    content_schedule(site=site, now=NOW)
    later = NOW + dt.timedelta(hours=1)
    barrier = threading.Barrier(2)

    def publish(content: Content) -> str:
        try:
            return content_publish(
                content_id=content.pk, now=later, publisher=TogetherPublisher(site, barrier)
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(publish, (first, second)))
    assert outcomes == ["published", "published"]
    # Neither saw the other before publishing; whichever committed second linked both ways.
    assert set(InternalLink.objects.values_list("source_id", "target_id")) == {
        (first.pk, second.pk),
        (second.pk, first.pk),
    }
    assert tick(later) == 0  # the pushes of the blocks that changed
    assert links_in(site, first) == [("coffee keyword 1", address(second))]
    assert links_in(site, second) == [("coffee keyword 0", address(first))]


def test_static_links_are_paths_under_the_sites_own_path(tmp_path: Path) -> None:
    from inkline.publishing.publishers import RelatedLink
    from inkline.publishing.publishers.static import StaticPublisher

    publisher = StaticPublisher(root=tmp_path, base_url="https://example.com/blog/")
    article = Article(
        content_id=1,
        title="V60",
        slug="v60",
        html="<p>Brew.</p>",
        description="",
        date=NOW,
        related=(
            RelatedLink(content_id=2, anchor="bloom time", slug="bloom", url="https://x/bloom/"),
            RelatedLink(content_id=3, anchor="", slug="grind", url="https://x/grind/"),
        ),
    )
    assert publisher.publish(article).url == "https://example.com/blog/posts/v60/"
    publisher.refresh_related(article, remote_id="content/posts/v60.md")
    text = (tmp_path / "content" / "posts" / "v60.md").read_text()
    assert text.count("[bloom time](/blog/posts/bloom/)") == 1
    assert "grind" not in text  # no anchor text, no link
