"""Content ideas: stage 2 writes a cluster's ideas; stage 3 marks an idea queued."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction

from inkline.core.errors import ItemGone
from inkline.core.text import has_words, sanitize_text
from inkline.planner.models import Cluster, ContentIdea, normalize_phrase
from inkline.planner.selectors import CLUSTERS_OPEN, IDEAS_OPEN


@dataclass(frozen=True)
class IdeaDraft:
    """An idea as the AI proposed it (unsanitized)."""

    title: str
    primary_keyword: str
    target_keywords: tuple[str, ...]
    content_type: str
    content_structure: str
    outline: tuple[str, ...]


@dataclass(frozen=True)
class IdeasCreated:
    created: int
    skipped: tuple[str, ...] = ()  # why each idea that was not kept was skipped, in words


def ideas_create(
    *,
    site_id: int,
    cluster_id: int,
    ideas: Sequence[IdeaDraft],
    provenance: Mapping[str, object],
) -> IdeasCreated:
    """Store a cluster's ideas (sanitized) and mark the cluster done. No cannibalization: an
    idea whose primary keyword another idea of the site already targets is skipped, with the
    reason. Raises `ItemGone` when the cluster no longer waits for ideas."""
    with transaction.atomic(savepoint=False):
        if not Cluster.objects.filter(CLUSTERS_OPEN, pk=cluster_id, site_id=site_id).update(
            status=Cluster.Status.IDEAS, last_error=""
        ):
            raise ItemGone
        taken = {
            normalize_phrase(p)
            for p in ContentIdea.objects.filter(site_id=site_id).values_list(
                "primary_keyword", flat=True
            )
        }
        rows = []
        skipped: list[str] = []
        for idea in ideas:
            keyword = sanitize_text(idea.primary_keyword)
            if not has_words(keyword):
                skipped.append(
                    f"Idea '{sanitize_text(idea.title)}' skipped: its primary keyword has no "
                    "letters or digits once markup is removed."
                )
                continue
            key = normalize_phrase(idea.primary_keyword)
            if key in taken:
                skipped.append(
                    f"Idea '{sanitize_text(idea.title)}' skipped: another idea of this site "
                    "already targets the primary keyword "
                    f"'{sanitize_text(idea.primary_keyword)}'."
                )
                continue
            taken.add(key)
            rows.append(
                ContentIdea(
                    site_id=site_id,
                    cluster_id=cluster_id,
                    title=sanitize_text(idea.title)[:255],
                    primary_keyword=keyword[:255],
                    target_keywords=[sanitize_text(k) for k in idea.target_keywords],
                    content_type=idea.content_type[:30],
                    content_structure=idea.content_structure[:30],
                    outline=[sanitize_text(h) for h in idea.outline],
                    provenance=dict(provenance),
                )
            )
        ContentIdea.objects.bulk_create(rows)
    return IdeasCreated(created=len(rows), skipped=tuple(skipped))


def idea_queue(*, site_id: int, idea_id: int, note: str = "") -> None:
    """Take an idea out of stage 3's pending set: it is queued as a writing task, or `note`
    says why it got none. Raises `ItemGone` when the idea is no longer new."""
    fields: dict[str, str] = {"status": ContentIdea.Status.QUEUED}
    if note:
        fields["last_error"] = note
    if not ContentIdea.objects.filter(IDEAS_OPEN, pk=idea_id, site_id=site_id).update(**fields):
        raise ItemGone
