"""Topic switches: is the second question of a session answered as in a fresh session?

    python benchmarks/conversations/topic_switch.py [--pairs 150] [--seed 7]

Pairs of labelled questions from evals/datasets/questions.jsonl about different entries are asked
as one session (turn 1 = A, turn 2 = B). For turn 2 it prints how often the chosen top entry and mode
are the ones a fresh session gets for B, and how often the top entry is B's gold entry, for:
- old: the policy before the follow-up rules (search the model's rewrite and "A + B", keep the more
  confident), computed here from the same retriever and decision;
- new: the shipped chain (app/answering/followup.py).
The model is a stand-in that behaves as the report found the small model does: its "standalone
rewrite" repeats the earlier question. No LLM engine runs; retrieval and the decision are the real
ones over the sample KB (knowledge/), ingested once into .data/bench-topic-switch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402

from app.answering.chain import AnswerChain, Turn  # noqa: E402
from app.answering.policy import decide  # noqa: E402
from app.knowledge_store import open_store  # noqa: E402
from app.lang import detect_lang  # noqa: E402
from app.llm.router import LLMRouter  # noqa: E402
from app.retrieval import Retriever  # noqa: E402
from app.settings import LLMBackend, Settings  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402


class CopyingRewriter(BaseChatModel):
    """Rewrites every follow-up as the first question of the conversation; answers "…" otherwise."""

    @property
    def _llm_type(self) -> str:
        return "copying-rewriter"

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kw: Any) -> ChatResult:
        text = messages[1].content if str(messages[0].content).startswith("Rewrite") and len(messages) > 2 else "…"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def gold(q: dict) -> set[str]:
    return set(q.get("expected_faq_ids") or []) | set(q.get("expected_sources") or [])


async def run_turn(chain: AnswerChain, message: str, history: list[tuple[str, str]]) -> dict:
    done: dict = {}
    async for ev in chain.astream(Turn(message, detect_lang(message), history)):
        if ev.kind == "done":
            done = ev.data
    return done


def old_policy(chain: AnswerChain, a: str, b: str) -> tuple[str | None, str]:
    """Top entry and mode as the chain chose them before: rewrite (here: A) vs "A + B", more confident."""
    k = max(chain.s.top_k, chain.s.rag_context_k)
    rewrite = chain.retriever.search(a, k)
    joined = chain.retriever.search(f"{a} {b}", k)
    result = joined if joined.confidence > rewrite.confidence else rewrite
    d = decide(result, chain.thresholds)
    return (d.hits[0].key if d.hits else None), d.mode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    s = Settings(_env_file=None, data_dir=ROOT / ".data" / "bench-topic-switch",
                 llm_backends=[LLMBackend(name="stand-in", base_url="http://127.0.0.1:9/v1", model="x")])  # fmt: skip
    store = open_store(s)
    print(run_ingest([ROOT / "knowledge"], store, s).summary(), file=sys.stderr)
    chain = AnswerChain(Retriever(store, s), LLMRouter(s.llm_backends, s, {"stand-in": CopyingRewriter()}), s)
    qs = [json.loads(x) for x in (ROOT / "evals/datasets/questions.jsonl").read_text().splitlines() if x.strip()]
    qs = [q for q in qs if q.get("answerable", True) and gold(q)]
    rng = random.Random(args.seed)
    pairs = []
    while len(pairs) < args.pairs:
        a, b = rng.sample(qs, 2)
        if not gold(a) & gold(b):
            pairs.append((a, b))
    tally = {"old": [0, 0], "new": [0, 0]}  # [same as fresh, top entry is gold]
    fresh_gold = 0
    for a, b in pairs:
        first = asyncio.run(run_turn(chain, a["query"], []))
        fresh = asyncio.run(run_turn(chain, b["query"], []))
        fresh_top = fresh["sources"][0].id if fresh["sources"] else None
        fresh_gold += fresh_top in gold(b)
        new = asyncio.run(run_turn(chain, b["query"], [(a["query"], first["answer"])]))
        new_top = new["sources"][0].id if new["sources"] else None
        old_top, old_mode = old_policy(chain, a["query"], b["query"])
        for name, top, mode in (("old", old_top, old_mode), ("new", new_top, new["mode"])):
            tally[name][0] += (top, mode) == (fresh_top, fresh["mode"])
            tally[name][1] += top in gold(b)
    n = len(pairs)
    print(f"topic-switch turns: {n} pairs from evals/datasets/questions.jsonl (seed {args.seed})")
    print(f"fresh session, top entry gold: {fresh_gold / n:.3f}")
    for name, (same, good) in tally.items():
        print(f"{name}: answered as in a fresh session {same / n:.3f}; top entry gold {good / n:.3f}")


if __name__ == "__main__":
    main()
