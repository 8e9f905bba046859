"""The clusterers a name selects (`INKLINE_LOCAL_AI_CLUSTERER`)."""

from __future__ import annotations

import logging

from inkline.planner.clustering import semantic
from inkline.planner.clustering.lexical import LEXICAL
from inkline.planner.clustering.types import Grouping

# How keywords are grouped: "semantic" (the default: sentence embeddings of all-MiniLM-L6-v2,
# lexical when the model cannot be loaded) or "lexical" (TF-IDF, always available).
CLUSTERERS = ("semantic", "lexical")
DEFAULT_CLUSTERER = "semantic"
log = logging.getLogger(__name__)


def clusterer_grouping(clusterer: str) -> Grouping:
    """The grouping a clusterer name stands for. "semantic" falls back to lexical, with a
    warning naming the reason, when the model cannot be loaded (the clusters' provenance then
    names the lexical clusterer)."""
    if clusterer == "semantic":
        reason = semantic.unavailable()
        if reason is None:
            return semantic.SEMANTIC
        log.warning("semantic clustering unavailable (%s); clustering lexically", reason)
    return LEXICAL
