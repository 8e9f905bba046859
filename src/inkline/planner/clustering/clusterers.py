"""The clusterers a name selects (`INKLINE_LOCAL_AI_CLUSTERER`)."""

from __future__ import annotations

import logging

from inkline.planner.clustering import semantic
from inkline.planner.clustering.lexical import LEXICAL
from inkline.planner.clustering.types import Grouping

# How the local provider groups keywords: "lexical" (TF-IDF, always available) or "semantic"
# (sentence embeddings; needs the optional `inkline[semantic]` extra, else lexical is used).
CLUSTERERS = ("lexical", "semantic")
log = logging.getLogger(__name__)


def clusterer_grouping(clusterer: str) -> Grouping:
    """The grouping a clusterer name stands for. "semantic" falls back to lexical, with a
    warning, when its optional packages are not installed."""
    if clusterer == "semantic":
        if semantic.available():
            return semantic.SEMANTIC
        log.warning(
            "semantic clustering needs `pip install inkline[semantic]`; clustering lexically"
        )
    return LEXICAL
