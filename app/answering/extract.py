"""Extractive answers: quote the retrieved passages' own sentences instead of letting the LLM write.

The small LLM often writes garbage (above all in Chinese). A quote of the passage sentences that
best match the question, with its [n] citation, is always faithful to the knowledge base.
`extract_answer` picks the sentences by lexical overlap and formats the answer:

    From the Travel Policy (Per-diem rates):
    > The full rate is paid for every day away from home. [1]

Pure: no I/O, no LLM. The only state is two memo caches: the Traditional->Simplified fold of each
character seen, and the analysis of recently seen passages, so a passage retrieved again costs
almost nothing.

How it works:
- Each passage is split into units: sentences (Chinese 。！？；, English . ! ? with care for
  abbreviations, decimals, versions and URLs), markdown list items and table rows, one unit each;
  "Yes." / "有。" stays with the sentence after it. Markdown headings and the "Title > Section" line
  the ingest puts first in a doc chunk are never quoted (a heading ends a quote window).
- A unit's score is the share of the question's terms it holds, each term weighted by its rarity
  across the given passages; a term found only in the passage's title or section heading counts
  nearly as much (an FAQ's question is the best match a user's question has). Chinese is matched
  as Simplified character bigrams (the question's come from inside its jieba words, so bigrams
  across word boundaries do not dilute it), English as stemmed words (app.retrieval.text).
  Question words and chat filler ("多少", "怎么办", "how many", "pls") are not terms.
- The quote is the best contiguous window of up to `max_sentences` units of the best passage; of
  windows that match equally, the longer one (more context). A small prior favours higher-ranked,
  more confident passages. A window is not left ending on a lead such as "as follows:" without
  what follows it, nor opening on "This…"/"其…" without the sentence it refers to. One unit of a
  second passage is added only when it matches the question well by itself and brings a good share
  of terms that neither the first quote nor its title holds (a two-part question), never a repeat.
- Verbatim: each `Quote.text` is one contiguous piece of `normalize_ws(passage.text)`, converted to
  the question's Chinese script (`to_script`) when the question is Chinese. Never translated: an
  English passage is quoted in English for a Chinese question (the lead-in is in the user's language).
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.lang import HAN, HAN_RUN, detect_lang, to_script, to_simplified
from app.retrieval.text import EN_STOP, overlap_units, tokenize

__all__ = [
    "DEFAULT_MIN_OVERLAP",
    "Extract",
    "Passage",
    "Quote",
    "extract_answer",
    "normalize_ws",
    "split_units",
]

DEFAULT_MIN_OVERLAP = 0.3
"""The rarity-weighted share of the question's terms the best unit must hold (with its title's
terms), or there is no extract. Chosen on benchmarks/answering/extract_quality.py."""

_TITLE_CREDIT = 0.9  # a question term found only in the passage's title/heading counts this much
_LENGTH_BONUS = 0.01  # per extra unit: of windows that match equally, quote the longer (more context)
_LEAD_PENALTY = 0.15  # a window ending on "as follows:" while what follows is left out
_ANAPHORA_PENALTY = 0.06  # a window opening on "This…"/"其…" without the unit before it
_PRIOR_CONFIDENCE = 0.05  # × passage confidence: ranks passages, never counts for the threshold
_PRIOR_RANK = (0.03, 0.015)  # first and second passage
_SECOND_MIN_OWN = 0.4  # a second passage's unit must hold this share of the question's terms,
_SECOND_MIN_RATIO = 0.7  # match at least this share of what the first quote does,
_SECOND_MIN_GAIN = 0.25  # add this much to what the first quote and its title hold,
_SECOND_MAX_DICE = 0.5  # and not repeat it
_LONG_ITEM = 240  # a list item longer than this is split into sentences
_ZH_LANGS = ("zh-Hans", "zh-Hant")


@dataclass(frozen=True)
class Quote:
    n: int  # the passage number [n] it comes from (1-based, as the citations use)
    text: str  # verbatim sentences from the passage, converted to the question's script only


@dataclass(frozen=True)
class Extract:
    text: str  # the full answer: a lead-in in the user's language + the quote(s) with [n] citations
    quotes: list[Quote]
    lead_in: str


@dataclass(frozen=True)
class Passage:  # what the chain gives per retrieved hit
    n: int
    title: str  # document title or FAQ question
    section: str  # section heading ("" for FAQ)
    text: str  # FAQ answer or document section text
    kind: str  # "faq" | "doc"
    confidence: float


# ---------------------------------------------------------------------------------------------------
# whitespace and script

_CJK_CLASS = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_SPACES = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
_CJK_GAP = re.compile(rf"(?<=[{_CJK_CLASS}]) (?=[{_CJK_CLASS}])")


def normalize_ws(text: str) -> str:
    """Each line with runs of spaces collapsed and its ends stripped, blank lines dropped, and no
    space left between two Chinese characters or marks (PDF line wraps leave "回收 处置").
    Every `Quote.text` is a contiguous piece of this (before script conversion)."""
    out = []
    for line in text.splitlines():
        line = _CJK_GAP.sub("", _SPACES.sub(" ", line).strip())
        if line:
            out.append(line)
    return "\n".join(out)


_FOLD: dict[int, str] = {}  # Han character -> its Simplified (NFKC) form, where that differs
_SEEN: set[str] = set()  # characters already looked at


def _fold(text: str) -> str:
    """Chinese characters in Simplified, character by character (cached; same length): converting
    every passage with OpenCC would cost ~1 ms per 700 characters, most of a call's budget."""
    missing = set(text).difference(_SEEN)
    if missing:
        han = [c for c in missing if HAN.match(c)]
        converted = to_simplified("\n".join(han)).split("\n") if han else []
        if len(converted) != len(han):  # a phrase rule joined two lines: one at a time
            converted = [to_simplified(c) for c in han]
        for c, simple in zip(han, converted, strict=True):
            simple = unicodedata.normalize("NFKC", simple)
            if len(simple) == 1 and simple != c:
                _FOLD[ord(c)] = simple
        _SEEN.update(missing)
    return text.translate(_FOLD)


def _to_script(text: str, lang: str) -> str:
    """`to_script`, skipped for Simplified text wanted in Simplified (most quotes: OpenCC costs
    ~0.3 ms per 200 characters)."""
    if lang == "zh-Hans" and _fold(text) == text:
        return text
    return to_script(text, lang)


# ---------------------------------------------------------------------------------------------------
# units: sentences, list items, table rows

_HEADING = re.compile(r"^#{1,6}\s")
_TABLE_ROW = re.compile(r"^\|.*\|$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_LIST_ITEM = re.compile(
    r"^(?:[-*+•·▪]\s+|\d{1,2}[.)]\s+|\d{1,2}、|[（(]\d{1,2}[）)]\s*|[一二三四五六七八九十]{1,3}、|[a-z][.)]\s+)"
)
_ZH_END = re.compile(r"[。！？；]+[”’」』）)》\"']*\s*")
_ZH_ASCII_END = re.compile(r"(?<=[\u3400-\u9fff])[.!?](?=[\u3400-\u9fff])")
_EN_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")  # an end mark (and closing marks) before a space
_LAST_WORD = re.compile(r"(\S+)$")
_NEVER_END = frozenset(
    ["e.g", "i.e", "mr", "mrs", "ms", "dr", "prof", "st", "no", "nos", "vs", "approx", "ext", "fig",
     "figs", "cf", "incl", "dept", "tel", "jr", "sr", "vol", "pp", "p", "ref", "op", "art", "sec", "ch",
     "para", "nr"]
)  # fmt: skip
_END_IF_CAPITAL = frozenset(["etc", "ltd", "inc", "co", "corp", "a.m", "p.m", "am", "pm"])
_DOTTED_ABBR = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
_OPENERS = "\"'“‘(（[*「『《"
_LEAD_END = re.compile(r"[:：][”’」』)\]]*$")
_ANAPHORA_EN = re.compile(
    r"^(?:this|that|these|those|it|its|they|their|such|however|but|also|otherwise|then|in this case|"
    r"in that case|if so|if not)\b",
    re.IGNORECASE,
)
_ANAPHORA_ZH = re.compile(r"^(?:此外|另外|但|不过|否则|如果没有|这|该|其|它|此|同时|因此|所以|然后|如仍|仍)")


def _en_boundary(line: str, m: re.Match) -> bool:
    """Whether the English end mark `m` ends a sentence: a capital, a digit, Chinese or an opening
    mark must follow, and it must not close an abbreviation ("e.g.", "ext. 8000", "J. Smith")."""
    rest = line[m.end() :].lstrip()
    if not rest:
        return True
    nxt = rest[0]
    capital = nxt.isupper() or bool(HAN.match(nxt)) or nxt in _OPENERS
    if not (capital or nxt.isdigit()):
        return False  # "approx. three", "vs. the"
    if line[m.start()] != ".":
        return True
    if m.start() > 0 and HAN.match(line[m.start() - 1]):
        return True
    w = _LAST_WORD.search(line, 0, m.start())
    if not w:
        return True
    word = w.group(1).lstrip(_OPENERS).rstrip(".")
    low = word.lower()
    if low in _NEVER_END:
        return False
    if low in _END_IF_CAPITAL:
        return capital  # "Co., Ltd. It sets" ends; "etc. 5" does not
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial
    return not _DOTTED_ABBR.match(word)  # U.S., a.k.a


_SHORT_ANSWER = re.compile(
    r"^(?:yes|no|sure|correct|right|ok|okay|不|不是|不行|不能|不会|不可以|不需要|不用|可以|能|行|会|是|是的|有|没有|沒有|对|對|"
    r"需要|不对|不對)[.!。！]$",
    re.IGNORECASE,
)


def _is_short_answer(sentence: str) -> bool:
    return len(sentence) <= 3 or bool(_SHORT_ANSWER.match(sentence))


def _sentence_spans(line: str, start: int = 0) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a line from `start`, without the spaces around it."""
    cuts = {m.end() for m in _ZH_END.finditer(line, start)}
    if "." in line or "!" in line or "?" in line:
        cuts.update(m.end() for m in _EN_END.finditer(line, start) if _en_boundary(line, m))
        cuts.update(m.end() for m in _ZH_ASCII_END.finditer(line, start))  # "吗?下一句"
    spans: list[tuple[int, int]] = []
    pos = start
    for cut in [*sorted(cuts), len(line)]:
        seg = line[pos:cut]
        if cut > pos and seg.strip():
            spans.append((pos + len(seg) - len(seg.lstrip()), pos + len(seg.rstrip())))
        pos = max(pos, cut)
    # "Yes." / "No." / "有。" / "不可以。" opens the sentence after it: one unit
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and _is_short_answer(line[merged[-1][0] : merged[-1][1]]) and len(merged) == 1:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _line_units(lines: Sequence[str]) -> list[tuple[int, int, int, str]]:
    """(line, start, end, kind) of each unit; kind "heading" is a window barrier, not a unit."""
    out: list[tuple[int, int, int, str]] = []
    for i, line in enumerate(lines):
        if _HEADING.match(line):
            out.append((i, 0, len(line), "heading"))
        elif _TABLE_RULE.match(line) and "-" in line:
            continue  # a table's header rule: inside a quote, never one
        elif _TABLE_ROW.match(line):
            out.append((i, 0, len(line), "row"))
        elif m := _LIST_ITEM.match(line):
            spans = _sentence_spans(line, m.end()) if len(line) > _LONG_ITEM else []
            if len(spans) > 1:  # a long item: its sentences, the marker staying with the first
                spans[0] = (0, spans[0][1])
                out.extend((i, s, e, "item") for s, e in spans)
            else:
                out.append((i, 0, len(line), "item"))
        else:
            out.extend((i, s, e, "sent") for s, e in _sentence_spans(line))
    return out


def split_units(text: str) -> list[str]:
    """The quotable units of a text in order (sentences, list items, table rows), whitespace
    normalised: the split `extract_answer` chooses from."""
    lines = normalize_ws(text).split("\n") if text else []
    return [lines[ln][s:e] for ln, s, e, kind in _line_units(lines) if kind != "heading"]


# ---------------------------------------------------------------------------------------------------
# terms

# question words and chat filler: in most questions and many FAQ titles, matching nothing useful
_ZH_ASK = frozenset(
    (
        "多少", "多久", "为啥", "为什么", "怎么办", "怎样", "怎么样", "哪里", "哪儿", "哪个", "哪些", "是否", "能否", "有没有", "能不能",
        "可不可以", "是不是", "一下", "一个", "那边", "这边", "什么样", "有人", "到底"
    )
)  # fmt: skip
_ZH_FUNCTION = frozenset(
    "还能要会就都也不没用说做去来到给让把被得着过再又才很太更最好多少几哪谁啥么呀嘛哦吗呢吧啊了的地是在有我你他她它们这那"
)
_EN_ASK = frozenset(
    (
        "many", "much", "please", "thank", "thanks", "hi", "hello", "hey", "im", "ive", "dont", "cant",
        "know", "tell", "want", "wanna", "like", "someone", "anyone", "anything", "something", "ok", "okay",
        "supposed", "rn", "pls", "plz", "u", "ur", "long", "often"
    )
)  # fmt: skip


def _with_parts(words: Iterable[str]) -> set[str]:
    """Words plus the parts of hyphenated ones: "per-diem" also matches "per diem"."""
    out = set(words)
    for w in list(out):
        if "-" in w and not w[0].isdigit():
            out.update(x for x in w.split("-") if x and x not in EN_STOP)
    return out


_WORDISH = re.compile(r"[A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")  # what overlap_units can find


def _units_of(text: str) -> frozenset[str]:
    """A folded (`_fold`) text's terms: character bigrams plus stemmed English words."""
    units: set[str] = set()
    if HAN.search(text):
        for run in HAN_RUN.findall(text):
            units.update(map(operator.add, run[:-1], run[1:]) if len(run) > 1 else (run,))
        text = HAN_RUN.sub(" ", text)
    if _WORDISH.search(text):
        units |= _with_parts(overlap_units(text))
    return frozenset(units)


def _question_units(question: str) -> tuple[frozenset[str], frozenset[str]]:
    """The question's terms, and optional ones that count only where some passage holds them.
    Chinese: the bigrams inside its jieba words (a bigram across a word boundary is noise no passage
    holds); two content characters jieba left apart ("年" "假") make an optional bigram. English:
    stemmed words and the parts of hyphenated ones. Question words and filler are dropped."""
    units: set[str] = set()
    optional: set[str] = set()
    prev = ""
    for tok in tokenize(question):
        if not HAN.search(tok):
            prev = ""
            if tok not in _EN_ASK:
                units |= _with_parts([tok])
        elif len(tok) == 1:
            if prev and not {prev, tok} & _ZH_FUNCTION:
                optional.add(prev + tok)
            prev = tok
        else:
            prev = ""
            if tok not in _ZH_ASK and not tok.startswith("几"):
                units.update(tok[i : i + 2] for i in range(len(tok) - 1))
    return frozenset(units), frozenset(optional - units)


# ---------------------------------------------------------------------------------------------------
# passages


@dataclass(frozen=True)
class _Unit:
    line: int
    start: int
    end: int
    block: int  # units of one block may share a quote (a heading starts the next block)
    units: frozenset[str]
    lead: bool  # ends with a colon: what it introduces follows
    anaphoric: bool  # opens with "This…" / "其…"
    fragment: bool  # the cut-off tail of the chunk before: never quoted


@dataclass(frozen=True)
class _Parsed:
    lines: tuple[str, ...]
    units: tuple[_Unit, ...]
    context: frozenset[str]  # terms of the title and section heading
    all_units: frozenset[str]  # terms of the whole text


def _is_context_line(line: str, title: str, section: str) -> bool:
    names = {
        normalize_ws(x) for x in (title, section, f"{title} > {section}" if title and section else "") if x
    }
    return line.lstrip("#").strip() in names


@lru_cache(maxsize=512)
def _parse(text: str, title: str, section: str, kind: str) -> _Parsed:
    lines = tuple(normalize_ws(text).split("\n")) if text else ()
    folded = tuple(_fold("\n".join(lines)).split("\n"))  # same offsets as `lines`
    # the ingest starts every doc chunk with "Title > Section"; an FAQ text may start with its question
    skip = 1 if lines and _is_context_line(lines[0], title, section) else 0
    units: list[_Unit] = []
    block = 0
    for ln, s, e, k in _line_units(lines):
        if ln < skip:
            continue
        if k == "heading":
            block += 1
            continue
        body = folded[ln][s:e]
        units.append(
            _Unit(
                line=ln, start=s, end=e, block=block, units=_units_of(body),
                lead=bool(_LEAD_END.search(body)),
                anaphoric=bool(_ANAPHORA_EN.match(body) or _ANAPHORA_ZH.match(body)),
                # every doc chunk after a section's first opens with the tail of the one before
                fragment=not units and kind == "doc" and k == "sent" and body[:1].islower(),
            )
        )  # fmt: skip
    return _Parsed(
        lines=lines,
        units=tuple(units),
        context=_units_of(_fold(f"{title}\n{section}")),
        all_units=frozenset().union(*(u.units for u in units)),
    )


def _span_text(parsed: _Parsed, i: int, j: int) -> str:
    """The normalised passage text from the start of unit i to the end of unit j."""
    a, b = parsed.units[i], parsed.units[j]
    if a.line == b.line:
        return parsed.lines[a.line][a.start : b.end]
    middle = parsed.lines[a.line + 1 : b.line]
    return "\n".join([parsed.lines[a.line][a.start :], *middle, parsed.lines[b.line][: b.end]])


# ---------------------------------------------------------------------------------------------------
# scoring and choice


@dataclass(frozen=True)
class _Scorer:
    w: dict[str, float]  # question term -> weight
    total: float

    def cover(self, have: frozenset[str] | set[str], context: frozenset[str] = frozenset()) -> float:
        """Weighted share of the question's terms in `have`; those only in `context` count less."""
        s = 0.0
        for t, w in self.w.items():
            if t in have:
                s += w
            elif t in context:
                s += _TITLE_CREDIT * w
        return s / self.total


@dataclass(frozen=True)
class _Choice:
    p: int  # index into the passages
    i: int  # first unit of the window
    j: int  # last unit (inclusive)
    score: float  # the window's, with the passage prior
    best_unit: float  # the best single unit's coverage: what the threshold is checked on
    have: frozenset[str]  # terms of the window


def _best_window(
    parsed: _Parsed, sc: _Scorer, max_sentences: int, max_chars: int
) -> tuple[float, int, int] | None:
    units = parsed.units
    best: tuple[float, int, int] | None = None
    for i, first in enumerate(units):
        if first.fragment:
            continue
        opens_badly = (
            first.anaphoric and i > 0 and units[i - 1].block == first.block and not units[i - 1].fragment
        )
        have: set[str] = set()
        for j in range(i, min(len(units), i + max_sentences)):
            if units[j].block != first.block or (j > i and len(_span_text(parsed, i, j)) > max_chars):
                break
            have |= units[j].units
            score = sc.cover(have, parsed.context) + _LENGTH_BONUS * (j - i)
            if units[j].lead and j + 1 < len(units) and units[j + 1].block == first.block:
                score -= _LEAD_PENALTY
            if opens_badly:
                score -= _ANAPHORA_PENALTY
            if best is None or score > best[0] + 1e-9:
                best = (score, i, j)
    return best


def _truncate(text: str, limit: int) -> str:
    """The longest prefix of `text` within `limit` characters that ends at a sentence, clause or
    word boundary (any cut at all when there is none in its second half)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for marks in ("。！？；.!?;", "，,、：:）)", " \n"):
        k = max(cut.rfind(m) for m in marks)
        if k >= limit // 2:
            return cut[: k + 1].rstrip(" \n，,、：:")
    return cut.rstrip()


def _lead_in(p: Passage, lang: str, also: bool = False) -> str:
    zh = lang in _ZH_LANGS
    title = " ".join(normalize_ws(p.title or "").split())
    section = " ".join(normalize_ws(p.section or "").split())
    if zh:
        title, section = _to_script(title, lang), _to_script(section, lang)
        by = ("另據" if also else "根據") if lang == "zh-Hant" else ("另据" if also else "根据")
        faq, kb = ("常見問題", "知識庫") if lang == "zh-Hant" else ("常见问题", "知识库")
    head = "Also, from the" if also else "From the"
    if p.kind == "faq" and title:
        return f"{by}{faq}「{title}」：" if zh else f"{head} FAQ “{title}”:"
    if not title:
        title, section = section, ""
    if not title:
        return f"{by}{kb}：" if zh else f"{head} knowledge base:"
    where = section if section and section != title else ""
    if zh:
        return f"{by}《{title}》（{where}）：" if where else f"{by}《{title}》："
    return f"{head} {title} ({where}):" if where else f"{head} {title}:"


def _render(lead: str, quote: Quote, truncated: bool) -> str:
    lines = quote.text.split("\n")
    body = [f"> {ln}" for ln in lines]
    if _TABLE_ROW.match(lines[-1]):  # after a table row the marker would read as one more cell
        body += [">", f"> [{quote.n}]"]
    else:
        body[-1] += f"{'…' if truncated else ''} [{quote.n}]"
    return lead + "\n" + "\n".join(body)


def extract_answer(
    question: str,
    passages: Sequence[Passage],
    lang: str,
    *,
    max_sentences: int = 3,
    max_chars: int = 600,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> Extract | None:
    """The passages' sentences that best match the question, quoted with their [n] after a lead-in
    in `lang` ("en", "zh-Hans", "zh-Hant"; anything else: detected from the question); None when
    there are no passages or no unit holds `min_overlap` of the question's weighted terms (the
    caller then gives its "not in the knowledge base" reply).

    `passages` come in rank order. At most `max_sentences` units (sentences, list items, table rows)
    come from the best passage, plus at most one from a second passage. `max_chars` bounds the quoted
    text (the sum of the `Quote.text` lengths), not the lead-in and markup; a single unit longer than
    that is cut at a clause or word boundary and shown with "…".
    """
    if max_sentences < 1 or max_chars < 1:
        raise ValueError("max_sentences and max_chars must be positive")
    if lang not in ("en", *_ZH_LANGS):
        lang = detect_lang(question)
    required, optional = _question_units(question)
    if not (required or optional) or not passages:
        return None
    parsed = [_parse(p.text or "", p.title or "", p.section or "", p.kind) for p in passages]
    # rarity across the given passages: a term all of them hold tells them apart least
    terms = required | optional
    df = dict.fromkeys(terms, 0)
    for pp in parsed:
        for t in terms & pp.all_units:
            df[t] += 1
    q = required | {t for t in optional if df[t]}
    if not q:
        return None
    w = {t: 1.0 + math.log((len(parsed) + 1) / (df[t] + 0.5)) for t in q}
    sc = _Scorer(w=w, total=sum(w.values()))

    choices: list[_Choice] = []
    for k, (p, pp) in enumerate(zip(passages, parsed, strict=True)):
        win = _best_window(pp, sc, max_sentences, max_chars) if (pp.all_units | pp.context) & q else None
        if win is None:
            continue
        score, i, j = win
        best_unit = max(sc.cover(u.units, pp.context) for u in pp.units if not u.fragment)
        conf = min(max(float(p.confidence or 0.0), 0.0), 1.0)
        prior = _PRIOR_CONFIDENCE * conf + (_PRIOR_RANK[k] if k < len(_PRIOR_RANK) else 0.0)
        have = frozenset().union(*(u.units for u in pp.units[i : j + 1]))
        choices.append(_Choice(p=k, i=i, j=j, score=score + prior, best_unit=best_unit, have=have))
    choices = [c for c in choices if c.best_unit >= min_overlap]
    if not choices:
        return None
    first = max(choices, key=lambda c: (c.score, -c.p))

    p1 = passages[first.p]
    text1 = _span_text(parsed[first.p], first.i, first.j)
    truncated = len(text1) > max_chars
    text1 = _truncate(text1, max_chars)
    if lang in _ZH_LANGS:
        text1 = _truncate(_to_script(text1, lang), max_chars)
    quotes = [Quote(n=p1.n, text=text1)]
    lead = _lead_in(p1, lang)
    parts = [_render(lead, quotes[0], truncated)]

    # one more fact from another passage (a two-part question): a unit that matches well by itself
    # and holds a good share of question terms that neither the first quote nor its title holds
    context1 = parsed[first.p].context
    base = sc.cover(first.have, context1)
    extra: tuple[float, int, int] | None = None
    for c in choices:
        if c.p == first.p or passages[c.p].n == p1.n:
            continue
        for idx, u in enumerate(parsed[c.p].units):
            if u.fragment or u.lead:
                continue
            own = sc.cover(u.units, parsed[c.p].context)
            if own < max(min_overlap, _SECOND_MIN_OWN, _SECOND_MIN_RATIO * base):
                continue
            gain = sc.cover(first.have | u.units, context1) - base  # what neither the quote nor its title has
            dice = 2 * len(u.units & first.have) / max(1, len(u.units) + len(first.have))
            if (
                gain >= _SECOND_MIN_GAIN
                and dice < _SECOND_MAX_DICE
                and (extra is None or own + gain > extra[0])
            ):
                extra = (own + gain, c.p, idx)
    if extra is not None:
        _, k, idx = extra
        text2 = _span_text(parsed[k], idx, idx)
        if lang in _ZH_LANGS:
            text2 = _to_script(text2, lang)
        if len(text1) + len(text2) <= max_chars:
            quotes.append(Quote(n=passages[k].n, text=text2))
            parts.append(_render(_lead_in(passages[k], lang, also=True), quotes[1], False))
    return Extract(text="\n\n".join(parts), quotes=quotes, lead_in=lead)
