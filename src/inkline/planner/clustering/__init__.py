"""Keyword clustering: pure functions from phrases to groups, no database and no Django.

`group_keywords(keywords, existing, grouping)` places a batch of `NewKeyword`s, given the
`KnownCluster`s made earlier, and returns the `Group`s with the quality of the grouping. A
`Grouping` says how: `semantic.SEMANTIC` (sentence embeddings, `semantic.py`, the model run in
numpy by `minilm.py`; the default) or `LEXICAL` (TF-IDF, `lexical.py`, the fallback);
`clusterer_grouping(name)` picks one by the name the `INKLINE_LOCAL_AI_CLUSTERER` setting uses.
Inside: `text.py` reads phrases, `grouping.py` links vectors into groups and joins existing
clusters, `naming.py` names and describes new clusters, `quality.py` measures a grouping,
`vectors.py` holds vector helpers.
"""

from inkline.planner.clustering.clusterers import (
    CLUSTERERS,
    DEFAULT_CLUSTERER,
    clusterer_grouping,
)
from inkline.planner.clustering.grouping import EXISTING_SAMPLE, group_keywords
from inkline.planner.clustering.lexical import LEXICAL
from inkline.planner.clustering.types import Group, Grouped, Grouping, KnownCluster, NewKeyword

__all__ = [
    "CLUSTERERS",
    "DEFAULT_CLUSTERER",
    "EXISTING_SAMPLE",
    "LEXICAL",
    "Group",
    "Grouped",
    "Grouping",
    "KnownCluster",
    "NewKeyword",
    "clusterer_grouping",
    "group_keywords",
]
