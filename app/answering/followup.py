"""Does a message need the conversation before it? Pure rules, no I/O.

Every message is first read on its own. History is used only when the message points back at it:
an ellipsis ("and for directors?", 那海外呢？, "what about the second one?"), a pronoun with nothing to
refer to in the message itself ("how do I renew it?"), or a fragment too short to be a question of
its own. A message that stands on its own is answered as if it were the first of the session: a
small model's rewrite drags the earlier topic into a new question far more often than it helps.
"""

from __future__ import annotations

import re
from typing import Literal

from app.retrieval.text import tokenize

# openings that continue the previous question ("and for directors?", "what about Tokyo?")
_EN_CONTINUES = re.compile(
    r"^\s*((ok|okay|hmm|well|alright|right|thanks)[,.!\s]+)?"  # "ok, what about unpaid leave then?"
    r"(and|also|or|but|so|then|what about|how about|what if|same for|same with|"
    r"what else|anything else|which one|the (first|second|third|last|other) one)\b",
    re.IGNORECASE,
)
# a question about what was just said: "my family lives 1,200 km away, does that change anything?"
_EN_ASKS_ABOUT_IT = re.compile(r"\b(does|do|will|would) (that|this|it|they) \w+", re.IGNORECASE)
# words that refer back to something named earlier
_EN_REFERS = re.compile(
    r"\b(it|its|it's|that|this|these|those|they|them|their|the same|above|former|latter|previous|mentioned)\b",
    re.IGNORECASE,
)
_ZH_CONTINUES = re.compile(
    r"^\s*(那|那么|那麼|还有|還有|另外|而且|并且|並且|以及|如果是|要是|換成|换成|至于|至於)"
    r"|也(有|可以|能|行|适用|適用|算|一样|一樣)"  # 深圳办公室也有吗: "also" points at the earlier subject
)
_ZH_ENDS_LIKE_ELLIPSIS = re.compile(r"(呢|的呢|咧)\s*[？?。.！!]*\s*$")
_ZH_REFERS = re.compile(r"(它|它们|它們|这个|這個|那个|那個|这些|這些|那些|上面|上述|刚才|剛才|前面|第[一二三四五六七八九十\d]+[个個条條项項种種])")

# a message with fewer content terms than this may be a fragment of the conversation ("Tokyo?")
_MIN_STANDALONE_TERMS = 2
# after a continuing opener, this many content terms name a subject of the message's own
_OPENER_STANDALONE_TERMS = 4

Need = Literal["none", "weak", "strong"]


def history_need(message: str) -> Need:
    """How much the message points back at the conversation.

    strong: it continues the previous question (an opening like "and ..."/那..., an ellipsis ending
    in 呢, or a pronoun in a message too short to name its own subject): read it with the history.
    weak: a short fragment ("gym?"): read it alone first, and with the history only if alone it
    finds nothing. none: it stands on its own: read it as the first message of a session."""
    text = message.strip()
    if not text:
        return "none"
    if _ZH_ENDS_LIKE_ELLIPSIS.search(text) or _EN_ASKS_ABOUT_IT.search(text):
        return "strong"
    terms = tokenize(text)
    refers = bool(_ZH_REFERS.search(text) or _EN_REFERS.search(text))
    if _EN_CONTINUES.search(text) or _ZH_CONTINUES.search(text):
        # "and for directors?" / 那老公可以请几天 continue the last question; an opener in front of a
        # question that names its own subject ("另外想问，年假一年总共有几天", "also, outlook says my
        # mailbox is almost full, how big is it supposed to be?") starts a new topic: it is read as
        # the first message of a session would be (the labelled topic switches start with
        # 另外/还有/also; a pronoun there refers inside the message)
        return "strong" if len(_words(terms)) < _OPENER_STANDALONE_TERMS else "none"
    if refers and len(terms) < 3:
        return "strong"  # "how do I renew it?"; "is this laptop covered by the warranty?" names its thing
    return "weak" if len(terms) < _MIN_STANDALONE_TERMS else "none"


def _words(terms: list[str]) -> set[str]:
    """Distinct words: jieba's search mode also yields the pieces of a long word (办公 and 公室 of
    办公室), which say nothing more."""
    uniq = set(terms)
    return {t for t in uniq if not any(t != o and t in o for o in uniq)}


def keeps_the_message(rewrite: str, message: str, history: list[tuple[str, str]]) -> bool:
    """A rewrite may add the earlier topic, but must keep what the new message says and must not
    be an earlier question (or answer) repeated."""
    own = set(tokenize(message))  # the message's content words (stop words and 那/呢 left out)
    if own and len(own & set(tokenize(rewrite))) / len(own) < 0.5:
        return False
    for question, answer in history:
        if rewrite.strip() in (question.strip(), answer.strip()):
            return False
    return True
