"""Answers in the script of the question: convert fixed and curated texts with OpenCC (pure)."""

from __future__ import annotations

import re
from functools import lru_cache

from app.retrieval.text import detect_lang

__all__ = ["detect_lang", "to_script"]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=4)
def _converter(config: str):
    import opencc  # opencc-python-reimplemented: pure Python, ships its dictionaries

    return opencc.OpenCC(config)


def to_script(text: str, lang: str) -> str:
    """Convert Chinese text to the script of `lang` (zh-Hans / zh-Hant); anything else unchanged."""
    if not text or not _HAN.search(text):
        return text
    if lang == "zh-Hant":
        return _converter("s2t").convert(text)
    if lang == "zh-Hans":
        return _converter("t2s").convert(text)
    return text
