"""Refreshing a published article on a real WordPress: the same post (id and link) gets the
refreshed content in place, WordPress sets its `modified` date, no second post appears, the
revision history says who approved it, and its credits are captured once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from inkline.accounts.models import Account as DjangoAccount
from inkline.ai.local import LocalProvider
from inkline.automation.refresh import refresh_request, revision_write
from inkline.billing.models import CreditTransaction
from inkline.publishing.refresh import revision_approve_push, revision_push
from inkline.publishing.services import content_publish_due
from inkline.writer.models import Content, ContentRevision
from tests.factories import add_tasks, only_stages, run_now
from tests.publishing.builders import publishing
from tests.wordpress.server import RealWordPress
from tests.wordpress.test_check import wp_site

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)


def posts(wp: RealWordPress) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = wp.php_json(
        """
        $rows = get_posts(['post_type' => 'post', 'post_status' => array_keys(get_post_stati()),
                           'numberposts' => -1]);
        echo json_encode(array_map(fn($p) => [
            'id' => $p->ID, 'status' => $p->post_status, 'title' => $p->post_title,
            'content' => $p->post_content, 'modified_gmt' => $p->post_modified_gmt,
            'date_gmt' => $p->post_date_gmt, 'slug' => $p->post_name,
            'link' => get_permalink($p), 'thumbnail' => (int) get_post_thumbnail_id($p),
        ], $rows));
        """
    )
    return found


def test_a_refresh_updates_the_same_wordpress_post_in_place(
    wordpress: RealWordPress, account: DjangoAccount, provider: LocalProvider
) -> None:
    site = wp_site(account, wordpress, wordpress.admin)
    publishing(site, scheduling_mode="immediate")
    add_tasks(site, 1)
    only_stages(site, 4, 5, 6, 7)
    with time_machine.travel(NOW, tick=False):
        run = run_now(site, provider)
    assert run.status == "completed", run.error_message
    content_publish_due(now=NOW + dt.timedelta(days=1))
    content = Content.objects.get(site=site)
    assert content.status == "published", content.publish_error
    (before,) = posts(wordpress)
    assert str(before["id"]) == content.remote_id and before["link"] == content.published_url
    # Dated back, so the update's `modified` is told from the publication's.
    wordpress.php(
        f"""global $wpdb; $wpdb->update($wpdb->posts, ['post_modified_gmt' => '2020-01-01 00:00:00',
        'post_modified' => '2020-01-01 00:00:00'], ['ID' => {before["id"]}]);
        clean_post_cache({before["id"]});"""
    )

    (revision,) = refresh_request(site=site, by="owner", ids=[content.pk], wake=False)
    assert revision_write(revision_id=revision.pk, provider=provider) == "written"
    revision.refresh_from_db()
    assert revision.status == "review" and revision.html != content.html
    revision = revision_approve_push(revision=revision, by="owner")
    assert revision_push(revision_id=revision.pk) == "published"
    assert revision_push(revision_id=revision.pk) == "skipped"  # never pushed twice

    (after,) = posts(wordpress)  # one post: the same
    revision.refresh_from_db()
    content.refresh_from_db()
    assert revision.status == "published" and revision.decided_by == "owner"
    assert (after["id"], after["link"], after["slug"], after["status"]) == (
        before["id"],
        before["link"],
        before["slug"],
        "publish",
    )
    assert after["date_gmt"] == before["date_gmt"]
    assert after["modified_gmt"] > "2020-01-01 00:00:00"
    assert after["content"] != before["content"]
    first_paragraph = revision.html.split("</p>", 1)[0].split(">", 1)[1][:60]
    assert first_paragraph in after["content"]
    assert after["thumbnail"] == before["thumbnail"] != 0  # its featured image kept
    assert content.published_url == before["link"] and content.html == revision.html
    assert content.modified_at is not None
    assert ContentRevision.objects.filter(content=content).count() == 1
    captures = CreditTransaction.objects.filter(idempotency_key=f"refresh:{revision.pk}")
    assert captures.count() == 1 and captures.get().kind == "capture"
