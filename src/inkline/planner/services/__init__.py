"""Planner writes, by sub-domain: keyword import, clustering (stage 1), ideas (stages 2, 3)."""

from inkline.planner.services.clusters import KeywordGroup, clusters_assign
from inkline.planner.services.ideas import IdeaDraft, IdeasCreated, idea_queue, ideas_create
from inkline.planner.services.keywords import (
    ImportReport,
    keywords_import_csv,
    keywords_import_rows,
)

__all__ = [
    "IdeaDraft",
    "IdeasCreated",
    "ImportReport",
    "KeywordGroup",
    "clusters_assign",
    "idea_queue",
    "ideas_create",
    "keywords_import_csv",
    "keywords_import_rows",
]
