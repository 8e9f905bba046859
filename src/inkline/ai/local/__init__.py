"""The offline, deterministic `local` AI provider.

No network and no database: every answer is computed from the input alone. Clustering is real
(`inkline.planner.clustering`: TF-IDF over word and character n-grams, or sentence embeddings,
then agglomerative clustering); ideas, articles and image prompts are assembled from templates
seeded by a hash of the input; images are real PNGs drawn with Pillow. Optional latency and
seeded transient failures let demos, tests and benchmarks behave like a remote model.

`provider.py` holds `LocalProvider`; `ideas.py`, `articles.py`, `image_prompts.py` and
`images.py` hold what it answers with, `text.py` the helpers they share.
"""

from inkline.ai.local.provider import PROVENANCE, LocalProvider

__all__ = ["PROVENANCE", "LocalProvider"]
