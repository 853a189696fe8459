"""Intents the rules (app/answering/intents.py) miss, read by their nearest labelled examples.

The rules are precise but phrase-bound: on the labelled conversations (written apart from them)
they read 34 of 44 social and handoff turns. This fallback embeds the message with the multilingual
retrieval model and takes the label of the nearest example in `intent_examples.jsonl` (the labelled
set, "none" rows included) when that example is close (cosine >= `min_similarity`) and closer by
`margin` than the nearest "none" example. It only runs where a wrong intent costs little: after
retrieval, for a message the knowledge base has no answer for (the chain decides that), so a real
question the KB answers is never turned into chitchat or a ticket.

Chosen by leave-one-out on the examples (benchmarks/conversations/intents_eval.py --knn): cosine
0.90 and margin 0.02 read 256 of 260 examples right and took 1 of the 237 questions of
evals/datasets/questions.jsonl for an intent before the retrieval gate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.answering.intents import Intent

log = logging.getLogger(__name__)

DEFAULT_EXAMPLES = Path(__file__).with_name("intent_examples.jsonl")
INTENTS: frozenset[str] = frozenset({"greeting", "thanks", "goodbye", "human", "not_helpful"})


def read_examples(path: Path) -> tuple[list[str], list[str]]:
    """(texts, labels) of a JSONL file with `text` and `intent` (an intent or "none")."""
    texts, labels = [], []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        label = row.get("intent")
        if not isinstance(row.get("text"), str) or (label not in INTENTS and label != "none"):
            raise ValueError(f"{path}:{i}: needs 'text' and an 'intent' of {sorted(INTENTS)} or 'none'")
        texts.append(row["text"])
        labels.append(label)
    return texts, labels


class IntentExamples:
    """Nearest-example intent reading over one embedder (built once at startup)."""

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        embed: Callable[[list[str]], np.ndarray],
        *,
        min_similarity: float = 0.90,
        margin: float = 0.02,
    ) -> None:
        self.embed = embed
        self.labels = np.asarray(labels)
        vecs = np.asarray(embed(list(texts)), dtype=np.float32)
        self.matrix = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        self.is_none = self.labels == "none"
        self.min_similarity = min_similarity
        self.margin = margin

    def read(self, message: str) -> Intent | None:
        """The intent of the nearest example, when it is close and clearly closer than any "none"."""
        v = np.asarray(self.embed([message])[0], dtype=np.float32)
        sims = self.matrix @ (v / max(float(np.linalg.norm(v)), 1e-12))
        return self.read_similarities(sims)

    def read_similarities(self, sims: np.ndarray) -> Intent | None:
        intent_sims = np.where(self.is_none, -1.0, sims)
        j = int(np.argmax(intent_sims))
        best_none = float(np.max(np.where(self.is_none, sims, -1.0))) if self.is_none.any() else -1.0
        if intent_sims[j] >= self.min_similarity and intent_sims[j] - best_none >= self.margin:
            return self.labels[j]  # type: ignore[return-value]
        return None


def build(settings, embedders: Sequence) -> IntentExamples | None:
    """The fallback over the multilingual retrieval model, or None (off, or no such model)."""
    if not settings.intent_examples_enabled:
        return None
    emb = next((e for e in embedders if e.name == settings.intent_examples_model), None)
    if emb is None:
        log.info("intent examples off: embedding model %s is not loaded", settings.intent_examples_model)
        return None
    texts, labels = read_examples(settings.intent_examples_file or DEFAULT_EXAMPLES)
    return IntentExamples(texts, labels, emb.embed_queries, min_similarity=settings.intent_examples_min_similarity,
                          margin=settings.intent_examples_margin)  # fmt: skip
