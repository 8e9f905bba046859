"""Stage 1, Keywords → Clusters: batches of new keywords grouped into topic clusters."""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.db.models import QuerySet

from inkline.ai.types import AIProvider, ClusterResult, ExistingCluster, KeywordIn, Usage
from inkline.automation.stages.base import Committed, Stage, WorkItem
from inkline.planner.models import Cluster, Keyword
from inkline.planner.selectors import (
    CLUSTER_MEMBERS,
    KEYWORDS_OPEN,
    cluster_members,
    keywords_pending,
)
from inkline.planner.services import KeywordGroup, clusters_assign

__all__ = ["CLUSTER_MEMBERS", "ClusterBatch", "ClusterStage"]


class ClusterBatch(NamedTuple):
    keywords: list[KeywordIn]
    existing: list[ExistingCluster]  # the site's clusters, each with its oldest keywords


class ClusterStage(Stage[Keyword, ClusterBatch, ClusterResult]):
    number = 1
    name = "Keywords → Clusters"
    noun = "keywords"
    typical_seconds = 0.15
    yields = 0.11
    description = "Keywords not yet in a cluster. Stage 1 groups them into topic clusters."
    limit_field = "max_keywords_per_run"
    operation = "clustering"
    sequential = True  # each batch is placed among the clusters the previous ones made
    typical_usage = Usage(calls=0, items=1, prompt_tokens=10, completion_tokens=5)
    model = Keyword
    unfinished = KEYWORDS_OPEN

    def pending(self, site_id: int) -> QuerySet[Keyword]:
        return keywords_pending(site_id=site_id)

    def batch_size(self) -> int:
        return max(1, settings.INKLINE_CLUSTER_BATCH)

    def next_item(
        self, site_id: int, exclude: set[int], room: int | None
    ) -> WorkItem[ClusterBatch] | None:
        size = (
            settings.INKLINE_CLUSTER_BATCH
            if room is None
            else min(room, settings.INKLINE_CLUSTER_BATCH)
        )
        rows = list(
            self.pending(site_id)
            .exclude(pk__in=exclude)
            .values_list("id", "phrase", "volume", "intent")[:size]
        )
        if not rows:
            return None
        keywords = [KeywordIn(id=r[0], phrase=r[1], volume=r[2], intent=r[3]) for r in rows]
        return self._batch(site_id, keywords)

    def build(self, obj: Keyword) -> WorkItem[ClusterBatch]:
        keyword = KeywordIn(id=obj.pk, phrase=obj.phrase, volume=obj.volume, intent=obj.intent)
        return self._batch(obj.site_id, [keyword])

    def _batch(self, site_id: int, keywords: list[KeywordIn]) -> WorkItem[ClusterBatch]:
        members: dict[int, list[str]] = {}
        for cluster_id, phrase in cluster_members(site_id=site_id):
            members.setdefault(cluster_id, []).append(phrase)
        existing = [
            ExistingCluster(id=cid, name=name, keywords=tuple(members.get(cid, ())))
            for cid, name in Cluster.objects.filter(site_id=site_id).values_list("id", "name")
        ]
        return WorkItem(
            ids=tuple(k.id for k in keywords),
            payload=ClusterBatch(keywords, existing),
            label=f"{len(keywords)} keywords",
            size=len(keywords),
        )

    def call(self, provider: AIProvider, item: WorkItem[ClusterBatch]) -> ClusterResult:
        return provider.cluster_keywords(item.payload.keywords, item.payload.existing)

    def commit(
        self, site_id: int, item: WorkItem[ClusterBatch], result: ClusterResult
    ) -> Committed:
        created = clusters_assign(
            site_id=site_id,
            keyword_ids=item.ids,
            groups=[
                KeywordGroup(
                    keyword_ids=tuple(a.keyword_ids),
                    name=a.name,
                    description=a.description,
                    existing_cluster_id=a.existing_cluster_id,
                    intent=a.intent,
                )
                for a in result.assignments
            ],
            provenance=result.provenance.as_dict(result.usage),
        )
        quality = {
            name: float(value)
            for name, value in (
                ("silhouette", result.silhouette),
                ("singleton_share", result.singleton_share),
            )
            if value is not None
        }
        return Committed(created=created, quality=quality)
