"""Stage 1's write, `clusters_assign`, on the database without the engine: keywords placed
into new and existing clusters, sanitized names, and nothing kept when the batch is not placed
exactly once or a keyword is no longer waiting."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction

from inkline.accounts.models import Account, Site
from inkline.automation.sites import site_create
from inkline.core.errors import ItemGone
from inkline.planner.models import Cluster, Keyword
from inkline.planner.services import KeywordGroup, clusters_assign
from tests.factories import add_keywords

pytestmark = pytest.mark.django_db

PROVENANCE = {"provider": "test", "model": "m", "prompt_version": "1"}


def ids(keywords: list[Keyword]) -> tuple[int, ...]:
    return tuple(k.pk for k in keywords)


def test_keywords_go_into_new_and_existing_clusters(site: Site) -> None:
    brewing = Cluster.objects.create(site=site, name="Brewing")
    a, b, c = add_keywords(site, ["v60 recipe", "chemex ratio", "best burr grinder"])

    created = clusters_assign(
        site_id=site.pk,
        keyword_ids=ids([a, b, c]),
        groups=[
            KeywordGroup(keyword_ids=(a.pk, b.pk), name="ignored", existing_cluster_id=brewing.pk),
            KeywordGroup(keyword_ids=(c.pk,), name="Grinders", description="Burr and blade"),
        ],
        provenance=PROVENANCE,
    )

    assert created == 1
    grinders = Cluster.objects.get(site=site, name="Grinders")
    assert grinders.description == "Burr and blade"
    assert grinders.provenance == PROVENANCE
    assert grinders.status == Cluster.Status.NEW  # waits for stage 2
    placed = dict(Keyword.objects.filter(site=site).values_list("phrase", "cluster_id"))
    assert placed == {"v60 recipe": brewing.pk, "chemex ratio": brewing.pk,
                      "best burr grinder": grinders.pk}  # fmt: skip
    assert set(Keyword.objects.filter(site=site).values_list("status", flat=True)) == {
        Keyword.Status.CLUSTERED
    }


def test_a_failed_keywords_error_is_cleared_once_it_is_placed(site: Site) -> None:
    (keyword,) = add_keywords(site, ["aeropress recipe"])
    Keyword.objects.filter(pk=keyword.pk).update(attempts=2, last_error="timeout")

    clusters_assign(
        site_id=site.pk,
        keyword_ids=(keyword.pk,),
        groups=[KeywordGroup(keyword_ids=(keyword.pk,), name="Aeropress")],
        provenance=PROVENANCE,
    )

    keyword.refresh_from_db()
    assert keyword.last_error == ""
    assert keyword.status == Keyword.Status.CLUSTERED


def test_names_are_sanitized_and_an_empty_name_gets_a_placeholder(site: Site) -> None:
    a, b = add_keywords(site, ["cold brew ratio", "french press grind"])

    clusters_assign(
        site_id=site.pk,
        keyword_ids=ids([a, b]),
        groups=[
            KeywordGroup(
                keyword_ids=(a.pk,),
                name="<script>alert(1)</script><b>Cold</b>   brew",
                description="<img src=x onerror=alert(1)>Ratios",
            ),
            KeywordGroup(keyword_ids=(b.pk,), name="<i></i>  "),
        ],
        provenance=PROVENANCE,
    )

    names = set(Cluster.objects.filter(site=site).values_list("name", "description"))
    assert names == {("Cold brew", "Ratios"), ("Untitled cluster", "")}


def test_an_existing_cluster_of_another_site_is_not_joined_a_new_one_is_made(
    site: Site, account: Account
) -> None:
    other = site_create(account=account, name="other")
    foreign = Cluster.objects.create(site=other, name="Elsewhere")
    (keyword,) = add_keywords(site, ["moka pot"])

    created = clusters_assign(
        site_id=site.pk,
        keyword_ids=(keyword.pk,),
        groups=[
            KeywordGroup(keyword_ids=(keyword.pk,), name="Moka", existing_cluster_id=foreign.pk)
        ],
        provenance=PROVENANCE,
    )

    assert created == 1
    keyword.refresh_from_db()
    assert keyword.cluster is not None
    assert keyword.cluster.site_id == site.pk
    assert keyword.cluster.name == "Moka"
    assert not foreign.keywords.exists()


@pytest.mark.parametrize(
    "placed",
    [
        pytest.param(lambda a, b: [(a,)], id="a keyword left out"),
        pytest.param(lambda a, b: [(a, b), (b,)], id="a keyword placed twice"),
        pytest.param(lambda a, b: [(a, b, a + b)], id="a keyword not in the batch"),
    ],
)
def test_a_batch_not_placed_exactly_once_is_refused_whole(
    site: Site, placed: Callable[[int, int], list[tuple[int, ...]]]
) -> None:
    a, b = add_keywords(site, ["pour over kettle", "gooseneck kettle"])
    groups = [
        KeywordGroup(keyword_ids=group, name=f"Group {n}")
        for n, group in enumerate(placed(a.pk, b.pk))
    ]

    with pytest.raises(ValueError, match="exactly once"):
        clusters_assign(
            site_id=site.pk, keyword_ids=(a.pk, b.pk), groups=groups, provenance=PROVENANCE
        )

    assert not Cluster.objects.filter(site=site).exists()
    assert not Keyword.objects.filter(site=site).exclude(status=Keyword.Status.NEW).exists()


def test_a_keyword_clustered_meanwhile_makes_the_item_gone_and_nothing_is_kept(
    site: Site,
) -> None:
    a, b = add_keywords(site, ["espresso grind size", "espresso tamper"])
    elsewhere = Cluster.objects.create(site=site, name="Espresso")
    Keyword.objects.filter(pk=b.pk).update(status=Keyword.Status.CLUSTERED, cluster=elsewhere)

    with pytest.raises(ItemGone), transaction.atomic():
        clusters_assign(
            site_id=site.pk,
            keyword_ids=(a.pk, b.pk),
            groups=[KeywordGroup(keyword_ids=(a.pk, b.pk), name="New espresso")],
            provenance=PROVENANCE,
        )

    assert list(Cluster.objects.filter(site=site).values_list("name", flat=True)) == ["Espresso"]
    a.refresh_from_db()
    assert a.status == Keyword.Status.NEW and a.cluster_id is None


def test_a_keyword_of_another_site_is_never_moved(site: Site, account: Account) -> None:
    other = site_create(account=account, name="other")
    (theirs,) = add_keywords(other, ["not yours"])

    with pytest.raises(ItemGone), transaction.atomic():
        clusters_assign(
            site_id=site.pk,
            keyword_ids=(theirs.pk,),
            groups=[KeywordGroup(keyword_ids=(theirs.pk,), name="Taken")],
            provenance=PROVENANCE,
        )

    theirs.refresh_from_db()
    assert theirs.status == Keyword.Status.NEW
    assert not Cluster.objects.exists()
