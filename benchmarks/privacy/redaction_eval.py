"""PII redaction (app/privacy/redact.py) on the labelled set evals/datasets/pii.jsonl: per type,
precision and recall with Wilson 95% intervals, exact-span rate, the mistakes, and the time per
message.

    python benchmarks/privacy/redaction_eval.py [--dataset PATH] [--no-mistakes]

A finding counts as right when it overlaps a labelled span of the same type (a placeholder that
covers a phone number but also its "+" or a bracket is still a redacted phone); "exact" says how
many matched the labelled span character for character. A labelled span no finding of its type
overlaps is a miss (a leak, once stored)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.privacy.redact import TYPES, Redactor, Span
from benchmarks.retrieval.eval_packs import wilson

DATASET = ROOT / "evals" / "datasets" / "pii.jsonl"


@dataclass
class Counts:
    found: int = 0  # findings of this type
    found_right: int = 0  # ... that overlap a labelled span of this type
    labelled: int = 0
    labelled_found: int = 0  # labelled spans a finding of this type overlaps
    exact: int = 0
    mistakes: list = field(default_factory=list)

    def precision(self) -> tuple[float, float, float]:
        return _rate(self.found_right, self.found)

    def recall(self) -> tuple[float, float, float]:
        return _rate(self.labelled_found, self.labelled)


def _rate(k: int, n: int) -> tuple[float, float, float]:
    lo, hi = wilson(k, n)
    return (k / n if n else float("nan"), lo, hi)


def _overlap(a: Span, b: dict) -> bool:
    return a.start < b["end"] and b["start"] < a.end


def load(path: Path = DATASET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(rows: list[dict], redactor: Redactor | None = None) -> tuple[dict[str, Counts], float]:
    """Counts per type (and "ALL"), and the mean milliseconds per message."""
    redactor = redactor or Redactor()
    counts = {t: Counts() for t in (*TYPES, "ALL")}
    started = time.perf_counter()
    for row in rows:
        text, gold = row["text"], row["spans"]
        found = redactor.find(text)
        for f in found:
            right = any(_overlap(f, g) and g["type"] == f.type for g in gold)
            for c in (counts[f.type], counts["ALL"]):
                c.found += 1
                c.found_right += right
                c.exact += right and any((g["start"], g["end"]) == (f.start, f.end) for g in gold)
            if not right:
                counts[f.type].mistakes.append(
                    f"{row['id']} false {f.type} {text[f.start : f.end]!r} in {text!r}"
                )
        for g in gold:
            hit = any(_overlap(f, g) and g["type"] == f.type for f in found)
            for c in (counts[g["type"]], counts["ALL"]):
                c.labelled += 1
                c.labelled_found += hit
            if not hit:
                counts[g["type"]].mistakes.append(
                    f"{row['id']} missed {g['type']} {text[g['start'] : g['end']]!r} in {text!r}"
                )
    per_message_ms = (time.perf_counter() - started) * 1000 / max(1, len(rows))
    return counts, per_message_ms


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=DATASET)
    ap.add_argument("--no-mistakes", action="store_true")
    args = ap.parse_args(argv)
    rows = load(args.dataset)
    counts, ms = evaluate(rows)
    hard = sum(1 for r in rows if r.get("hard_negative"))
    print(f"{args.dataset.name}: {len(rows)} messages ({hard} hard negatives), "
          f"{counts['ALL'].labelled} labelled spans; {ms:.3f} ms per message")  # fmt: skip
    print(f"{'type':<6} {'precision':<28} {'recall':<28} exact")
    for t in (*TYPES, "ALL"):
        c = counts[t]
        p, plo, phi = c.precision()
        r, rlo, rhi = c.recall()
        print(f"{t:<6} {c.found_right:>3}/{c.found:<3} = {p:.3f} [{plo:.2f}, {phi:.2f}]  "
              f"{c.labelled_found:>3}/{c.labelled:<3} = {r:.3f} [{rlo:.2f}, {rhi:.2f}]  "
              f"{c.exact}/{c.found_right}")  # fmt: skip
    if not args.no_mistakes:
        for t in TYPES:
            for m in counts[t].mistakes:
                print("  " + m)


if __name__ == "__main__":
    main()
