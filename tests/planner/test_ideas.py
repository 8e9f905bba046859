"""Stage 2's write, `ideas_create`, and stage 3's mark on an idea, `idea_queue`, on the
database without the engine: ideas stored sanitized, one idea per primary keyword per site,
and nothing kept once the cluster or idea is no longer waiting."""

from __future__ import annotations

import pytest
from django.db import transaction

from inkline.accounts.models import Account, Site
from inkline.automation.sites import site_create
from inkline.core.errors import ItemGone
from inkline.planner.models import Cluster, ContentIdea
from inkline.planner.services import IdeaDraft, idea_queue, ideas_create

pytestmark = pytest.mark.django_db

PROVENANCE = {"provider": "test", "model": "m", "prompt_version": "1"}


def draft(title: str, keyword: str, **fields: object) -> IdeaDraft:
    values: dict[str, object] = {
        "title": title,
        "primary_keyword": keyword,
        "target_keywords": (keyword,),
        "content_type": "guide",
        "content_structure": "article",
        "outline": ("What it is", "How to"),
    }
    values.update(fields)
    return IdeaDraft(**values)  # type: ignore[arg-type]


def idea(site: Site, cluster: Cluster, keyword: str) -> ContentIdea:
    return ContentIdea.objects.create(
        site=site, cluster=cluster, title=f"About {keyword}", primary_keyword=keyword
    )


def test_ideas_are_stored_and_the_cluster_is_done(site: Site) -> None:
    cluster = Cluster.objects.create(site=site, name="Brewing", attempts=1, last_error="x")

    created = ideas_create(
        site_id=site.pk,
        cluster_id=cluster.pk,
        ideas=[draft("Cold brew at home", "cold brew"), draft("V60 guide", "v60 recipe")],
        provenance=PROVENANCE,
    )

    assert created.created == 2 and created.skipped == ()
    cluster.refresh_from_db()
    assert cluster.status == Cluster.Status.IDEAS and cluster.last_error == ""
    ideas = ContentIdea.objects.filter(cluster=cluster).order_by("id")
    assert [i.title for i in ideas] == ["Cold brew at home", "V60 guide"]
    first = ideas[0]
    assert first.status == ContentIdea.Status.NEW  # waits for stage 3
    assert first.target_keywords == ["cold brew"]
    assert first.outline == ["What it is", "How to"]
    assert first.provenance == PROVENANCE


def test_every_text_field_is_sanitized_and_long_values_cut(site: Site) -> None:
    cluster = Cluster.objects.create(site=site, name="Brewing")

    ideas_create(
        site_id=site.pk,
        cluster_id=cluster.pk,
        ideas=[
            draft(
                "<script>alert(1)</script><b>Bold</b> title " + "x" * 300,
                "<i>cold</i> brew",
                target_keywords=("<a href='javascript:x'>ratio</a>",),
                outline=("<img src=x onerror=alert(1)>Intro",),
                content_type="t" * 40,
                content_structure="s" * 40,
            )
        ],
        provenance=PROVENANCE,
    )

    stored = ContentIdea.objects.get(cluster=cluster)
    assert stored.title.startswith("Bold title ") and len(stored.title) == 255
    assert stored.primary_keyword == "cold brew"
    assert stored.target_keywords == ["ratio"]
    assert stored.outline == ["Intro"]
    assert len(stored.content_type) == 30 and len(stored.content_structure) == 30


def test_a_primary_keyword_already_targeted_in_the_site_is_skipped_with_its_reason(
    site: Site, account: Account
) -> None:
    cluster = Cluster.objects.create(site=site, name="Brewing")
    earlier = Cluster.objects.create(site=site, name="Earlier", status=Cluster.Status.IDEAS)
    idea(site, earlier, "Cold  Brew")
    other = site_create(account=account, name="other")
    idea(other, Cluster.objects.create(site=other, name="Theirs"), "french press")

    created = ideas_create(
        site_id=site.pk,
        cluster_id=cluster.pk,
        ideas=[
            draft("Cold brew again", "cold brew"),
            draft("French press", "french press"),
            draft("French press, twice", "FRENCH PRESS"),
        ],
        provenance=PROVENANCE,
    )

    assert created.created == 1
    assert created.skipped == (
        "Idea 'Cold brew again' skipped: another idea of this site already targets the "
        "primary keyword 'cold brew'.",
        "Idea 'French press, twice' skipped: another idea of this site already targets the "
        "primary keyword 'FRENCH PRESS'.",
    )
    assert list(ContentIdea.objects.filter(cluster=cluster).values_list("title", flat=True)) == [
        "French press"
    ]


@pytest.mark.parametrize("change", ["done", "deleted", "other site"])
def test_a_cluster_no_longer_waiting_makes_the_item_gone(
    site: Site, account: Account, change: str
) -> None:
    cluster = Cluster.objects.create(site=site, name="Brewing")
    site_id = site.pk
    if change == "done":
        Cluster.objects.filter(pk=cluster.pk).update(status=Cluster.Status.IDEAS)
    elif change == "deleted":
        Cluster.objects.filter(pk=cluster.pk).delete()
    else:
        site_id = site_create(account=account, name="other").pk

    with pytest.raises(ItemGone), transaction.atomic():
        ideas_create(
            site_id=site_id,
            cluster_id=cluster.pk,
            ideas=[draft("Cold brew", "cold brew")],
            provenance=PROVENANCE,
        )

    assert not ContentIdea.objects.exists()


def test_idea_queue_takes_a_new_idea_out_of_the_pending_set(site: Site) -> None:
    cluster = Cluster.objects.create(site=site, name="Brewing")
    queued, noted = idea(site, cluster, "v60"), idea(site, cluster, "chemex")

    idea_queue(site_id=site.pk, idea_id=queued.pk)
    idea_queue(site_id=site.pk, idea_id=noted.pk, note="Not queued: a duplicate.")

    queued.refresh_from_db()
    noted.refresh_from_db()
    assert queued.status == noted.status == ContentIdea.Status.QUEUED
    assert queued.last_error == ""
    assert noted.last_error == "Not queued: a duplicate."


def test_idea_queue_of_an_idea_no_longer_new_is_gone(site: Site) -> None:
    cluster = Cluster.objects.create(site=site, name="Brewing")
    queued = idea(site, cluster, "v60")
    idea_queue(site_id=site.pk, idea_id=queued.pk)

    with pytest.raises(ItemGone):
        idea_queue(site_id=site.pk, idea_id=queued.pk, note="again")

    queued.refresh_from_db()
    assert queued.last_error == ""


def test_an_idea_whose_keyword_is_markup_alone_is_skipped(site: Site) -> None:
    cluster = Cluster.objects.create(site=site, name="Odd")

    created = ideas_create(
        site_id=site.pk,
        cluster_id=cluster.pk,
        ideas=[draft("Broken", "<img src=x onerror=alert(1)>"), draft("Fine", "pour over")],
        provenance=PROVENANCE,
    )

    assert created.created == 1
    assert created.skipped == (
        "Idea 'Broken' skipped: its primary keyword has no letters or digits once markup is "
        "removed.",
    )
    assert list(
        ContentIdea.objects.filter(site=site).values_list("primary_keyword", flat=True)
    ) == ["pour over"]
