"""Verbatim answers to the wrong entry, and dead ends, before/after the frame-swap check and the
"did you mean" suggestions, on the three labelled sets (the two dev packs and our sample KB).

    python benchmarks/conversations/curated_fit.py [--sets esun_faq_zh_tw stackfaq_en askdesk]

Every query is scored through `Retriever.search_vectors` (the service's code) on the full KB with
the shipped settings; `before` is the same result with the frame-swap verdict removed and no
suggestions (the policy as it was). Prints, per set and pooled, with Wilson 95% intervals:
faq-mode answers, their precision (verbatim answer from a gold entry), the wrong-verbatim rate,
dead ends (no_answer, no suggestion, a gold entry in the top 3), and for suggestions: how often a
gold entry is among them when they are shown.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.answering.policy import Thresholds, decide  # noqa: E402
from app.retrieval import Retriever  # noqa: E402
from app.settings import Settings, apply_process_env  # noqa: E402
from benchmarks.retrieval.eval_packs import wilson  # noqa: E402
from benchmarks.retrieval.evalsets import DEFAULT_SETS, expected_keys, is_answerable, load_set  # noqa: E402


def _ci(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n if n else 0:.3f} [{lo:.3f}, {hi:.3f}]"


def run(name: str, settings: Settings, work: Path) -> dict:
    es = load_set(name, settings, work=work, cache=work / "cache")
    r = Retriever.from_index(es.index, es.embedders, settings)
    t = Thresholds.from_settings(settings)
    out = {v: {"faq": 0, "faq_ok": 0, "dead": 0, "gold_top3_no_answer": 0, "sugg_shown": 0, "sugg_gold": 0,
               "unans": 0, "unans_sugg": 0, "n": 0} for v in ("before", "after")}  # fmt: skip
    for qi, q in enumerate(es.queries):
        res = r.search_vectors(q["query"], {i: es.qvs[i][qi] for i in range(len(es.qvs))}, max(settings.top_k, 10))
        gold = expected_keys(q)
        old = copy.deepcopy(res)
        for h in old.hits:
            h.mismatch = None
        for variant, result in (("before", old), ("after", res)):
            d = decide(result, t)
            sugg = d.suggestions if variant == "after" else []
            o = out[variant]
            o["n"] += 1
            if d.mode == "faq":
                o["faq"] += 1
                o["faq_ok"] += d.hits[0].key in gold
            if is_answerable(q):
                in_top3 = any(h.key in gold for h in result.hits[:3])
                if d.mode == "no_answer" and in_top3:
                    o["gold_top3_no_answer"] += 1
                    o["dead"] += not sugg
                if sugg and d.mode != "faq":
                    o["sugg_shown"] += 1
                    o["sugg_gold"] += any(h.key in gold for h in sugg)
            else:
                o["unans"] += 1
                o["unans_sugg"] += bool(sugg)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="*", default=list(DEFAULT_SETS))
    ap.add_argument("--work", type=Path, default=Path("/tmp/askdesk-eval"))
    args = ap.parse_args()
    settings = Settings()
    apply_process_env(settings)
    pooled: dict = {}
    for name in args.sets:
        res = run(name, settings, args.work)
        for variant, o in res.items():
            p = pooled.setdefault(variant, dict.fromkeys(o, 0))
            for k, v in o.items():
                p[k] += v
        _print(name, res)
    _print("pooled", pooled)


def _print(name: str, res: dict) -> None:
    print(f"\n## {name}")
    for variant, o in res.items():
        wrong = o["faq"] - o["faq_ok"]
        print(f"  {variant:6s} faq answers {o['faq']}/{o['n']}; faq precision {_ci(o['faq_ok'], o['faq'])}; "
              f"wrong verbatim {_ci(wrong, o['faq'])}; dead ends {o['dead']} (no_answer with gold in top 3: "
              f"{o['gold_top3_no_answer']}); suggestions holding gold {_ci(o['sugg_gold'], o['sugg_shown'])}; "
              f"unanswerable given suggestions {o['unans_sugg']}/{o['unans']}")  # fmt: skip


if __name__ == "__main__":
    main()
