"""The service's own time to first token, with an engine that answers at once.

    python benchmarks/serving/overhead_inprocess.py [--rounds 2] [--data-dir D] [--out reports/overhead-inprocess]

The real app (create_app + askdesk.wiring, the sample KB in real Chroma, the real embedders and
database) answers streamed /api/chat requests in-process through the scripted chat model of the
fast tests (tests/scripted_model.py), which yields its reply the moment it is asked. The client's
time from request to the first `token` event is then the service alone: HTTP, session, retrieval,
intents, prompt, the router, the stream guard. Engine time is zero by construction, so this splits
the overhead that benchmarks/evals/overhead.py measures against a real engine (where engine noise
of tens of ms hides a few ms).

Every question of evals/datasets/questions.jsonl is asked once per round and variant; the variants
alternate question by question (order swapped every round). Every model's query memo is emptied
before each request, so a request pays its own encodes as a new question would. `--compare`:
  memo      old: no query memo (size 0): retrieval and the intent fallback each encode the message;
            new: the shipped memo (app/embeddings.QueryMemo)
  parallel  old: a Chinese query's two encoders one after the other; new: at the same time
            (app/retrieval/retriever.Retriever._encode)
  prefetch  old: the encoders start when retrieval does; new: as the request arrives
            (Retriever.prefetch, called by app/answering/service.AnswerService.stream)
Prints p50/p95 (and the bootstrap 95% CI of the p50) per language and answer mode.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.embeddings import QUERY_MEMO_SIZE, make_embedder  # noqa: E402
from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client  # noqa: E402
from app.retrieval.fusion import lang_group  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402
from evals.metrics import bootstrap_ci  # noqa: E402

COMPARE = {"memo": "old: no query memo; new: QueryMemo.",
           "parallel": "old: a query's encoders one after the other; new: at the same time.",
           "prefetch": "old: encoders start with retrieval; new: as the request arrives."}
REPLY = "Please see the policy [1]. Ask the service desk if anything is unclear [1]."


def build_app(data_dir: Path, db: Path):
    from app.api.main import create_app
    from askdesk import wiring
    from ingest.pipeline import run_ingest
    from tests.request_path_fixtures import BACKEND, request_path_settings
    from tests.scripted_model import ScriptedChatModel

    s0 = Settings(_env_file=None, data_dir=data_dir)
    apply_process_env(s0)
    embedders = [make_embedder(n) for n in s0.embedding_models]
    if not (data_dir / "chroma").exists():
        print("ingesting knowledge/ ...", file=sys.stderr)
        run_ingest([ROOT / "knowledge"], ChromaKnowledgeStore(make_chroma_client(s0), embedders, s0.collection), s0)
    model = ScriptedChatModel()
    model.script(REPLY)
    # extractive answers as shipped (on): they are part of the service's path to a first token
    s = request_path_settings(data_dir, db).model_copy(update={"extractive_answers": True})

    def build_state(settings: Settings):
        store = ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
        return wiring.build_state(settings, chat_models={BACKEND: model}, store=store)

    return create_app(s, build_state), embedders


def sequential(self, query: str, need) -> dict:
    """The encodes as they ran before Retriever._encode: one model after the other."""
    return {i: self.embedders[i].embed_queries([query])[0] for i in need}


def first_token_ms(client, question: str, auth: dict) -> tuple[float, str]:
    from evals.sse import SSEParser

    t0 = time.perf_counter()
    first, mode = None, "?"
    parser = SSEParser()
    with client.stream("POST", "/api/chat", headers=auth, json={"message": question, "stream": True}) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            ev = parser.feed_line(line)
            if ev is None:
                continue
            if ev.event == "token" and first is None:
                first = time.perf_counter() - t0
            if ev.event in ("sources", "done"):
                mode = ev.json().get("mode") or mode
    return ((first if first is not None else time.perf_counter() - t0) * 1000, mode)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--questions", type=Path, default=ROOT / "evals/datasets/questions.jsonl")
    ap.add_argument("--data-dir", type=Path, default=None, help="an ingested sample KB to reuse (default: a temp one)")
    ap.add_argument("--out", type=Path, default=ROOT / "reports/overhead-inprocess")
    ap.add_argument("--compare", choices=["memo", "parallel", "prefetch"], default="prefetch")
    a = ap.parse_args()
    from fastapi.testclient import TestClient

    from tests.request_path_fixtures import AUTH

    qs = [json.loads(line) for line in a.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = a.data_dir or Path(tmp) / "data"
        app, embedders = build_app(data_dir, Path(tmp) / "askdesk.db")
        rows = []
        with TestClient(app) as client:
            first_token_ms(client, "warm-up: how do I reset my password", AUTH)
            for rnd in range(a.rounds):
                for qi, q in enumerate(qs):
                    order = ("old", "new") if (qi + rnd) % 2 == 0 else ("new", "old")
                    for variant in order:
                        for e in embedders:
                            memo = getattr(e, "memo", None)
                            if memo is not None:
                                memo.size = 0 if variant == "old" and a.compare == "memo" else QUERY_MEMO_SIZE
                                memo.clear()
                        retriever = app.state.askdesk.retriever
                        retriever.__dict__.pop("_encode", None)
                        retriever.__dict__.pop("prefetch", None)
                        if variant == "old" and a.compare == "parallel":
                            retriever._encode = sequential.__get__(retriever)
                        if variant == "old" and a.compare == "prefetch":
                            retriever.prefetch = lambda query: None
                        ms, mode = first_token_ms(client, q["query"], AUTH)
                        rows.append({"variant": variant, "lang": lang_group(q["lang"]), "mode": mode, "ms": ms,
                                     "round": rnd, "id": q["id"]})  # fmt: skip
                print(f"round {rnd + 1}/{a.rounds} done", file=sys.stderr)
    # group by the mode the new variant answered with, so both sides time the same questions
    new_mode = {(r["id"], r["round"]): r["mode"] for r in rows if r["variant"] == "new"}
    lines = ["# Service time to first token with an instant engine (in-process; old and new alternated)", "",
             f"{len(qs)} questions × {a.rounds} rounds, {time.strftime('%Y-%m-%d %H:%M')}. " + COMPARE[a.compare] + " ms from request to the first `token` event; 95% CI of the p50 by bootstrap.", "",
             "| lang | mode | n | old p50 [95% CI] | old p95 | new p50 [95% CI] | new p95 |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    summary = []
    for lang in ("en", "zh"):
        for mode in ("all", "rag", "extract", "faq", "no_answer"):
            cell = {}
            for variant in ("old", "new"):
                xs = [r["ms"] for r in rows if r["variant"] == variant and r["lang"] == lang
                      and (mode == "all" or new_mode[(r["id"], r["round"])] == mode)]  # fmt: skip
                if len(xs) < 3:
                    break
                ci = bootstrap_ci(xs, stat=lambda x: float(statistics.median(x)))
                cell[variant] = (len(xs), statistics.median(xs), sorted(xs)[int(0.95 * (len(xs) - 1))], ci.lo, ci.hi)
            if len(cell) < 2:
                continue
            (n, o50, o95, olo, ohi), (_, n50, n95, nlo, nhi) = cell["old"], cell["new"]
            summary.append({"lang": lang, "mode": mode, "n": n, "old_p50": o50, "old_p95": o95, "new_p50": n50,
                            "new_p95": n95, "old_p50_ci": [olo, ohi], "new_p50_ci": [nlo, nhi]})  # fmt: skip
            lines.append(f"| {lang} | {mode} | {n} | {o50:.1f} [{olo:.1f}–{ohi:.1f}] | {o95:.1f} | "
                         f"{n50:.1f} [{nlo:.1f}–{nhi:.1f}] | {n95:.1f} |")  # fmt: skip
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    a.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
