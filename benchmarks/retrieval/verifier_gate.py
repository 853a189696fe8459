"""Does a Chinese query need its second encoder? The verifier (USE) never changes the ranking, only
the top hit's confidence; this measures, on the cached eval sets (full KB and left-out folds), how
the decisions read off that confidence change when the verifier runs only for queries whose
unverified confidence falls in a band [lo, hi] around the decision points.

    python benchmarks/retrieval/verifier_gate.py

Per band: the share of verifier-eligible queries that skip it, and against "always verify": the
"in the knowledge base" decision (search's answerable threshold), the chat's no-answer decision and
the verbatim-answer decision flipped, and kept / flagged on the folds.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.retrieval.fusion import DEFAULT_WEIGHTS  # noqa: E402
from app.settings import Settings  # noqa: E402
from benchmarks.retrieval import tune  # noqa: E402

BANDS = [(0.0, 1.0), (0.05, 0.98), (0.1, 0.95), (0.15, 0.9), (0.2, 0.9), (0.25, 0.85), (1.0, 0.0)]


def main() -> None:
    s = Settings(_env_file=None)
    ans, na, direct = s.retrieval_answerable_threshold_zh, s.no_answer_threshold, s.faq_direct_threshold
    unverified = {g: {**w, "verify": 0} for g, w in DEFAULT_WEIGHTS.items()}
    print(f"thresholds: answerable(zh) {ans}, no-answer {na}, verbatim {direct}")
    print("| set | band [lo, hi] | eligible queries | verifier skipped | answerable flips | no-answer flips | verbatim flips | kept (answerable, folds) | flagged (unanswerable, folds) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for sc in tune.scorers():
        runs_v = sc.full() + sc.folded()
        runs_u = sc.full(weights=unverified) + sc.folded(weights=unverified)
        pairs = [(v, u) for v, u in zip(runs_v, runs_u, strict=True) if v.features.get("verified")]
        for lo, hi in BANDS:
            skip = flips_a = flips_n = flips_d = 0
            kept = flagged = n_pos = n_neg = 0
            for v, u in pairs:
                use_u = not (lo <= u.confidence <= hi)
                c = u.confidence if use_u else v.confidence
                skip += use_u
                flips_a += (c >= ans) != (v.confidence >= ans)
                flips_n += (c >= na) != (v.confidence >= na)
                flips_d += (c >= direct and v.top_kind == "faq") != (v.confidence >= direct and v.top_kind == "faq")
                if v.fold >= 0 and v.qkind != "none":
                    if v.answerable:
                        n_pos += 1
                        kept += c >= ans
                    else:
                        n_neg += 1
                        flagged += c < ans
            n = len(pairs)
            label = "always verify" if (lo, hi) == (0.0, 1.0) else "never verify" if lo > hi else f"[{lo}, {hi}]"
            print(f"| {sc.es.name} | {label} | {n} | {skip / max(n, 1):.2f} | {flips_a} | {flips_n} | {flips_d} | "
                  f"{kept / max(n_pos, 1):.3f} | {flagged / max(n_neg, 1):.3f} |", flush=True)


if __name__ == "__main__":
    main()
