"""app.lang: the shared Han/kana patterns, OpenCC script conversion, language detection."""

from app.lang import HAN, HAN_OR_KANA, HAN_RUN, detect_lang, to_script, to_simplified, to_traditional


def test_han_pattern_covers_the_three_ideograph_blocks_and_nothing_else():
    for ch in ("\u3400", "\u4dbf", "一", "\u9fff", "\uf900", "\ufaff", "婚", "門"):
        assert HAN.fullmatch(ch), hex(ord(ch))
    # kana, CJK punctuation, fullwidth forms, Hangul, Latin and the supplementary plane are not Han
    for ch in ("あ", "カ", "。", "？", "Ａ", "한", "a", "\U00020000"):
        assert not HAN.search(ch), hex(ord(ch))
    assert HAN_RUN.findall("VPN 連不上，怎麼辦?") == ["連不上", "怎麼辦"]


def test_han_or_kana_adds_hiragana_and_katakana_only():
    for ch in ("\u3040", "ひ", "カ", "\u30ff", "婚", "\uf900"):
        assert HAN_OR_KANA.fullmatch(ch), hex(ord(ch))
    for ch in ("。", "a", "한"):
        assert not HAN_OR_KANA.search(ch), hex(ord(ch))
    assert len(HAN_OR_KANA.findall("ひらがなとカタカナ漢字")) == 11
    assert len(HAN.findall("ひらがなとカタカナ漢字")) == 2


def test_conversion_both_ways():
    assert to_simplified("請登錄員工門戶") == "请登录员工门户"
    assert to_traditional("请登录员工门户") == "請登錄員工門戶"
    # already in the target script, or no Han at all: unchanged
    assert to_simplified("请登录员工门户") == "请登录员工门户"
    assert to_traditional("Use the portal.") == "Use the portal."
    assert to_simplified("") == ""
    # mixed text: only the Chinese changes
    assert to_simplified("VPN 連不上 (code 42)") == "VPN 连不上 (code 42)"


def test_to_script_follows_the_language_tag():
    assert to_script("请登录员工门户", "zh-Hant") == "請登錄員工門戶"
    assert to_script("請登錄員工門戶", "zh-Hans") == "请登录员工门户"
    assert to_script("請登錄員工門戶", "en") == "請登錄員工門戶"
    assert to_script("", "zh-Hant") == ""


def test_detect_lang():
    assert detect_lang("How do I reset my password?") == "en"
    assert detect_lang("") == "en"
    assert detect_lang("ひらがな") == "en"  # kana alone is not Chinese
    assert detect_lang("金融卡每日轉帳上限是多少?") == "zh-Hant"
    assert detect_lang("金融卡每日转账上限是多少?") == "zh-Hans"
    # characters shared by both scripts read as Simplified
    assert detect_lang("你好") == "zh-Hans"
    # a Chinese name in a mostly-English sentence stays English; a Chinese sentence with an English
    # product name is Chinese
    assert detect_lang("How to use 玉山 Wallet app on my phone today?") == "en"
    assert detect_lang("VPN 連不上怎麼辦") == "zh-Hant"
