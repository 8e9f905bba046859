"""Stage 2, Clusters → Ideas: content ideas written for each new cluster."""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import QuerySet

from inkline.ai.types import AIProvider, IdeasResult, KeywordIn, Usage
from inkline.automation.stages.base import Committed, Stage, WorkItem
from inkline.planner.models import Cluster
from inkline.planner.selectors import CLUSTERS_OPEN, clusters_pending
from inkline.planner.services import IdeaDraft, ideas_create

# The cluster's keywords sent with it (the largest volumes first).
BRIEF_KEYWORDS = 50


class IdeaBrief(NamedTuple):
    cluster_name: str
    keywords: list[KeywordIn]


class IdeaStage(Stage[Cluster, IdeaBrief, IdeasResult]):
    number = 2
    name = "Clusters → Ideas"
    noun = "clusters"
    typical_seconds = 3.0
    yields = 2.5
    description = "Clusters that have no content ideas yet. Stage 2 writes ideas for each."
    limit_field = "max_clusters_per_run"
    operation = "idea_generation"
    typical_usage = Usage(calls=1, items=1, prompt_tokens=400, completion_tokens=600)
    model = Cluster
    unfinished = CLUSTERS_OPEN

    def pending(self, site_id: int) -> QuerySet[Cluster]:
        return clusters_pending(site_id=site_id)

    def build(self, obj: Cluster) -> WorkItem[IdeaBrief]:
        keywords = [
            KeywordIn(id=k[0], phrase=k[1], volume=k[2], intent=k[3])
            for k in obj.keywords.order_by("-volume", "id").values_list(
                "id", "phrase", "volume", "intent"
            )[:BRIEF_KEYWORDS]
        ]
        return WorkItem(
            ids=(obj.pk,), payload=IdeaBrief(obj.name, keywords), label=f"cluster '{obj.name}'"
        )

    def call(self, provider: AIProvider, item: WorkItem[IdeaBrief]) -> IdeasResult:
        return provider.generate_ideas(item.payload.cluster_name, item.payload.keywords)

    def commit(self, site_id: int, item: WorkItem[IdeaBrief], result: IdeasResult) -> Committed:
        (cluster_id,) = item.ids
        created = ideas_create(
            site_id=site_id,
            cluster_id=cluster_id,
            ideas=[
                IdeaDraft(
                    title=idea.title,
                    primary_keyword=idea.primary_keyword,
                    target_keywords=tuple(idea.target_keywords),
                    content_type=idea.content_type,
                    content_structure=idea.content_structure,
                    outline=tuple(idea.outline),
                )
                for idea in result.ideas
            ],
            provenance=result.provenance.as_dict(result.usage),
        )
        events = tuple(("idea_skipped", message) for message in created.skipped)
        return Committed(created=created.created, events=events)
