"""Retrieval filters by the reader's audiences before ranking: a restricted entry is never a hit,
and what a reader gets is what a KB without the entries they may not see would give (scores,
confidences, frame-swap rivals, calibration). Real Chroma on temp dirs, the real models."""

from __future__ import annotations

import pytest

from app.retrieval import Retriever
from tests import audience_kb as kb

NONE, HR, FIN = frozenset(), frozenset({"hr"}), frozenset({"finance"})


@pytest.fixture(scope="module")
def stores(tmp_path_factory, embedders):
    base = tmp_path_factory.mktemp("aud-retrieval")
    full = kb.ingest_kb(kb.write_kb(base / "kb"), base / "data", embedders)
    public = kb.ingest_kb(kb.write_public_only_kb(base / "kb-public"), base / "data-public", embedders)
    return full, public


@pytest.fixture
def retriever(stores):
    (s, store), _ = stores
    return Retriever(store, s)


def keys(result) -> list[str]:
    return [h.key for h in result.hits]


@pytest.mark.parametrize("query", kb.QUESTIONS)
@pytest.mark.parametrize(("name", "aud"), [("none", NONE), ("hr", HR), ("finance", FIN)])
def test_no_restricted_hit_for_a_reader_outside_its_audience(retriever, query, name, aud):
    r = retriever.search(query, 10, audiences=aud)
    assert kb.leaks([(h.key, h.answer, h.snippet, h.title) for h in r.hits], name) == []


def test_readers_see_their_own_entries_and_operators_see_all(retriever):
    assert keys(retriever.search(kb.Q_HR_FAQ, 5, audiences=HR))[0] == kb.HR_FAQ
    assert keys(retriever.search(kb.Q_FIN_FAQ, 5, audiences=FIN))[0] == kb.FIN_FAQ
    # tags are case-folded at ingest; "cfo-office" is the finance entry's second tag
    assert keys(retriever.search(kb.Q_FIN_FAQ, 5, audiences=frozenset({"cfo-office"})))[0] == kb.FIN_FAQ
    assert kb.HR_FAQ in keys(retriever.search(kb.Q_HR_FAQ, 5, audiences=None))  # the CLI / admin view
    assert keys(retriever.search(kb.Q_HR_DOC, 3, audiences=HR))[0].startswith(kb.HR_DOC)


@pytest.mark.parametrize("query", kb.QUESTIONS)
def test_anonymous_results_are_those_of_a_kb_without_the_restricted_entries(stores, retriever, query):
    (_, _), (ps, pstore) = stores
    public = Retriever(pstore, ps)
    got, want = retriever.search(query, 10, audiences=NONE), public.search(query, 10)
    assert keys(got) == keys(want)
    assert [h.confidence for h in got.hits] == pytest.approx([h.confidence for h in want.hits], abs=1e-4)
    assert got.predicted_answerable == want.predicted_answerable
    assert [h.mismatch for h in got.hits] == [h.mismatch for h in want.hits]


def test_views_are_cached_per_visible_set_and_carry_the_calibration(stores):
    (s, store), _ = stores
    r = Retriever(store, s.model_copy(update={"audience_variant_cache": 2}))
    index = r.refresh()
    v1 = r.visible(index, NONE)
    assert v1 is not index and v1 is r.visible(index, frozenset({"nobody"}))  # same visible set
    assert v1.calibration is index.calibration and v1.calibration_stamp == index.calibration_stamp
    assert kb.HR_FAQ not in v1.key_to_idx and "pub-payday-001" in v1.key_to_idx
    # a reader who may see every entry searches the snapshot itself: no view is built
    assert r.visible(index, frozenset({"hr", "finance"})) is index
    assert r.visible(index, None) is index
    r.visible(index, HR)
    r.visible(index, FIN)
    assert len(r._variants) == 2  # bounded (LRU)
    assert r.visible(index, FIN) is r.visible(index, FIN)


def test_no_view_is_built_for_a_kb_without_restricted_entries(stores):
    _, (ps, pstore) = stores
    r = Retriever(pstore, ps)
    r.search(kb.Q_VAGUE, 5, audiences=NONE)
    assert r.refresh().restricted == [] and not r._variants


def test_a_reader_who_may_see_nothing_gets_no_hits(retriever, embedders, settings):
    index = retriever.refresh()
    only_restricted = index.variant(drop_entries={e.key for e in index.entries if not e.audiences})
    r = Retriever.from_index(only_restricted, embedders, settings)
    res = r.search(kb.Q_HR_FAQ, 5, audiences=NONE)
    assert res.hits == [] and not res.predicted_answerable
    assert keys(r.search(kb.Q_HR_FAQ, 5, audiences=HR))[0] == kb.HR_FAQ
