"""The intent rules (app/answering/intents.py) on the labelled set app/answering/intent_examples.jsonl
(written without sight of the rules): per intent and language, precision and recall with Wilson 95%
intervals, overall accuracy, the mistakes listed (dev half only by default), and the time per message.

    python benchmarks/conversations/intents_eval.py [--half dev|test|all] [--no-mistakes]

The set is split by id number for held-out work: odd ids (i-0001, i-0003, ...) are the DEV half the
rules may be tuned on, even ids the TEST half that is only measured. The test half's mistakes are not
listed unless --show-test-mistakes is given, so tuning cannot look at them by accident.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.answering.intents import detect_intent
from app.lang import warm_up
from benchmarks.retrieval.eval_packs import wilson

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


def _half(row_id: str) -> str:
    """The half a row is in: dev for an odd id number (i-0001), test for an even one (i-0002)."""
    return "dev" if int(row_id.rsplit("-", 1)[1]) % 2 else "test"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--half", choices=("dev", "test", "all"), default="all", help="odd ids: dev, even ids: test"
    )
    ap.add_argument("--no-mistakes", action="store_true", help="do not list the mistakes")
    ap.add_argument("--show-test-mistakes", action="store_true", help="list mistakes of the test half too")
    args = ap.parse_args(argv)
    rows = [
        json.loads(x)
        for x in (ROOT / "app/answering/intent_examples.jsonl").read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    if args.half != "all":
        rows = [r for r in rows if _half(r["id"]) == args.half]
    # the test half is held out: its mistakes are listed only on request (with --half all too)
    listed = (
        [r for r in rows if args.show_test_mistakes or _half(r["id"]) == "dev"]
        if not args.no_mistakes
        else []
    )
    print(f"half: {args.half} ({len(rows)} rows)")
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
    shown = {id(r) for r in listed}
    mistakes = [(p, r) for p, r in zip(preds, rows, strict=True) if p != r["intent"] and id(r) in shown]
    if not listed:
        print(f"\n{len(rows) - ok} mistakes (not listed)")
        return
    hidden = len(rows) - ok - len(mistakes)
    confusion = Counter((r["intent"], p) for p, r in mistakes)
    print(
        f"\nmistakes (gold -> predicted){f', {hidden} of the test half not listed' if hidden else ''}:",
        dict(confusion),
    )
    for p, r in mistakes:
        print(f"  {r['id']} [{r['lang']}] {r['text']!r}: {r['intent']} -> {p}")


if __name__ == "__main__":
    main()
