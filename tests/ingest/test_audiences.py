"""Audience tags at ingest: a table column, Markdown front matter, a sidecar, a folder's default;
stored in the records' metadata; re-tagging replaces an entry's records and a rerun changes
nothing. Real Chroma on a temp dir, the real models."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.records import Entry, entry_records, parse_audiences
from ingest.audiences import apply_default, file_default
from ingest.load import front_matter
from ingest.pipeline import run_ingest
from tests import audience_kb as kb


def tags_by_entry(store) -> dict[str, str]:
    return {m["entry_key"]: m.get("audiences", "") for m in store.get_index(0).values()}


def test_parse_audiences_splits_folds_and_reads_everyone():
    assert parse_audiences("HR | finance;hr") == ("finance", "hr")
    assert parse_audiences("[hr, 'finance']") == ("finance", "hr")
    assert parse_audiences(["Finance", " "]) == ("finance",)
    assert parse_audiences("hr\n*") == ("*",)
    assert parse_audiences(None) == parse_audiences("") == ()


def test_tags_are_content_but_untagged_entries_hash_as_before():
    plain = Entry("a", "faq", "faq.csv", question="q?", answer="a.")
    assert plain.hash == Entry("a", "faq", "faq.csv", question="q?", answer="a.", audiences=("*",)).hash
    hr = Entry("a", "faq", "faq.csv", question="q?", answer="a.", audiences=("hr",))
    assert hr.hash != plain.hash
    assert {r.metadata.get("audiences") for r in entry_records(hr)} == {"hr"}
    assert all("audiences" not in r.metadata for r in entry_records(plain))


def test_front_matter_is_metadata_not_text():
    meta, body = front_matter("---\naudiences: [hr, finance]\n---\n# Title\ntext\n")
    assert meta == {"audiences": ["hr", "finance"]} and body == "# Title\ntext\n"
    assert front_matter("# No front matter\n---\n") == ({}, "# No front matter\n---\n")
    rule = "---\nIntro text.\n* item: [x\n---\nmore\n"
    assert front_matter(rule) == ({}, rule)  # a horizontal rule, not front matter: all text


def test_defaults_sidecar_over_folder_and_own_tags_win(tmp_path: Path):
    root = kb.write_kb(tmp_path / "kb")
    assert file_default(root / kb.FIN_DOC, root) == ("finance",)
    assert file_default(root / kb.PUBLIC_FINANCE_NOTE, root) == ("*",)  # sidecar overrides the folder
    assert file_default(root / "faq.csv", root) == ()
    assert file_default(root / kb.FIN_DOC, root / kb.FIN_DOC) == ("finance",)  # a single file: its folder
    own = Entry("x", "faq", "s", question="q", answer="a", audiences=("hr",))
    bare = Entry("y", "faq", "s", question="q", answer="a")
    assert [e.audiences for e in apply_default([own, bare], ("finance",))] == [("hr",), ("finance",)]
    assert [e.audiences for e in apply_default([bare], ("*",))] == [()]


def test_ingest_stores_tags_and_retagging_replaces_records(tmp_path, store, settings):
    settings = settings.model_copy(update={"ingest_file_timeout_s": 0})  # parse in-process: faster
    root = kb.write_kb(tmp_path / "kb")
    r1 = run_ingest([root], store, settings)
    assert r1.failed == []
    assert ("finance/public-note.md.audiences", "audience tags of finance/public-note.md") in r1.skipped
    tags = tags_by_entry(store)
    assert tags[kb.HR_FAQ] == "hr" and tags[kb.FIN_FAQ] == "cfo-office,finance"
    assert tags["pub-payday-001"] == ""
    assert tags[f"{kb.HR_DOC}#Written warning"] == tags[f"{kb.HR_DOC}#Dismissal"] == "hr"  # front matter
    assert tags[f"{kb.FIN_DOC}#Purchase orders over 50,000"] == "finance"  # the folder's .audiences
    assert tags[f"{kb.PUBLIC_FINANCE_NOTE}#Month-end close"] == ""  # its sidecar says everyone
    # the front matter is not indexed as text
    assert not any("people-team" in t for t in store.get_all(0).texts)

    r2 = run_ingest([root], store, settings)  # idempotent
    assert (r2.added, r2.updated, r2.deleted, r2.records_embedded) == (0, 0, 0, 0)

    (root / kb.PUBLIC_FINANCE_NOTE).with_name("public-note.md.audiences").unlink()  # now the folder's
    (root / "finance" / ".audiences").write_text("finance\naudit\n", encoding="utf-8")
    before = store.get_index(0)
    r3 = run_ingest([root], store, settings)
    assert sorted(r3.changed_keys["updated"]) == sorted(
        [f"{kb.FIN_DOC}#Purchase orders over 50,000", f"{kb.PUBLIC_FINANCE_NOTE}#Month-end close"]
    )
    assert r3.deleted == 0 and r3.added == 0
    tags = tags_by_entry(store)
    assert tags[f"{kb.PUBLIC_FINANCE_NOTE}#Month-end close"] == "audit,finance"
    stale = {rid for rid, m in before.items() if m["entry_key"].startswith("finance/")}
    assert not stale & set(store.get_index(0))  # the old records (old tags) are gone


@pytest.mark.parametrize("column", ["audience", "受众"])
def test_audience_column_names(tmp_path, column, settings):
    from ingest.load import load_file

    f = tmp_path / "faq.csv"
    f.write_text(f"question,answer,{column}\nq1?,a1.,HR;Finance\nq2?,a2.,\n", encoding="utf-8")
    entries = load_file(f, "faq.csv", settings)
    assert [e.audiences for e in entries] == [("finance", "hr"), ()]
