"""Query/record text handling for lexical retrieval: tokenisation and overlap units.

Chinese in either script is normalised to Simplified (OpenCC t2s, app.lang) before jieba
segmentation, so a Traditional query matches a Simplified FAQ and back. English is lower-cased words
with a light plural strip and stop words removed. jieba and OpenCC load lazily (first call), never at
import. Language detection and script conversion live in app.lang.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

from app.lang import HAN, HAN_RUN, to_simplified
from app.lang import warm_up as _warm_up_opencc

_WORD = re.compile(r"[a-z0-9]+(?:[._'-][a-z0-9]+)*")

EN_STOP = frozenset(
    """a an and are as at be but by can could did do does doing for from had has have how i if in into is
    it its me my of on or our so that the their them then there these they this to was we were what when
    where which who why will with would you your yours am been being he she his her him us just than too
    very any some all also about get""".split()
)
ZH_STOP = frozenset("的 了 吗 呢 吧 啊 是 在 和 与 及 或 我 你 您 他 她 它 们 这 那 有 要 会 可以 怎么 如何 什么 请问 请 一下".split())

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        jieba.initialize()
    return jieba


def warm_up() -> None:
    """Load the OpenCC tables and jieba's dictionary now (startup), not on the first query."""
    _warm_up_opencc()
    _jieba()
    is_noun("产假")  # jieba's tagger loads on its first use


@lru_cache(maxsize=4096)
def is_noun(word: str) -> bool:
    """A Chinese word jieba's tagger reads as a noun of two or more characters (产假, 笔记本电脑:
    what an FAQ entry is about, not 输入 / 推迟 / 一直); an English word of three or more letters
    (no tagger here: every content word counts)."""
    if HAN.search(word):
        if len(word) < 2:
            return False
        import jieba.posseg

        _jieba()
        tags = jieba.posseg.lcut(word)
        return len(tags) == 1 and tags[0].flag.startswith("n")
    return len(word) >= 3 and word not in EN_STOP


def _stem(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def tokenize(text: str) -> list[str]:
    """Lexical tokens: jieba words (search mode) over Simplified Chinese, stemmed English words."""
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    if HAN.search(text):
        text = to_simplified(text)
        jb = _jieba()
        for run in HAN_RUN.findall(text):
            out.extend(w for w in jb.lcut_for_search(run) if w not in ZH_STOP)
        text = HAN_RUN.sub(" ", text)
    out.extend(_stem(w) for w in _WORD.findall(text) if w not in EN_STOP)
    return out


def overlap_units(text: str) -> set[str]:
    """Units for a cheap overlap measure: Chinese character bigrams (no segmentation, so robust to
    jieba splitting a query and an FAQ differently; Simplified) plus stemmed English words."""
    text = unicodedata.normalize("NFKC", text).lower()
    units: set[str] = set()
    if HAN.search(text):
        text = to_simplified(text)
        for run in HAN_RUN.findall(text):
            units.update(run[i : i + 2] for i in range(len(run) - 1))
            if len(run) == 1:
                units.add(run)
        text = HAN_RUN.sub(" ", text)
    units.update(_stem(w) for w in _WORD.findall(text) if w not in EN_STOP)
    return units


def overlap(query_units: set[str], text_units: set[str]) -> float:
    """Share of the query's units found in a text's units (0..1)."""
    if not query_units:
        return 0.0
    return len(query_units & text_units) / len(query_units)


def dice_overlap(a: set[str], b: set[str]) -> float:
    """Symmetric overlap 2|a&b| / (|a|+|b|): unlike `overlap` it also drops when the FAQ question
    says things the query does not (a neighbouring question on the same topic)."""
    if not a and not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))
