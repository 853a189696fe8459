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


@pytest.mark.parametrize(
    "encoding,rows", [("gbk", sf.ZH_ROWS), ("gb18030", sf.ZH_ROWS), ("gbk", sf.ZH_TW_ROWS), ("big5", sf.ZH_TW_ROWS)]
)
def test_gbk_gb18030_and_big5_csvs_are_decoded(tmp_path, encoding, rows):
    """Excel/WPS on a Chinese-locale Windows saves CSV as GBK (or Big5 on a Traditional one)."""
    p = sf.write_csv_encoded(tmp_path / "faq.csv", rows, encoding)
    with pytest.raises(UnicodeDecodeError):
        p.read_bytes().decode("utf-8")  # really not UTF-8
    entries = load_file(p, "faq.csv", S)
    assert [(e.key, e.question, e.answer) for e in entries] == [(r["id"], r["question"], r["answer"]) for r in rows]


def test_utf8_with_bom_and_undecodable_csv(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("id,question,answer\nk1,年假？,十天\n".encode("utf-8-sig"))
    assert load_file(p, "bom.csv", S)[0].question == "年假？"
    p = tmp_path / "latin.csv"
    p.write_bytes("id,question,answer\nk1,Où est la cantine ?,Au 2e étage.\n".encode("cp1252"))
    with pytest.raises(IngestError, match="not UTF-8, GB18030/GBK or Big5 text.*save it as UTF-8"):
        load_file(p, "latin.csv", S)


def test_corrupt_pdf_is_not_reported_as_scanned(tmp_path):
    """A parse error says the PDF is unreadable; a readable PDF without text says it has no text layer."""
    from reportlab.pdfgen import canvas

    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(IngestError, match=r"^not a readable PDF: \S") as e:
        load_file(bad, "bad.pdf", S)
    assert "scanned" not in str(e.value)
    truncated = tmp_path / "truncated.pdf"
    whole = sf.write_pdf(tmp_path / "whole.pdf").read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(IngestError, match=r"^not a readable PDF: "):
        load_file(truncated, "truncated.pdf", S)
    scanned = tmp_path / "scanned.pdf"
    c = canvas.Canvas(str(scanned))
    c.rect(72, 72, 300, 400, fill=1)  # an image-only page: drawing, no text
    c.showPage()
    c.save()
    with pytest.raises(IngestError, match=r"^no text layer: a readable PDF \(1 page\)"):
        load_file(scanned, "scanned.pdf", S)


def test_size_check(tmp_path):
    from ingest.load import check_size

    p = tmp_path / "big.txt"
    p.write_bytes(b"x" * (3 * 1024 * 1024 // 2))
    with pytest.raises(IngestError, match=r"^1\.5 MB is over the 1 MB limit \(ASKDESK_INGEST_MAX_FILE_MB\)$"):
        check_size(p, 1)
    check_size(p, 2)
    check_size(p, 0)  # 0: no limit
