"""The lexical grouping: TF-IDF of content words and character n-grams, average linkage on
cosine distance. Needs nothing beyond scikit-learn; fast, but blind to topics whose keywords
share no word."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from inkline.planner.clustering.text import fold_phrase
from inkline.planner.clustering.types import MEMBERS_IN_LINKAGE, Grouping

# Average cosine distance under which groups merge. Short phrases share few n-grams, so even
# same-topic keywords sit far apart; tuned on labelled keyword lists (see tests/ai).
CLUSTER_DISTANCE = 0.9
# Cosine similarity of a group's centroid to an existing cluster's above which it joins it.
EXISTING_SIMILARITY = 0.3
# Share of the word features in the combined vector; the rest are character n-grams.
WORD_WEIGHT = 0.5


def _tfidf(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> sparse.csr_matrix:
    try:
        return vectorizer.fit_transform(docs)
    except ValueError:  # empty vocabulary: nothing but blanks
        return sparse.csr_matrix((len(docs), 1))


def _vectorize(docs: Sequence[str]) -> sparse.csr_matrix:
    """Unit rows whose dot product is WORD_WEIGHT x word-1/2-gram cosine + the rest x
    char_wb-3..5-gram cosine: words carry the topic, characters catch word forms and typos."""
    words = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    combined = sparse.hstack(
        [
            _tfidf(words, docs) * math.sqrt(WORD_WEIGHT),
            _tfidf(chars, docs) * math.sqrt(1.0 - WORD_WEIGHT),
        ],
        format="csr",
    )
    return l2_normalize(combined)


def lexical_vectors(phrases: Sequence[str]) -> sparse.csr_matrix:
    return _vectorize([fold_phrase(phrase) for phrase in phrases])


# The default grouping: TF-IDF of content words and character n-grams, average linkage.
LEXICAL = Grouping(
    name="lexical",
    vectorize=lexical_vectors,
    linkage="average",
    threshold=CLUSTER_DISTANCE,
    existing_similarity=EXISTING_SIMILARITY,
    members_in_linkage=MEMBERS_IN_LINKAGE,
)
