"""Stage 2 (pure): partitioned document elements -> sections -> size-capped, overlapping chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.records import Entry

HEADING_CATEGORIES = {"Title"}
SKIP_CATEGORIES = {"PageBreak", "Footer", "PageNumber"}
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*")


@dataclass(frozen=True)
class Element:
    category: str
    text: str
    page: int = -1


@dataclass
class Section:
    heading: str
    page: int
    paragraphs: list[str] = field(default_factory=list)


def norm_ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _looks_like_heading(text: str) -> bool:
    """unstructured's Title guess relies on an English POS tagger, so in Chinese PDFs whole sentences
    come back as titles. A heading is short and does not end like a sentence."""
    t = norm_ws(text)
    return 0 < len(t) <= 80 and not t.endswith(("。", "！", "？", "；", ".", "!", "?", ";", "，", ","))


def split_sections(elements: list[Element], default_title: str) -> tuple[str, list[Section]]:
    """Group elements under their nearest heading. Returns (document title, sections with body).

    The first heading is the document title; text before any heading belongs to a section named
    after the title. Headings without body text (e.g. a title directly followed by a subheading)
    produce no section.
    """
    title = ""
    sections: list[Section] = []
    current: Section | None = None
    # PDF partitioning calls a heading at the top of a page a "Header"; a running header repeats on
    # every page, a section heading does not.
    header_counts: dict[str, int] = {}
    for el in elements:
        if el.category == "Header":
            header_counts[norm_ws(el.text)] = header_counts.get(norm_ws(el.text), 0) + 1
    for el in elements:
        if el.category in SKIP_CATEGORIES:
            continue
        if el.category == "Header" and header_counts[norm_ws(el.text)] > 1:
            continue
        if el.category in HEADING_CATEGORIES | {"Header"} and _looks_like_heading(el.text):
            heading = norm_ws(el.text)
            if not title:
                title = heading
            current = Section(heading=heading, page=el.page)
            sections.append(current)
            continue
        if current is None:
            current = Section(heading=title or default_title, page=el.page)
            sections.append(current)
        current.paragraphs.append(el.text.strip())
    title = title or default_title
    return title, [s for s in sections if s.paragraphs]


def _pieces(text: str, cap: int) -> list[str]:
    """Sentences, with any sentence longer than `cap` hard-split."""
    out: list[str] = []
    for sent in _SENTENCE_END.split(text):
        sent = sent.strip()
        while len(sent) > cap:
            out.append(sent[:cap])
            sent = sent[cap:]
        if sent:
            out.append(sent)
    return out


def chunk_text(paragraphs: list[str], size: int, overlap: int) -> list[str]:
    """Greedy packing of paragraphs (then sentences) into chunks of at most `size` characters; each
    chunk after the first starts with up to `overlap` characters of the previous one's tail."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    overlap = max(0, min(overlap, size // 2))
    units: list[str] = []
    for p in paragraphs:
        units.extend([p] if len(p) <= size else _pieces(p, size))
    chunks: list[str] = []
    buf = ""
    for u in units:
        candidate = f"{buf}\n{u}" if buf else u
        if len(candidate) <= size:
            buf = candidate
            continue
        chunks.append(buf)
        tail = buf[-overlap:] if overlap else ""
        if tail and " " in tail:  # start the overlap on a word boundary where there is one
            tail = tail[tail.index(" ") + 1 :]
        buf = f"{tail}\n{u}" if tail and len(tail) + 1 + len(u) <= size else u
    if buf:
        chunks.append(buf)
    return chunks


def sections_to_entries(
    titled: tuple[str, list[Section]], *, source: str, chunk_size: int, overlap: int
) -> list[Entry]:
    """One entry per section, keyed `<source>#<heading>`; chunk texts carry the title and heading
    so that each vector knows what it is about."""
    title, sections = titled
    entries: list[Entry] = []
    used: dict[str, int] = {}
    for s in sections:
        n = used.get(s.heading, 0) + 1
        used[s.heading] = n
        section = s.heading if n == 1 else f"{s.heading} ({n})"
        context = title if section == title else f"{title} > {section}"
        chunks = tuple(f"{context}\n{c}" for c in chunk_text(s.paragraphs, chunk_size, overlap))
        entries.append(
            Entry(
                key=f"{source}#{section}",
                kind="doc",
                source=source,
                title=title,
                section=section,
                page=s.page,
                chunks=chunks,
                answer="\n".join(s.paragraphs),
            )
        )
    return entries
