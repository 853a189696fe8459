"""`askdesk search` through the real CLI entry point (errors: one line, non-zero exit)."""

import json
import subprocess
import sys

import pytest

from app.errors import BadRequest
from app.search_command import read_queries, summarise


def test_read_queries_errors(tmp_path):
    with pytest.raises(BadRequest, match="not found"):
        read_queries(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "ok"}\n{nope\n', encoding="utf-8")
    with pytest.raises(BadRequest, match=":2: not valid JSON"):
        read_queries(bad)
    good = tmp_path / "good.jsonl"
    good.write_text('{"query": "a", "id": 1}\n\n{"query": "b"}\n', encoding="utf-8")
    assert [r["query"] for r in read_queries(good)] == ["a", "b"]


def test_summarise():
    s = summarise([0, 2, None, 4], [(True, True), (False, True)])
    assert s["hit@1"] == 0.25 and s["hit@3"] == 0.5 and s["hit@5"] == 0.75
    assert s["mrr"] == round((1 + 1 / 3 + 0 + 1 / 5) / 4, 4) and s["answerable_accuracy"] == 0.5


def _cli(args, env_dir):
    import os

    env = {**os.environ, "ASKDESK_DATA_DIR": str(env_dir)}
    return subprocess.run([sys.executable, "-c", "from askdesk.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_cli_errors_are_one_line(tmp_path):
    p = _cli(["search", "--queries", str(tmp_path / "none.jsonl"), "--json"], tmp_path / "d")
    assert p.returncode != 0 and p.stderr.strip().splitlines()[-1].startswith("error: query file not found")
    p = _cli(["search", "hello"], tmp_path / "empty")
    assert p.returncode != 0 and "empty" in p.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_cli_batch_json(tmp_path):
    kb = tmp_path / "faq.csv"
    kb.write_text("id,question,answer\nhours,When are you open?,We are open 9 to 5 on weekdays.\n"
                  "refund,How do I get a refund?,Reply to your receipt email within 30 days.\n", encoding="utf-8")  # fmt: skip
    assert _cli(["ingest", str(kb)], tmp_path / "d").returncode == 0
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"id": "q1", "query": "what are your opening hours", "expected_faq_ids": ["hours"]}) + "\n",
                 encoding="utf-8")  # fmt: skip
    p = _cli(["search", "--queries", str(q), "--json"], tmp_path / "d")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in p.stdout.strip().splitlines()]
    assert lines[0]["id"] == "q1" and lines[0]["hits"][0]["id"] == "hours"
    assert set(lines[0]["hits"][0]) >= {"id", "score", "source"} and "predicted_answerable" in lines[0]
    assert lines[-1]["summary"]["hit@1"] == 1.0
