"""`askdesk backup` / `askdesk restore` on real parts: a small KB ingested into real Chroma with the
real embedders, a real SQLite conversations database; restored into a fresh data dir, it searches
identically and holds the same log. Bad input is one error line and a non-zero exit."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from app.conversations.store import ConversationStore
from app.errors import OperationError
from app.knowledge_store import ChromaKnowledgeStore, kb_collections, make_chroma_client, read_active
from app.retrieval import Retriever
from app.settings import Settings
from askdesk.backup_command import restore_backup, write_backup
from ingest.pipeline import run_ingest
from tests.conftest import run_askdesk
from tests.ingest import sample_files as sf

ROWS = [
    *sf.FAQ_ROWS,
    {"id": "it-002", "question": "How do I connect to the office Wi-Fi?", "related_questions": "wifi password",
     "answer": "Join NWH-Staff and sign in with your domain account.", "category": "IT", "lang": "en"},
    {"id": "hr-002", "question": "病假需要什么证明？", "related_questions": "病假条",
     "answer": "病假超过两天需提交医院开具的病假证明。", "category": "HR", "lang": "zh-Hans"},
]  # fmt: skip
QUERIES = ["VPN password reset", "年假几天", "office wifi", "病假证明", "where is the cafeteria"]


def _search(store: ChromaKnowledgeStore, settings: Settings) -> list:
    r = Retriever(store, settings)
    return [[(h.key, h.score, h.confidence) for h in r.search(q, k=3).hits] for q in QUERIES]


def _same_results(a: list, b: list) -> bool:
    """The same hits in the same order with the same scores: a restored store may return its records
    in another order, which moves a fused score (a mean over every entry) in its 7th digit."""
    return [[k for k, _, _ in q] for q in a] == [[k for k, _, _ in q] for q in b] and all(
        abs(x[1] - y[1]) < 1e-5 and abs(x[2] - y[2]) < 1e-5 for qa, qb in zip(a, b, strict=True) for x, y in zip(qa, qb, strict=True)
    )


@pytest.fixture
def live(tmp_path, settings, store):
    """A data dir as a running deployment leaves it: KB, two logged exchanges with feedback, a
    calibration file and an uploaded source."""
    kb = tmp_path / "kb"
    kb.mkdir()
    sf.write_csv(kb / "faq.csv", ROWS)
    run_ingest([kb], store, settings)
    conv = ConversationStore(settings.db_url)
    sid = conv.ensure_session(None, owner="k")
    first = conv.log_exchange(
        session_id=sid, question="How do I reset my VPN password?", answer="Open the reset page."
    )
    conv.log_exchange(session_id=sid, question="and the wifi?", answer="Join NWH-Staff.")
    conv.add_feedback(first, "up", "quick")
    conv.dispose()
    (settings.data_dir / "calibration").mkdir()
    (settings.data_dir / "calibration" / "kb-test.json").write_text('{"fitted": true}')
    (settings.data_dir / "uploads").mkdir()
    sf.write_csv(settings.data_dir / "uploads" / "extra.csv", ROWS[:1])
    (settings.data_dir / "uploads" / ".extra.csv.part").write_text("an upload in flight")
    return settings


def _fresh(tmp_path: Path, name: str) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / name, collection="test-kb")


def test_backup_then_restore_gives_identical_search_and_log(tmp_path, live, store, embedders):
    out = tmp_path / "askdesk.tar.gz"
    manifest = write_backup(live, out)
    assert manifest["embedding_models"] == [e.name for e in embedders]
    assert [c["records"] for c in manifest["collections"]] == [store.collection(i).count() for i in range(3)]
    assert manifest["database"]["kind"] == "sqlite" and manifest["database"]["tables"]["exchanges"] == 2
    assert "uploads/extra.csv" in manifest["files"] and "uploads/.extra.csv.part" not in manifest["files"]
    with tarfile.open(out) as tar:
        assert tar.getnames()[0] == "manifest.json"

    restored = _fresh(tmp_path, "restored")
    restore_backup(restored, out, force=False)
    client = make_chroma_client(restored)
    assert kb_collections(client, "test-kb") == sorted(store.names())
    assert read_active(client, "test-kb").models == [e.name for e in embedders]
    assert _same_results(_search(ChromaKnowledgeStore(client, embedders, "test-kb"), restored), _search(store, live))

    before, after = ConversationStore(live.db_url), ConversationStore(restored.db_url)
    assert after.export_log() == before.export_log() and len(after.export_log()) == 2
    assert after.stats() == before.stats()
    before.dispose()
    after.dispose()
    for rel in ("calibration/kb-test.json", "uploads/extra.csv"):
        assert (restored.data_dir / rel).read_bytes() == (live.data_dir / rel).read_bytes()
    assert not (restored.data_dir / "uploads" / ".extra.csv.part").exists()


def test_restore_refuses_a_non_empty_data_dir_unless_forced(tmp_path, live):
    out = tmp_path / "b.tar.gz"
    write_backup(live, out)
    with pytest.raises(OperationError, match=r"is not empty: restore into an empty one, or pass --force"):
        restore_backup(live, out, force=False)
    other = _fresh(tmp_path, "other")
    other.data_dir.mkdir()
    (other.data_dir / "askdesk.db").write_text("not a database")
    with pytest.raises(OperationError, match="not empty"):
        restore_backup(other, out, force=False)
    restore_backup(other, out, force=True)  # replaces the junk file with the backup's database
    conv = ConversationStore(other.db_url)
    assert len(conv.export_log()) == 2
    conv.dispose()


def test_bad_archives_are_one_line_errors(tmp_path, live):
    target = _fresh(tmp_path, "target")
    with pytest.raises(OperationError, match="backup file not found"):
        restore_backup(target, tmp_path / "missing.tar.gz", force=False)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not gzip at all")
    with pytest.raises(OperationError, match="is not a readable .tar.gz backup"):
        restore_backup(target, junk, force=False)
    # a damaged file inside a well-formed archive: caught by its checksum before anything is written
    good = tmp_path / "good.tar.gz"
    write_backup(live, good)
    unpacked = tmp_path / "unpacked"
    with tarfile.open(good) as tar:
        tar.extractall(unpacked, filter="data")
    (unpacked / "calibration" / "kb-test.json").write_text('{"fitted": false}')
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        for p in sorted(unpacked.rglob("*")):
            if p.is_file():
                tar.add(p, arcname=str(p.relative_to(unpacked)))
    with pytest.raises(OperationError, match="calibration/kb-test.json does not match its checksum"):
        restore_backup(target, bad, force=False)
    assert not target.data_dir.exists()
    manifest = json.loads((unpacked / "manifest.json").read_text())
    (unpacked / "manifest.json").write_text(json.dumps({**manifest, "format": 99}))
    with tarfile.open(bad, "w:gz") as tar:
        tar.add(unpacked / "manifest.json", arcname="manifest.json")
    with pytest.raises(OperationError, match="unsupported backup format 99"):
        restore_backup(target, bad, force=False)
    with pytest.raises(OperationError, match=r"must end in \.tar\.gz"):
        write_backup(live, tmp_path / "backup.zip")


@pytest.mark.slow
def test_cli_backup_restore_then_search(tmp_path, live):
    """As users run it: three fresh processes; `askdesk search` answers from the restored dir."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env = {**base, "ASKDESK_DATA_DIR": str(live.data_dir), "ASKDESK_COLLECTION": "test-kb", "COLUMNS": "120"}
    out = tmp_path / "cli.tar.gz"
    r = run_askdesk("backup", str(out), env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"backup written to {out}: 3 collections (") and "2 exchanges" in r.stdout
    env["ASKDESK_DATA_DIR"] = str(tmp_path / "cli-restored")
    r = run_askdesk("restore", str(tmp_path / "nope.tar.gz"), env=env, timeout=120)
    assert (
        r.returncode == 1 and r.stderr.strip() == f"error: backup file not found: {tmp_path / 'nope.tar.gz'}"
    )
    r = run_askdesk("restore", str(out), env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    r = run_askdesk("search", "How do I reset my VPN password?", env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "it-001" in r.stdout
