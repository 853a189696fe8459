"""Loaders on real files of every format (unstructured runs offline, for real)."""

from __future__ import annotations

import pytest

from app.errors import IngestError
from app.settings import Settings
from ingest.load import NotKnowledge, load_file
from tests.conftest import SHARED_DATA
from tests.ingest import sample_files as sf

S = Settings(_env_file=None)


def test_csv_keeps_ids_and_splits_related_questions(tmp_path):
    entries = load_file(sf.write_csv(tmp_path / "faq.csv"), "faq.csv", S)
    assert [e.key for e in entries] == ["it-001", "hr-001"]
    assert entries[0].related_questions == ("VPN password forgot", "reset vpn login")
    assert entries[1].lang == "zh-Hans" and entries[1].category == "HR"


def test_xlsx_with_other_column_names(tmp_path):
    entries = load_file(sf.write_xlsx(tmp_path / "f.xlsx"), "f.xlsx", S)
    assert [e.key for e in entries] == ["fac-001", "fac-002"]
    assert entries[0].answer.startswith("At the front desk")


def test_json_and_jsonl(tmp_path):
    assert load_file(sf.write_jsonl(tmp_path / "a.jsonl"), "a.jsonl", S)[0].related_questions == (
        "expense payout date",
    )
    assert load_file(sf.write_json(tmp_path / "b.json"), "b.json", S)[0].key == "fin-002"


def test_configurable_columns(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("ref,ask,reply\nk1,Where is the canteen?,Floor 2.\n")
    with pytest.raises(IngestError, match="no question/answer columns"):
        load_file(p, "t.csv", S)
    custom = Settings(_env_file=None, qa_id_columns=["ref"], qa_question_columns=["ask"], qa_answer_columns=["reply"])
    assert load_file(p, "t.csv", custom)[0].key == "k1"


def test_question_sets_are_not_knowledge(tmp_path):
    with pytest.raises(NotKnowledge):
        load_file(sf.write_queries_jsonl(tmp_path / "queries.jsonl"), "queries.jsonl", S)


@pytest.mark.parametrize("pack", ["esun_faq_zh_tw", "stackfaq_en"])
def test_shared_pack_knowledge_loads_with_given_ids(pack):
    path = SHARED_DATA / pack / "knowledge.jsonl"
    if not path.exists():
        pytest.skip("../shared/data is absent")
    entries = load_file(path, "knowledge.jsonl", S)
    assert len(entries) == sum(1 for line in path.open() if line.strip())
    assert all(e.key.startswith(("esun-", "stackfaq-", "zcf-")) for e in entries)
    if pack == "esun_faq_zh_tw":
        assert any(e.related_questions for e in entries)


def test_markdown_sections(tmp_path):
    p = tmp_path / "remote.md"
    p.write_text(sf.MD, encoding="utf-8")
    entries = load_file(p, "docs/remote.md", S)
    assert [e.section for e in entries] == ["Remote Work Policy", "Equipment", "Security"]
    assert all(e.title == "Remote Work Policy" for e in entries)
    assert "27-inch monitor" in entries[1].chunks[0]


def test_html_sections(tmp_path):
    p = tmp_path / "b.html"
    p.write_text(sf.HTML, encoding="utf-8")
    entries = load_file(p, "b.html", S)
    assert "Lost badges" in [e.section for e in entries]
    assert any("50 yuan" in c for e in entries for c in e.chunks)


def test_docx_sections(tmp_path):
    entries = load_file(sf.write_docx(tmp_path / "o.docx"), "o.docx", S)
    assert [e.section for e in entries] == ["Onboarding Guide", "First day"]


def test_pdf_sections_and_pages(tmp_path):
    entries = load_file(sf.write_pdf(tmp_path / "r.pdf"), "r.pdf", S)
    by_section = {e.section: e for e in entries}
    assert by_section["Email Archiving"].page == 2
    assert "seven years" in by_section["Data Retention Policy"].answer


def test_txt(tmp_path):
    p = tmp_path / "n.txt"
    p.write_text("Printer codes\n\nThe printer PIN is your employee number.\n")
    entries = load_file(p, "n.txt", S)
    assert any("employee number" in c for e in entries for c in e.chunks)


@pytest.mark.parametrize(
    "name,content",
    [("bad.docx", b"this is not a zip"), ("bad.pdf", b"%PDF-1.4 garbage"), ("bad.xlsx", b"nope"),
     ("bad.jsonl", b'{"id": 1, "question": "q", "answer": "a"}\n{broken'), ("empty.csv", b"")],
)  # fmt: skip
def test_corrupt_files_raise_a_clear_ingest_error(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(IngestError) as e:
        load_file(p, name, S)
    assert str(e.value) and "Traceback" not in str(e.value)
