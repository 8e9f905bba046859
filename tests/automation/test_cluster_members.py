"""Stage 1 sends each existing cluster with its oldest keywords, read in one query whatever the
number of clusters, and the semantic clusterer uses them to place new keywords."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inkline.accounts.models import Account, Site
from inkline.ai.registry import reset_providers
from inkline.ai.types import ExistingCluster
from inkline.automation.sites import site_create
from inkline.automation.stages import CLUSTER_MEMBERS, ClusterStage
from inkline.planner.clustering import semantic
from inkline.planner.models import Cluster, Keyword, normalize_phrase
from tests.factories import add_keywords, only_stages, run_now

pytestmark = pytest.mark.django_db


def add_cluster(site: Site, name: str, phrases: list[str]) -> Cluster:
    cluster = Cluster.objects.create(site=site, name=name)
    Keyword.objects.bulk_create(
        Keyword(
            site=site,
            phrase=p,
            normalized=normalize_phrase(p),
            cluster=cluster,
            status=Keyword.Status.CLUSTERED,
        )
        for p in phrases
    )
    return cluster


def existing_of(site: Site) -> dict[str, ExistingCluster]:
    item = ClusterStage().next_item(site.pk, set(), None)
    assert item is not None
    _, existing = item.payload
    return {c.name: c for c in existing}


def test_each_existing_cluster_comes_with_its_oldest_keywords(site: Site, account: Account) -> None:
    big = add_cluster(site, "Grinders", [f"burr grinder model {n}" for n in range(25)])
    add_cluster(site, "Kettles", ["gooseneck kettle", "kettle for pour over"])
    Cluster.objects.create(site=site, name="Empty")
    other = site_create(account=account, name="other")
    add_cluster(other, "Elsewhere", ["not this site's keyword"])
    add_keywords(site, ["espresso grinder"])

    existing = existing_of(site)

    assert set(existing) == {"Grinders", "Kettles", "Empty"}
    assert existing["Grinders"].id == big.pk
    assert existing["Grinders"].keywords == tuple(
        f"burr grinder model {n}" for n in range(CLUSTER_MEMBERS)
    )
    assert existing["Kettles"].keywords == ("gooseneck kettle", "kettle for pour over")
    assert existing["Empty"].keywords == ()


def test_the_members_take_one_query_with_2_or_50_clusters(
    site: Site, account: Account, django_assert_max_num_queries: Any
) -> None:
    add_keywords(site, ["espresso grinder"])
    for n in range(2):
        add_cluster(site, f"Topic {n}", [f"topic {n} keyword {k}" for k in range(25)])
    with CaptureQueriesContext(connection) as two:
        assert len(existing_of(site)) == 2
    for n in range(2, 50):
        add_cluster(site, f"Topic {n}", [f"topic {n} keyword {k}" for k in range(25)])

    with django_assert_max_num_queries(len(two.captured_queries)):
        existing = existing_of(site)

    assert len(existing) == 50
    assert all(len(c.keywords) == CLUSTER_MEMBERS for c in existing.values())
    assert existing["Topic 49"].keywords[0] == "topic 49 keyword 0"


def test_a_keyword_close_to_an_existing_clusters_keywords_joins_it_through_the_engine(
    site: Site, settings: Any
) -> None:
    assert semantic.available(), "the semantic extra is part of the dev install"
    settings.INKLINE_LOCAL_AI_CLUSTERER = "semantic"
    reset_providers()
    try:
        brewing = add_cluster(
            site,
            "Brewing",
            ["v60 recipe", "chemex ratio", "pour over bloom time", "kalita wave grind"],
        )
        training = add_cluster(
            site, "Training", ["puppy crate training", "stop leash pulling", "teach a dog to sit"]
        )
        members = dict(Keyword.objects.filter(site=site).values_list("phrase", "cluster_id"))
        add_keywords(site, ["hario v60 water temperature", "puppy biting how to stop"])
        only_stages(site, 1)

        run = run_now(site)

        assert run.status == "completed", run.error_message
        clusters = dict(Keyword.objects.filter(site=site).values_list("phrase", "cluster_id"))
        assert clusters["hario v60 water temperature"] == brewing.pk
        assert clusters["puppy biting how to stop"] == training.pk
        assert {p: clusters[p] for p in members} == members
        assert Cluster.objects.filter(site=site).count() == 2
        assert run.stage_results["1"]["created"] == 0
    finally:
        reset_providers()
