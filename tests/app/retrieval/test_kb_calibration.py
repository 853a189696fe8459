"""Which calibration is in force, with real Chroma and the real models: the sample KB calibrates
itself at ingest, a changed KB is refitted, a tiny KB keeps the global model, explicit thresholds
win, and a labelled-question calibration wins until removed (picked up without an index rebuild)."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
from app.retrieval import Retriever
from app.retrieval.kb_calibration import (
    QUESTIONS_FILE,
    calibrate_on_questions,
    calibration_dir,
    describe,
    save,
)
from app.retrieval.selfcal import THRESHOLD_GRID
from app.settings import Settings
from tests.conftest import run_askdesk

ROOT = Path(__file__).resolve().parents[3]

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]

FAQ = "id,question,answer,related_questions\n" + "".join(
    f"p{i},How do I renew the {w} permit?,Fill in form {i} and send it to the {w} office.,Renewal steps for the {w} permit\n"
    for i, w in enumerate(["parking", "fishing", "building", "street market", "event", "signage", "hunting", "taxi"])
)


def _sample_store(data_dir, embedders):
    s = Settings(_env_file=None, data_dir=data_dir, retrieval_refresh_s=0.0)
    return s, ChromaKnowledgeStore(make_chroma_client(s), embedders, s.collection)


def test_the_sample_kb_calibrates_itself_once(ingested_sample_kb, embedders):
    s, store = _sample_store(ingested_sample_kb, embedders)
    r = Retriever(store, s)
    cal = r.calibration()
    # fitted by the first snapshot (or the ingest) and kept for the next, under this KB's fingerprint
    # (other tests' snapshots of the shared KB may have left files of their own beside it)
    mine = r.calibrator._path(r.refresh())
    assert mine.is_file()
    stamp = mine.stat().st_mtime_ns
    assert Retriever(store, s).calibration() == cal and mine.stat().st_mtime_ns == stamp  # read back, not refitted
    saved = json.loads(mine.read_text())
    assert saved["source"] == "kb" and saved["entries"] > 100 and saved["scale"]
    assert cal.source == "kb" and cal.thresholds["en"] in THRESHOLD_GRID and cal.thresholds["multi"] in THRESHOLD_GRID
    assert cal.thresholds["no_answer"] <= min(cal.thresholds["en"], cal.thresholds["multi"])
    res = r.search("How many days of annual leave do I get?")
    assert res.no_answer_threshold == cal.thresholds["no_answer"]
    # the verbatim threshold reads the global model's confidence, kept beside the rescaled one
    assert "prior_confidence" in res.hits[0].features and res.predicted_answerable
    # explicitly set thresholds beat fitted ones
    fixed = Retriever(store, s.model_copy(update={"retrieval_answerable_threshold": 0.99, "retrieval_answerable_threshold_zh": 0.99}))
    assert fixed.calibration().thresholds["en"] == 0.99
    assert not fixed.search("How many days of annual leave do I get?").predicted_answerable


def test_tiny_kb_keeps_the_global_model_and_a_changed_kb_is_refitted(tmp_path, embedders):
    from askdesk.calibrate_command import calibrate_kb
    from ingest.pipeline import run_ingest

    root = tmp_path / "kb"
    root.mkdir()
    (root / "faq.csv").write_text(FAQ, encoding="utf-8")
    s, store = _sample_store(tmp_path / "d", embedders)
    rep = run_ingest([root], store, s, calibrate=calibrate_kb)
    assert rep.calibration["source"] == "global" and "too small" in rep.calibration["detail"]
    assert rep.calibration_line().startswith("calibration: global default")
    # with the floors lowered, eight entries are enough to fit (the mechanism, not a useful fit)
    s2 = s.model_copy(update={"self_calibration_min_entries": 4, "self_calibration_min_per_class": 3})
    rep = run_ingest([root], store, s2, calibrate=calibrate_kb)
    assert rep.calibration["source"] == "kb", rep.calibration
    assert len(list(calibration_dir(s2).glob("kb-*.json"))) == 1
    (root / "faq.csv").write_text(FAQ.replace("form 3", "form 33"), encoding="utf-8")
    rep = run_ingest([root], store, s2, calibrate=calibrate_kb)
    assert rep.updated == 1 and rep.calibration["source"] == "kb"
    assert len(list(calibration_dir(s2).glob("kb-*.json"))) == 2  # refitted for the changed KB
    off = s2.model_copy(update={"self_calibration": False})
    assert Retriever(store, off).calibration().source == "global"
    # a running service: a KB change is live at once with the previous calibration, and the new
    # snapshot's own fit replaces it in the background
    live = Retriever(store, s2)
    before = live.calibration()
    (root / "faq.csv").write_text(FAQ.replace("form 4", "form 44"), encoding="utf-8")
    run_ingest([root], store, s2)  # no calibrate hook: as an upload through the service
    index = live.refresh(force=True)
    assert index.calibration is before
    for _ in range(600):
        if index.calibration is not before:
            break
        time.sleep(0.1)
    assert index.calibration is not before and index.calibration.source == "kb"
    assert len(list(calibration_dir(s2).glob("kb-*.json"))) == 3


def test_labelled_questions_win_until_removed(ingested_sample_kb, embedders, tmp_path):
    s, store = _sample_store(ingested_sample_kb, embedders)
    # the questions file in a data dir of its own (the store still reads the shared KB's Chroma)
    s = s.model_copy(update={"data_dir": tmp_path / "own"})
    r = Retriever(store, s)
    before = r.calibration()
    rows = [json.loads(x) for x in (ROOT / "evals" / "datasets" / "questions.jsonl").read_text().splitlines() if x.strip()][::3]
    cal, report = calibrate_on_questions(r.refresh(), rows, r.embedders, r.roles, s)
    assert cal.source == "questions" and report["runs"] > len(rows)
    held = report["held_out"]
    assert held["kept"][1] > 20 and held["flagged"][1] > 20
    # measured on the half it was not fitted on: a useful calibration, not a memorised one
    assert held["kept"][0] / held["kept"][1] >= 0.6 and held["flagged"][0] / held["flagged"][1] >= 0.6
    save(cal, calibration_dir(s) / QUESTIONS_FILE)
    assert r.refresh(force=True).calibration.source == "questions"  # no rebuild needed
    assert describe(r.calibration())["name"] == "fitted on labelled questions"
    (calibration_dir(s) / QUESTIONS_FILE).unlink()
    assert r.refresh(force=True).calibration.source == before.source


def test_calibrate_command_refuses_bad_files_before_loading_models(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"query": "x", "expected_faq_ids": ["a"]}\n', encoding="utf-8")
    env = {**os.environ, "ASKDESK_DATA_DIR": str(tmp_path / "d")}
    r = run_askdesk("calibrate", "--questions", str(bad), env=env, timeout=60)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "1 labelled questions; at least 10 needed" in r.stderr and "Traceback" not in r.stderr
    r = run_askdesk("calibrate", "--questions", str(tmp_path / "missing.jsonl"), env=env, timeout=60)
    assert r.returncode == 1 and "query file not found" in r.stderr
    r = run_askdesk("calibrate", "--questions", str(bad), "--reset", env=env, timeout=60)
    assert r.returncode == 1 and "not both" in r.stderr


@pytest.mark.slow
def test_calibrate_command_end_to_end(ingested_sample_kb, tmp_path):
    """The CLI on the ingested sample KB: prints the held-out numbers and the frontier, writes the
    file the service reads; --reset removes it."""
    data = tmp_path / "data"
    shutil.copytree(ingested_sample_kb, data)  # the shared KB's calibration stays untouched
    env = {**os.environ, "ASKDESK_DATA_DIR": str(data)}
    r = run_askdesk("calibrate", "--questions", str(ROOT / "evals" / "datasets" / "questions.jsonl"), env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "held out" in out and "unanswerable flagged" in out and "<- chosen" in out
    assert (data / "calibration" / QUESTIONS_FILE).exists()
    r = run_askdesk("calibrate", "--reset", env=env, timeout=600)
    assert r.returncode == 0 and "removed" in r.stdout and '"source": "kb"' in r.stdout
    assert not (data / "calibration" / QUESTIONS_FILE).exists()
