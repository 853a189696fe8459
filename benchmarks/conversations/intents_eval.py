"""The intent rules (app/answering/intents.py) on the labelled set evals/datasets/intents.jsonl
(written without sight of the rules): per intent and language, precision and recall with Wilson 95%
intervals, overall accuracy, every mistake listed, and the time per message.

    python benchmarks/conversations/intents_eval.py
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.answering.intents import detect_intent  # noqa: E402
from app.lang import warm_up  # noqa: E402
from benchmarks.retrieval.eval_packs import wilson  # noqa: E402

INTENTS = ("greeting", "thanks", "goodbye", "human", "not_helpful", "none")


def predict(text: str) -> str:
    m = detect_intent(text)
    if m is None:
        return "none"
    # a social phrase in front of a question: the question is answered, so the message is "none"
    if m.intent in ("greeting", "thanks", "goodbye") and m.rest.strip():
        return "none"
    return m.intent


def _ci(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n if n else float('nan'):.3f} [{lo:.2f}, {hi:.2f}]"


def main() -> None:
    rows = [json.loads(x) for x in (ROOT / "evals/datasets/intents.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    warm_up()
    t0 = time.perf_counter()
    preds = [predict(r["text"]) for r in rows]
    per_ms = (time.perf_counter() - t0) * 1000 / len(rows)
    ok = sum(p == r["intent"] for p, r in zip(preds, rows, strict=True))
    print(f"intent accuracy {_ci(ok, len(rows))}; {per_ms:.3f} ms per message")
    for lang in ("en", "zh-Hans", "zh-Hant"):
        idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
        print(f"  {lang:8s} accuracy {_ci(sum(preds[i] == rows[i]['intent'] for i in idx), len(idx))}")
    print(f"\n{'intent':12s} {'precision':32s} recall")
    for it in INTENTS:
        tp = sum(p == it and r["intent"] == it for p, r in zip(preds, rows, strict=True))
        print(f"{it:12s} {_ci(tp, preds.count(it)):32s} {_ci(tp, sum(r['intent'] == it for r in rows))}")
    confusion = Counter((r["intent"], p) for p, r in zip(preds, rows, strict=True) if p != r["intent"])
    print("\nmistakes (gold -> predicted):", dict(confusion))
    for p, r in zip(preds, rows, strict=True):
        if p != r["intent"]:
            print(f"  {r['id']} [{r['lang']}] {r['text']!r}: {r['intent']} -> {p}")


if __name__ == "__main__":
    main()
