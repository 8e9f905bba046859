"""Stage 1's write: a batch of keywords placed into clusters, new or existing."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction

from inkline.core.errors import ItemGone
from inkline.core.text import sanitize_text
from inkline.planner.models import Cluster, Keyword
from inkline.planner.selectors import KEYWORDS_OPEN


@dataclass(frozen=True)
class KeywordGroup:
    """Keywords that belong together: into the existing cluster `existing_cluster_id`, or
    into a new cluster called `name` (also when that cluster is not one of the site's)."""

    keyword_ids: tuple[int, ...]
    name: str
    description: str = ""
    existing_cluster_id: int | None = None
    intent: str = ""  # recorded in a new cluster's provenance when given


def clusters_assign(
    *,
    site_id: int,
    keyword_ids: Collection[int],
    groups: Sequence[KeywordGroup],
    provenance: Mapping[str, object],
) -> int:
    """Place every keyword of a batch (`keyword_ids`) into its group's cluster, creating the
    new clusters (names sanitized); returns how many were created.

    Raises `ValueError` when the groups do not place every keyword of the batch exactly once
    (the answer cannot be stored as it is), and `ItemGone` when a keyword is no longer waiting
    for a cluster: either way nothing may be kept, so call it inside the item's transaction."""
    assigned = [k for group in groups for k in group.keyword_ids]
    if sorted(assigned) != sorted(keyword_ids):
        raise ValueError("the clustering result does not place every keyword exactly once")
    wanted = [g.existing_cluster_id for g in groups if g.existing_cluster_id]
    existing = set(
        Cluster.objects.filter(site_id=site_id, pk__in=wanted).values_list("id", flat=True)
    )
    created = 0
    with transaction.atomic(savepoint=False):
        for group in groups:
            cluster_id = group.existing_cluster_id
            if cluster_id not in existing:
                cluster = Cluster.objects.create(
                    site_id=site_id,
                    name=sanitize_text(group.name)[:255] or "Untitled cluster",
                    description=sanitize_text(group.description),
                    provenance=(
                        {**provenance, "intent": group.intent} if group.intent else dict(provenance)
                    ),
                )
                cluster_id = cluster.pk
                created += 1
            moved = Keyword.objects.filter(
                KEYWORDS_OPEN, pk__in=group.keyword_ids, site_id=site_id
            ).update(status=Keyword.Status.CLUSTERED, cluster_id=cluster_id, last_error="")
            if moved != len(group.keyword_ids):
                raise ItemGone
    return created
