"""The `askdesk eval` CLI's edges, without a service: one-line errors and the compare command."""

import json
from pathlib import Path

from tests.conftest import run_askdesk

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


def askdesk(*args: str, cwd: Path):
    return run_askdesk(*args, cwd=cwd, timeout=120)


def test_unreachable_service_is_a_one_line_error(tmp_path: Path):
    r = askdesk(
        "eval",
        "run",
        str(DATASETS / "questions.jsonl"),
        "--url",
        "http://127.0.0.1:9",
        "--out",
        str(tmp_path / "x"),
        cwd=tmp_path,
    )
    assert r.returncode == 1, r.stderr
    assert (
        r.stderr.strip().startswith("error: cannot reach AskDesk") and len(r.stderr.strip().splitlines()) == 1
    )
    assert not (tmp_path / "x.json").exists()


def test_bad_gate_and_missing_dataset(tmp_path: Path):
    r = askdesk("eval", "run", "nope.jsonl", "--fail-under", "hit@1", cwd=tmp_path)
    assert r.returncode == 1 and "error: bad gate 'hit@1'" in r.stderr
    r = askdesk("eval", "run", "nope.jsonl", cwd=tmp_path)
    assert r.returncode == 1 and "error: dataset not found: nope.jsonl" in r.stderr


def test_compare_command(tmp_path: Path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"report": {"metrics": {"retrieval.hit@1": 0.9, "latency.ttft_ms.p50": 100.0}}}))
    b.write_text(json.dumps({"report": {"metrics": {"retrieval.hit@1": 0.8, "latency.ttft_ms.p50": 150.0}}}))
    r = askdesk("eval", "compare", str(b), str(a), "--fail-on-regression", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout.count("regressed") == 2
    r = askdesk("eval", "compare", str(a), str(a), cwd=tmp_path)
    assert r.returncode == 0 and "regressed" not in r.stdout
    (tmp_path / "c.json").write_text("{}")
    r = askdesk("eval", "compare", str(a), str(tmp_path / "c.json"), cwd=tmp_path)
    assert r.returncode == 1 and "not an eval report JSON" in r.stderr
