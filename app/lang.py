"""Language and script of a text: the one CJK character pattern, Chinese script conversion, detection.

Pure: no I/O at import. The only state is the OpenCC converters, built lazily on first use and
cached (``_converter``), because loading their dictionaries takes a noticeable fraction of a second.
Imports nothing from the rest of ``app``, so any module (embeddings, retrieval, answering, llm,
evals) can import it at module top without an import loop.

Callers that used to keep their own copies of these patterns and converters: retrieval (tokenising,
query language), answering (answer script), embeddings (Simplified input for E5), llm/classify
(token estimate), evals (answer normalisation).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "HAN",
    "HAN_RUN",
    "HAN_OR_KANA",
    "detect_lang",
    "to_script",
    "to_simplified",
    "to_traditional",
    "warm_up",
]

# Han ideographs: CJK Unified Ideographs Extension A, the URO, and the Compatibility Ideographs.
# Supplementary-plane extensions (B and later) are left out: they are rare in FAQ text and every
# caller has always used exactly this range, so widening it would change detection and tokens.
_HAN_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Hiragana and Katakana. Not Chinese, so not part of HAN: a Japanese kana string must not be read
# as zh or sent through OpenCC. Only token estimation counts kana (one token per character, like Han).
_KANA_CLASS = r"\u3040-\u30ff"

HAN = re.compile(rf"[{_HAN_CLASS}]")
"""One Han character: the test for "is there Chinese in this text"."""
HAN_RUN = re.compile(rf"[{_HAN_CLASS}]+")
"""A maximal run of Han characters (segmentation and bigrams work per run)."""
HAN_OR_KANA = re.compile(rf"[{_KANA_CLASS}{_HAN_CLASS}]")
"""One Han or kana character: what a tokenizer-free token estimate counts as ~1 token each."""

_LATIN = re.compile(r"[A-Za-z]")


@lru_cache(maxsize=4)
def _converter(config: str):
    """An OpenCC converter ('t2s' or 's2t'), built once per config on first use."""
    import opencc  # opencc-python-reimplemented: pure Python, ships its dictionaries

    return opencc.OpenCC(config)


def warm_up() -> None:
    """Build the Traditional->Simplified converter now (startup), not on the first query: detection
    and all normalisation go through it. 's2t' (answers in Traditional only) stays lazy."""
    _converter("t2s")


def to_simplified(text: str) -> str:
    """Chinese in either script as Simplified; text without Han characters is returned as is
    (no OpenCC call: most of an English KB's records)."""
    return _converter("t2s").convert(text) if HAN.search(text) else text


def to_traditional(text: str) -> str:
    """Chinese in either script as Traditional; text without Han characters is returned as is."""
    return _converter("s2t").convert(text) if HAN.search(text) else text


def to_script(text: str, lang: str) -> str:
    """Convert Chinese text to the script of `lang` (zh-Hans / zh-Hant); anything else unchanged.
    Used to answer in the question's script with fixed and curated texts."""
    if not text:  # '' or None pass through untouched
        return text
    if lang == "zh-Hant":
        return to_traditional(text)
    if lang == "zh-Hans":
        return to_simplified(text)
    return text


def detect_lang(text: str) -> str:
    """'zh-Hant', 'zh-Hans' or 'en' (anything without Chinese characters counts as 'en')."""
    han = HAN.findall(text)
    latin = len(_LATIN.findall(text))
    # a CJK character carries about as much as a 3-4 letter word: mostly-English text with a
    # product name in Chinese stays English, any Chinese sentence is Chinese
    if not han or len(han) * 4 < latin:
        return "en"
    # Traditional iff folding to Simplified changes something (characters shared by both scripts
    # leave it unchanged, so all-shared text reads as Simplified)
    joined = "".join(han)
    return "zh-Hant" if to_simplified(joined) != joined else "zh-Hans"
