"""PII redaction (pure): finds email addresses, phone numbers, mainland resident ID numbers and bank
card numbers in a message and replaces each with a typed placeholder ([EMAIL], [PHONE], [ID],
[CARD]), plus any extra patterns a deployment configures.

Numbers are only taken as IDs or cards when their check digits say so (ISO 7064 MOD 11-2 and a real
birth date for IDs, Luhn for cards): an order number, a timestamp or a mistyped ID stays readable in
the log. Measured on evals/datasets/pii.jsonl by benchmarks/privacy/redaction_eval.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.settings import Settings

TYPES = ("EMAIL", "PHONE", "ID", "CARD")
# when two findings overlap, the longer wins; on a tie the earlier type here (an 18-digit ID that
# also passes Luhn is an ID)
_PRIORITY = {"EMAIL": 0, "ID": 1, "CARD": 2, "PHONE": 3}

# full-width digits and signs (typed by Chinese IMEs) read as their ASCII forms; one character for
# one, so offsets in the normalised text are offsets in the original
_NORMALISE = str.maketrans(
    "０１２３４５６７８９＋－（）＠．\u3000", "0123456789+-()@. "
)  # fmt: skip

# not glued to another digit or a letter: "SN13812345678X" is a serial number, not a phone; nor to a
# digit group before or after ("4392 0234 5678 9012" holds no Taiwan landline)
_START = r"(?<![0-9A-Za-z])(?<!\d[ -])"
_END = r"(?![0-9A-Za-z])(?![ -]\d)"

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+'-])[A-Za-z0-9_%+'-][A-Za-z0-9._%+'-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,}(?![A-Za-z0-9-])")  # fmt: skip
_ID = re.compile(_START + r"[1-9]\d{16}[\dXx]" + _END)
_CARD = re.compile(
    _START
    + r"(?:[1-9]\d{12,18}|[1-9]\d{3}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?|3\d{3}[ -]\d{6}[ -]\d{5})"
    + _END
)
_PHONES = [
    # international: +CC (or 00 and a Chinese-region code) and 7-15 more digits in groups
    re.compile(
        r"(?<![0-9A-Za-z+])(?:\+\d{1,3}|00(?:86|886|852|853))(?:[ .-]?\(\d{1,4}\)|[ .-]?\d{1,5}){1,5}" + _END
    ),
    re.compile(_START + r"1[3-9]\d(?:[ -]?\d{4}){2}" + _END),  # mainland mobile, 3-4-4
    # mainland landline: area code 010, 02x or 0xxx, then 7-8 digits
    re.compile(
        _START + r"(?:\(0(?:10|2\d|[3-9]\d{2})\)|0(?:10|2\d|[3-9]\d{2}))[ -]?\d{3,4}[ -]?\d{4}" + _END
    ),
    re.compile(_START + r"09\d{2}[ -]?\d{3}[ -]?\d{3}" + _END),  # Taiwan mobile
    # Taiwan landline: area code 02-08 (and 037, 049, 082, 089 ...), then 7-8 digits
    re.compile(_START + r"(?:\(0[2-8]\d?\)|0[2-8]\d?)[ -]?\d{3,4}[ -]?\d{4}" + _END),
    re.compile(_START + r"\(\d{3}\) ?\d{3}-\d{4}" + _END),  # North American (212) 555-0199
]
# a long number right after these words is a reference, not a card ("订单号2024…", "Order #…")
_REFERENCE_WORDS = re.compile(
    r"(?:订单|訂單|单号|單號|运单|運單|快递|快遞|工单|工單|发票|發票|编号|編號|流水|时间戳|時間戳|"
    r"order|tracking|invoice|ticket|timestamp|ref(?:erence)?)\s*(?:号码|號碼|号|號|number|no\.?|#|:|：)?\s*$",
    re.IGNORECASE,
)  # fmt: skip
_REFERENCE_LOOKBACK = 16

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    type: str


def resident_id_valid(number: str) -> bool:
    """An 18-character mainland resident ID: the ISO 7064 MOD 11-2 check character and a real birth
    date (1900-2099); a random 18-digit number passes by chance about once in 300."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if not (1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month - 1]):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class Redactor:
    """Finds and replaces PII. ``extra`` maps a placeholder name to a regular expression
    (e.g. ``{"EMPLOYEE_ID": r"\\bE\\d{4,6}\\b"}`` -> [EMPLOYEE_ID]); ``allow`` lists exact strings
    never replaced (the service desk's own address and number, which every handoff reply quotes)."""

    def __init__(self, extra: Mapping[str, str] | None = None, allow: Iterable[str] = ()) -> None:
        self.extra = [(name, re.compile(rx)) for name, rx in (extra or {}).items()]
        self.allow = frozenset(a.strip().lower() for a in allow if a.strip())

    def find(self, text: str) -> list[Span]:
        """The PII spans in ``text``, non-overlapping, in order."""
        norm = text.translate(_NORMALISE)
        found: list[Span] = [Span(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(norm)]
        found += [Span(m.start(), m.end(), "ID") for m in _ID.finditer(norm) if resident_id_valid(m.group())]
        for m in _CARD.finditer(norm):
            digits = _digits(m.group())
            before = norm[max(0, m.start() - _REFERENCE_LOOKBACK) : m.start()]
            if 13 <= len(digits) <= 19 and luhn_valid(digits) and not _REFERENCE_WORDS.search(before):
                found.append(Span(m.start(), m.end(), "CARD"))
        for rx in _PHONES:
            for m in rx.finditer(norm):
                if 7 <= len(_digits(m.group())) <= 15:
                    found.append(Span(m.start(), m.end(), "PHONE"))
        for name, rx in self.extra:
            found += [Span(m.start(), m.end(), name) for m in rx.finditer(norm) if m.end() > m.start()]
        if self.allow:
            found = [s for s in found if text[s.start : s.end].strip().lower() not in self.allow]
        kept: list[Span] = []
        for s in sorted(found, key=lambda s: (-(s.end - s.start), _PRIORITY.get(s.type, 9), s.start)):
            if all(s.end <= k.start or s.start >= k.end for k in kept):
                kept.append(s)
        return sorted(kept, key=lambda s: s.start)

    def redact(self, text: str) -> str:
        out, pos = [], 0
        for s in self.find(text):
            out += [text[pos : s.start], f"[{s.type}]"]
            pos = s.end
        out.append(text[pos:])
        return "".join(out)

    __call__ = redact

    def redact_optional(self, text: str | None) -> str | None:
        return None if text is None else self.redact(text)


def never(text: str) -> str:
    """The redaction used when it is switched off: text stored as given."""
    return text


def redactor_for(settings: Settings) -> Callable[[str], str]:
    """The redaction the settings ask for: off (text as given), or the redactor with the configured
    patterns, allowing the service desk's own contacts (every handoff reply quotes them)."""
    if not settings.redact_pii:
        return never
    contacts = [settings.handoff_contact, settings.handoff_contact_zh]
    own = [c[s.start : s.end] for c in contacts for s in Redactor().find(c)]
    return Redactor(settings.redact_extra_patterns, [*settings.redact_allowlist, *own])
