"""Charts as inline SVG, drawn on the server (pure: numbers in, markup out; no script, no CDN)."""

from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

COLORS = {
    "faq": "#2f7d4f", "rag": "#3565a8", "extract": "#6b8fc7", "no_answer": "#c0392b", "handoff": "#d98324",
    "chitchat": "#8e8e8e", "p50": "#3565a8", "p95": "#c0392b", "up": "#2f7d4f", "down": "#c0392b",
}  # fmt: skip
W, H, PAD_L, PAD_B, PAD_T, PAD_R = 640, 220, 44, 28, 10, 10


def _nice_max(v: float) -> float:
    """The top of the y axis: four gridline steps of 1, 2, 2.5 or 5 times a power of ten, at or above v."""
    if v <= 0:
        return 4.0
    raw = v / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return float(step * 4)


def _axes(ymax: float, unit: str, labels: list[str]) -> list[str]:
    out = []
    for i in range(5):
        y = PAD_T + (H - PAD_T - PAD_B) * (1 - i / 4)
        v = ymax * i / 4
        out.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{W - PAD_R}" y2="{y:.1f}" class="grid"/>')
        out.append(
            f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{v:g}{escape(unit)}</text>'
        )
    n = len(labels)
    every = max(1, n // 8)
    for i, lab in enumerate(labels):
        if i % every:
            continue
        x = PAD_L + (W - PAD_L - PAD_R) * (i + 0.5) / max(n, 1)
        out.append(
            f'<text x="{x:.1f}" y="{H - 8}" text-anchor="middle" class="tick">{escape(lab[5:])}</text>'
        )
    return out


def _svg(parts: list[str], title: str) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" class="chart" '
        f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title>{body}</svg>'
    )


def stacked_bars(labels: list[str], series: dict[str, list[float]], title: str) -> Markup:
    """One bar per label, stacked by series (questions per day, split by answer mode)."""
    n = len(labels)
    totals = [sum(s[i] for s in series.values()) for i in range(n)]
    ymax = _nice_max(max(totals, default=0))
    parts = _axes(ymax, "", labels)
    if not n:
        return _svg(parts, title)
    slot = (W - PAD_L - PAD_R) / n
    bw = min(28.0, max(1.0, slot * 0.7))  # one day alone is a bar, not a wall
    span = H - PAD_T - PAD_B
    for i in range(n):
        x = PAD_L + slot * i + (slot - bw) / 2
        y = H - PAD_B
        for name, values in series.items():
            h = span * values[i] / ymax
            if h <= 0:
                continue
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{h:.1f}" fill="{COLORS.get(name, "#777")}">'
                         f"<title>{escape(labels[i])} {escape(name)}: {values[i]:g}</title></rect>")  # fmt: skip
    return _svg(parts, title)


def lines(labels: list[str], series: dict[str, list[float | None]], title: str, unit: str = "") -> Markup:
    """One line per series over the labels; a missing value breaks the line (a day without data)."""
    n = len(labels)
    ymax = _nice_max(max((v for s in series.values() for v in s if v is not None), default=0))
    parts = _axes(ymax, unit, labels)
    span = H - PAD_T - PAD_B
    for name, values in series.items():
        pts, runs = [], []
        for i, v in enumerate(values):
            if v is None:
                if pts:
                    runs.append(pts)
                pts = []
                continue
            x = PAD_L + (W - PAD_L - PAD_R) * (i + 0.5) / max(n, 1)
            pts.append((x, H - PAD_B - span * v / ymax, v, labels[i]))
        if pts:
            runs.append(pts)
        color = COLORS.get(name, "#777")
        for run in runs:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in run)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            for x, y, v, lab in run:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                             f"<title>{escape(lab)} {escape(name)}: {v:g}{escape(unit)}</title></circle>")  # fmt: skip
    return _svg(parts, title)


def share_bar(parts_: dict[str, int], title: str) -> Markup:
    """One horizontal bar split by share (the mode mix), percentages in the tooltips."""
    total = sum(parts_.values())
    w, h = 640, 28
    out, x = [], 0.0
    for name, v in parts_.items():
        if not v:
            continue
        bw = w * v / total
        out.append(f'<rect x="{x:.1f}" y="0" width="{bw:.1f}" height="{h}" fill="{COLORS.get(name, "#777")}">'
                   f"<title>{escape(name)}: {v} ({100 * v / total:.1f}%)</title></rect>")  # fmt: skip
        x += bw
    return Markup(f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{escape(title)}" class="sharebar" '
                  f'preserveAspectRatio="none"><title>{escape(title)}</title>{"".join(out)}</svg>')  # fmt: skip
