"""Render a report, described as a list of blocks, to Markdown and to self-contained HTML. Pure."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list]
    caption: str = ""


@dataclass
class Image:
    b64png: str
    alt: str


@dataclass
class Doc:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> Doc:
        self.blocks.extend(b for b in blocks if b is not None)
        return self


def fmt(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    return str(v)


def est(e: dict | None, digits: int = 3) -> str:
    """``0.912 [0.871, 0.948]`` from an estimate dict."""
    if not e or not e.get("n"):
        return "–"
    lo, hi = e["ci95"]
    return f"{fmt(e['value'], digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def _md_cell(v) -> str:
    return fmt(v).replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Doc) -> str:
    out = [f"# {doc.title}", ""]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Table):
            if b.caption:
                out += [f"*{b.caption}*", ""]
            out.append("| " + " | ".join(b.headers) + " |")
            out.append("|" + "|".join("---" for _ in b.headers) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif isinstance(b, Image):
            out += [f"*(figure: {b.alt} — see the HTML report)*", ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.2em}th,td{border:1px solid #ccc;
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;
font-variant-numeric:tabular-nums}caption{text-align:left;font-style:italic;padding:2px 0}
img{max-width:100%}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.regressed{color:#b00020;font-weight:600}.improved{color:#1b7f3b}"""


def _html_cell(v) -> str:
    s = html.escape(fmt(v))
    cls = ' class="num"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
    if s in ("regressed", "improved"):
        cls = f' class="{s}"'
    return f"<td{cls}>{s}</td>"


def to_html(doc: Doc) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(doc.title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{html.escape(doc.title)}</h1>",
    ]
    for b in doc.blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            parts.append(f"<p>{html.escape(b.text)}</p>")
        elif isinstance(b, Table):
            cap = f"<caption>{html.escape(b.caption)}</caption>" if b.caption else ""
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(_html_cell(c) for c in r) + "</tr>" for r in b.rows)
            parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Image):
            parts.append(
                f"<figure><img alt='{html.escape(b.alt)}' src='data:image/png;base64,{b.b64png}'>"
                f"<figcaption>{html.escape(b.alt)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)
