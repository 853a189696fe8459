"""Report figures as base64 PNGs (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import base64
import io
import math
from functools import lru_cache


CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Droid Sans Fallback")


@lru_cache(maxsize=1)
def _register_cjk_fonts() -> None:
    """CJK questions need a CJK font in the fallback list (glyph warnings and boxes otherwise); a font
    installed after matplotlib built its cache is not in it, so register the usual ones by path."""
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    if "WenQuanYi Micro Hei" in names or "Noto Sans CJK SC" in names:
        return
    for path in fm.findSystemFonts():
        if any(k in path.lower() for k in ("wqy", "notosanscjk", "droidsansfallback")):
            try:
                fm.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                pass


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import logging

    import matplotlib.pyplot as plt

    _register_cjk_fonts()
    # an explicit family list (not the generic "sans-serif") makes matplotlib fall back glyph by glyph
    from matplotlib import font_manager as fm

    have = {f.name for f in fm.fontManager.ttflist}
    plt.rcParams["font.family"] = ["DejaVu Sans"] + [f for f in CJK_FONTS if f in have]
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def latency_distributions(records: list[dict]) -> str | None:
    """TTFT and total time per answer, one box per mode."""
    chats = [r["chat"] for r in records if (r.get("chat") or {}).get("ok")]
    if not chats:
        return None
    plt = _plt()
    modes = sorted({c.get("mode") or "-" for c in chats})
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, title in ((axes[0], "ttft_ms", "TTFT (ms)"), (axes[1], "total_ms", "total time (ms)")):
        data = [
            [c[key] for c in chats if (c.get("mode") or "-") == m and c.get(key) is not None] for m in modes
        ]
        ax.boxplot(data, showfliers=True)
        ax.set_xticks(
            range(1, len(modes) + 1), [f"{m}\n(n={len(d)})" for m, d in zip(modes, data, strict=True)]
        )
        ax.set_title(title)
        ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def accuracy_bars(groups: dict[str, dict], title: str) -> str | None:
    """Bars with 95% CI whiskers from ``{label: {"value", "ci95", "n"}}``."""
    items = [(k, v) for k, v in groups.items() if v.get("n") and not math.isnan(v["value"])]
    if not items:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4, 1.1 * len(items) + 2), 3.4))
    labels = [f"{k}\n(n={v['n']})" for k, v in items]
    vals = [v["value"] for _, v in items]
    err = [[v["value"] - v["ci95"][0] for _, v in items], [v["ci95"][1] - v["value"] for _, v in items]]
    ax.bar(labels, vals, yerr=err, capsize=4, color="#4C78A8")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def coverage_chart(n_covered: int, n_uncovered: int, clusters: list[dict], top: int = 15) -> str | None:
    if n_covered + n_uncovered == 0:
        return None
    plt = _plt()
    fig, axes = plt.subplots(
        1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [1, 2.4]}, layout="constrained"
    )
    axes[0].bar(["covered", "not covered"], [n_covered, n_uncovered], color=["#54A24B", "#E45756"])
    axes[0].set_title("questions")
    cl = clusters[:top]
    if cl:
        axes[1].barh(
            [_short(c["representative"]) for c in cl][::-1], [c["size"] for c in cl][::-1], color="#E45756"
        )
        axes[1].set_title("largest uncovered clusters")
    else:
        axes[1].axis("off")
    return _png(fig)


def _short(s: str, n: int = 45) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"
