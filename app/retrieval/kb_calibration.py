"""Which calibration is in force for a knowledge base, and where it is kept.

The self-calibration (app/retrieval/selfcal.py) is fitted per KB snapshot and written under
`<data_dir>/calibration/`, named by a fingerprint of the snapshot's records (content-hashed ids) so
any ingest change refits it and an unchanged KB (a restart, another replica on the same data dir)
reads it back instead. A calibration fitted on a customer's labelled questions (`askdesk calibrate
--questions`, `questions.json`) wins over the self-calibration until it is removed. Thresholds a
user set explicitly (ASKDESK_RETRIEVAL_ANSWERABLE_THRESHOLD[_ZH]) win over fitted ones.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.lang import detect_lang
from app.retrieval import selfcal
from app.retrieval.confidence import DEFAULT_CALIBRATION, calibration_for
from app.retrieval.kb_index import KBIndex
from app.retrieval.ranking import needed_models, rank, weights_for
from app.retrieval.selfcal import SelfCalibration

log = logging.getLogger(__name__)

METHOD = "selfcal-2"  # bump when the pseudo-questions or the fit change: old files are refitted
QUESTIONS_FILE = "questions.json"
KEEP_FILES = 4  # older per-snapshot files are removed (a KB changes often while being curated)


def global_calibration(settings, reason: str) -> SelfCalibration:
    return SelfCalibration("global", dict(DEFAULT_CALIBRATION), _settings_thresholds(settings), reason=reason)


def _settings_thresholds(settings) -> dict[str, float]:
    return {
        "en": settings.retrieval_answerable_threshold, "multi": settings.retrieval_answerable_threshold_zh,
        "no_answer": settings.no_answer_threshold,
    }  # fmt: skip


def fingerprint(index: KBIndex, model_names: Sequence[str], settings) -> str:
    """The snapshot's records (content-hashed ids), the models and the settings the fit depends on."""
    knobs = (settings.self_calibration_max_questions, settings.self_calibration_min_entries,
             settings.self_calibration_min_per_class)  # fmt: skip
    h = hashlib.sha256(f"{METHOD}|{'|'.join(model_names)}|{knobs}".encode())
    for rid in sorted(index.record_ids):
        h.update(rid.encode())
    return h.hexdigest()[:16]


def calibration_dir(settings) -> Path:
    return Path(settings.data_dir) / "calibration"


def with_user_thresholds(cal: SelfCalibration, settings) -> SelfCalibration:
    """A threshold set explicitly in the environment or settings beats a fitted one."""
    fixed = settings.model_fields_set
    th = dict(cal.thresholds)
    if "retrieval_answerable_threshold" in fixed:
        th["en"] = settings.retrieval_answerable_threshold
    if "retrieval_answerable_threshold_zh" in fixed:
        th["multi"] = settings.retrieval_answerable_threshold_zh
    if "no_answer_threshold" in fixed or "no_answer" not in th:
        th["no_answer"] = settings.no_answer_threshold
    if th == cal.thresholds:
        return cal
    return SelfCalibration(cal.source, cal.calibration, th, cal.scale, cal.counts, cal.reason)


def load(path: Path) -> SelfCalibration | None:
    try:
        return SelfCalibration.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as e:  # a damaged file is refitted, not fatal
        log.warning("ignoring calibration file %s: %s", path, e)
        return None


def save(cal: SelfCalibration, path: Path, **extra) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**cal.to_json(), **extra}, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # atomic: a replica never reads half a file


def top_hit(index: KBIndex, text: str, lang: str, qvecs, roles: Sequence[str]) -> tuple[str, dict] | None:
    """(key, features) of the best entry for one question, by the shipped ranking code; qvecs: its
    vector per embedder position."""
    _, w = weights_for(lang, index)
    # a model not encoded for this question (a variant that tips the KB's English share over
    # ranking.EN_KB_SHARE, a rare edge) is left out rather than read as a NaN vector
    got = {m: qvecs[m] for m in needed_models(roles, w, index) if m in qvecs and not np.isnan(qvecs[m][0])}
    hits = rank(index, text, lang, got, roles, 5)
    return (index.entries[hits[0].entry].key, hits[0].features) if hits else None


def encode(texts: Sequence[str], embedders: Sequence, index: KBIndex, roles: Sequence[str]) -> dict[int, np.ndarray]:
    """The questions' vectors per embedder position, each model encoding only the questions a search
    would run it for (the English model the English ones, the verifier the Chinese ones: half the
    encoding of a bilingual KB's fit); rows a model was not run for are NaN."""
    need: dict[int, list[int]] = {}
    for t, text in enumerate(texts):
        _, w = weights_for(detect_lang(text), index)
        for m in needed_models(roles, w, index):
            need.setdefault(m, []).append(t)
    out: dict[int, np.ndarray] = {}
    for m, rows in need.items():
        e = embedders[m]
        vecs = np.full((len(texts), e.dim), np.nan, dtype=np.float32)
        vecs[rows] = e.embed_queries([texts[t] for t in rows])
        out[m] = vecs
    return out


def score_pseudo(index: KBIndex, pqs, vecs: dict[int, np.ndarray], roles: Sequence[str]) -> list[selfcal.PseudoRun]:
    """The pseudo-questions ranked in their fold variants by the shipped ranking code."""
    langs = [detect_lang(p.text) for p in pqs]
    return selfcal.pseudo_runs(
        index, pqs, lambda variant, i: top_hit(variant, pqs[i].text, langs[i], {m: v[i] for m, v in vecs.items()}, roles)
    )


def fit_for_index(index: KBIndex, embedders: Sequence, roles: Sequence[str], settings) -> SelfCalibration:
    """Pseudo-questions from the KB, encoded with the KB's own models, scored, fitted."""
    t0 = time.perf_counter()
    if index.n_entries < settings.self_calibration_min_entries:
        return global_calibration(
            settings, f"knowledge base too small to learn from ({index.n_entries} entries; "
            f"{settings.self_calibration_min_entries} needed)"
        )  # fmt: skip
    pqs = selfcal.pseudo_queries(index, settings.self_calibration_max_questions)
    runs = score_pseudo(index, pqs, encode([p.text for p in pqs], embedders, index, roles), roles)
    cal = selfcal.fit(
        runs, DEFAULT_CALIBRATION, min_per_class=settings.self_calibration_min_per_class,
        default_thresholds=_settings_thresholds(settings),
    )  # fmt: skip
    if cal.source == "kb":
        cal.reason = f"{len(pqs)} pseudo-questions from the KB, {len(runs)} runs, {time.perf_counter() - t0:.1f} s"
    log.info("self-calibration: %s (%s)", cal.source, cal.reason)
    return cal


class KBCalibrator:
    """Finds or fits the calibration for each new index snapshot (built once, held by the retriever)."""

    def __init__(self, settings, embedders: Sequence, roles: Sequence[str]) -> None:
        self.settings = settings
        self.embedders = list(embedders)
        self.roles = list(roles)

    def stamp(self) -> float | None:
        """When the labelled-question calibration last changed (None: there is none): a refresh
        that sees a new stamp re-reads the calibration without rebuilding the index."""
        try:
            return (calibration_dir(self.settings) / QUESTIONS_FILE).stat().st_mtime
        except OSError:
            return None

    def for_index(self, index: KBIndex) -> SelfCalibration:
        got = self.cached(index)
        return got if got is not None else self.fit_and_keep(index)

    def cached(self, index: KBIndex) -> SelfCalibration | None:
        """The calibration in force without fitting anything; None when this snapshot needs a fit."""
        s = self.settings
        asked = load(calibration_dir(s) / QUESTIONS_FILE)
        if asked is not None:
            return with_user_thresholds(asked, s)
        if not s.self_calibration:
            return global_calibration(s, "self-calibration is off (ASKDESK_SELF_CALIBRATION=false)")
        if index.n_entries == 0:
            return global_calibration(s, "the knowledge base is empty")
        cal = load(self._path(index))
        return None if cal is None else with_user_thresholds(cal, s)

    def fit_and_keep(self, index: KBIndex) -> SelfCalibration:
        """Fit this snapshot's calibration and keep it for the next start (and the other replicas on
        this data dir)."""
        s = self.settings
        cal = fit_for_index(index, self.embedders, self.roles, s)
        if cal.source == "global":  # nothing learnt: nothing to keep (the check is instant)
            return with_user_thresholds(cal, s)
        path = self._path(index)
        try:
            save(cal, path, fingerprint=path.stem.removeprefix("kb-"), entries=index.n_entries, fitted_at=time.time())
            _prune(path.parent)
        except OSError as e:  # a read-only data dir: the fit still serves this process
            log.warning("cannot keep the calibration in %s: %s", path.parent, e)
        return with_user_thresholds(cal, s)

    def _path(self, index: KBIndex) -> Path:
        return calibration_dir(self.settings) / f"kb-{fingerprint(index, [e.name for e in self.embedders], self.settings)}.json"


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("kb-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in files[KEEP_FILES:]:
        p.unlink(missing_ok=True)


def describe(cal: SelfCalibration) -> dict:
    """What /ready and the ingest summary say about the calibration in force."""
    names = {"kb": "per-KB self-calibration", "questions": "fitted on labelled questions", "global": "global default"}
    return {
        "source": cal.source,
        "name": names.get(cal.source, cal.source),
        "thresholds": {k2: round(cal.thresholds[k], 3) for k, k2 in (("en", "en"), ("multi", "zh"), ("no_answer", "no_answer")) if k in cal.thresholds},
        "detail": cal.reason,
    }


# --- a customer's labelled questions (`askdesk calibrate --questions`) --------------------------


def question_runs(index: KBIndex, rows: Sequence[dict], vecs, roles: Sequence[str]) -> list[tuple[int, selfcal.PseudoRun]]:
    """(row number, run) pairs: every labelled question against the full KB (answerable ones as
    answerable, `answerable: false` ones as unanswerable), and every answerable one again with its
    expected entries taken out (unanswerable there: leave-entry-out, as the per-KB step does)."""
    langs = [detect_lang(r["query"]) for r in rows]

    def one(variant: KBIndex, i: int, label: int, expected: set[str]) -> selfcal.PseudoRun | None:
        got = top_hit(variant, rows[i]["query"], langs[i], {m: v[i] for m, v in vecs.items()}, roles)
        return None if got is None else selfcal.PseudoRun(label, bool(label) and got[0] in expected, got[1])

    out: list[tuple[int, selfcal.PseudoRun]] = []
    expected = [set(r.get("expected_faq_ids") or []) | set(r.get("expected_sources") or []) for r in rows]
    for i, r in enumerate(rows):
        answerable = bool(r.get("answerable", True)) and bool(expected[i] & set(index.key_to_idx))
        run = one(index, i, int(answerable), expected[i])
        if run is not None:
            out.append((i, run))
    # leave-entry-out: one variant per fold of the asked-about entries (as the eval folds do)
    asked = sorted({k for i, ex in enumerate(expected) for k in ex if k in index.key_to_idx})
    fold_of_key = {k: n % selfcal.FOLDS for n, k in enumerate(asked)}
    for f in range(min(selfcal.FOLDS, len(asked))):
        gone = {k for k, g in fold_of_key.items() if g == f}
        variant = index.variant(drop_entries=gone)
        for i, ex in enumerate(expected):
            present = ex & set(index.key_to_idx)
            if present and present <= gone:
                run = one(variant, i, 0, set())
                if run is not None:
                    out.append((i, run))
    return out


def calibrate_on_questions(index: KBIndex, rows: Sequence[dict], embedders: Sequence, roles: Sequence[str], settings,
                           halves: int = 2) -> tuple[SelfCalibration, dict]:  # fmt: skip
    """The prior refitted on the labelled questions (the same rescaling and threshold rule as the
    per-KB step), and its held-out check: fitted on one half of the questions, scored on the other,
    both ways round (the numbers a person should trust, not the in-sample frontier)."""
    runs = question_runs(index, rows, encode([r["query"] for r in rows], embedders, index, roles), roles)
    kw = {"min_per_class": min(settings.self_calibration_min_per_class, 5), "default_thresholds": _settings_thresholds(settings)}
    cal = selfcal.fit([r for _, r in runs], DEFAULT_CALIBRATION, source="questions", **kw)
    if cal.source == "questions":  # a fallback to the global model keeps its reason
        cal.reason = f"{len(rows)} labelled questions, {len(runs)} runs"
    held = {"flagged": [0, 0], "kept": [0, 0], "dead_ends": [0, 0]}
    for h in range(halves):
        train = [r for i, r in runs if i % halves != h]
        test = [r for i, r in runs if i % halves == h]
        part = selfcal.fit(train, DEFAULT_CALIBRATION, source="questions", **kw)
        for r in test:
            conf = calibration_for(part.calibration, r.group).confidence(r.features)
            keep = conf >= part.thresholds["en" if r.en_lead else "multi"]
            if r.label:
                held["kept"][0] += keep
                held["kept"][1] += 1
                held["dead_ends"][0] += conf < part.thresholds.get("no_answer", settings.no_answer_threshold)
                held["dead_ends"][1] += 1
            else:
                held["flagged"][0] += not keep
                held["flagged"][1] += 1
    y = np.array([r.label for _, r in runs])
    conf = np.array([calibration_for(cal.calibration, r.group).confidence(r.features) for _, r in runs])
    return cal, {"held_out": held, "frontier": selfcal.frontier(conf, y), "runs": len(runs)}
