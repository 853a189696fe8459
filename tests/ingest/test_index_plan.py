from app.records import Entry, entry_records
from ingest.index import SOURCE_ROOT, plan


def faq(key, q="Q?", a="A.", source="faq.csv", related=()):
    return Entry(key=key, kind="faq", source=source, title=q, question=q, answer=a, related_questions=related)


def stored(*entries, root=None):
    return {r.id: {**r.metadata, **({SOURCE_ROOT: root} if root else {})} for e in entries for r in entry_records(e)}


def test_records_cover_question_related_answer_and_share_entry_key():
    recs = entry_records(faq("x", related=("Q2?", "Q3?")))
    assert [r.metadata["field"] for r in recs] == ["question", "related", "related", "answer", "qa"]
    assert {r.metadata["entry_key"] for r in recs} == {"x"}
    assert len({r.id for r in recs}) == len(recs)


def test_related_question_is_embedded_with_its_main_question():
    recs = entry_records(faq("x", q="Travel insurance abroad?", related=("Which areas count?",)))
    related = [r.text for r in recs if r.metadata["field"] == "related"]
    assert related == ["Which areas count?\nTravel insurance abroad?"]


def test_ids_are_stable_and_change_with_content():
    assert [r.id for r in entry_records(faq("x"))] == [r.id for r in entry_records(faq("x"))]
    assert not {r.id for r in entry_records(faq("x"))} & {r.id for r in entry_records(faq("x", a="B."))}


def test_unchanged_changed_new_and_removed_entries():
    a, b, c = faq("a"), faq("b"), faq("c")
    b2 = faq("b", a="new answer")
    p = plan(stored(a, b, c), [a, b2, faq("d")], loaded_sources={"faq.csv"}, keep_sources=set(), prune=False)
    assert (p.unchanged, p.updated, p.added, p.deleted) == (["a"], ["b"], ["d"], ["c"])
    assert {r.metadata["entry_key"] for r in p.to_add} == {"b", "d"}
    assert set(p.to_delete) == {r.id for r in entry_records(b) + entry_records(c)}


def test_partially_written_entry_is_completed_as_an_update():
    a = faq("a", related=("Q2?",))
    recs = entry_records(a)
    partial = {recs[0].id: recs[0].metadata}
    p = plan(partial, [a], loaded_sources={"faq.csv"}, keep_sources=set(), prune=False)
    assert p.updated == ["a"] and len(p.to_add) == len(recs) - 1 and not p.to_delete


def test_failed_sources_keep_their_records_and_prune_only_when_asked():
    gone = faq("g", source="old.csv")
    broken = faq("k", source="broken.csv")
    existing = stored(gone, broken, root="/kb")
    p = plan(existing, [], loaded_sources=set(), keep_sources={"broken.csv"}, prune=False, prune_roots={"/kb"})
    assert not p.to_delete
    p = plan(existing, [], loaded_sources=set(), keep_sources={"broken.csv"}, prune=True, prune_roots={"/kb"})
    assert p.deleted == ["g"] and set(p.to_delete) == {r.id for r in entry_records(gone)}


def test_prune_reaches_only_the_roots_of_the_run():
    """Source keys are relative, so `a.csv` of /kb-a and `b.csv` of /kb-b look alike: prune goes by
    the records' source_root. Records stored without one (before it existed) are never pruned."""
    a, b, legacy = faq("a", source="a.csv"), faq("b", source="b.csv"), faq("l", source="l.csv")
    existing = {**stored(a, root="/kb-a"), **stored(b, root="/kb-b"), **stored(legacy)}
    p = plan(existing, [], loaded_sources=set(), keep_sources=set(), prune=True, prune_roots={"/kb-a"})
    assert p.deleted == ["a"] and set(p.to_delete) == {r.id for r in entry_records(a)}
    p = plan(existing, [], loaded_sources=set(), keep_sources=set(), prune=True, prune_roots=set())
    assert not p.to_delete  # a run over single files only prunes nothing


def test_records_are_tagged_with_their_root_and_stale_tags_rewritten_without_reembedding():
    a = faq("a", source="a.csv")
    p = plan({}, [a], loaded_sources={"a.csv"}, keep_sources=set(), prune=False, source_roots={"a.csv": "/kb"})
    assert {r.metadata[SOURCE_ROOT] for r in p.to_add} == {"/kb"}
    for old_root in (None, "/moved-from"):
        p = plan(stored(a, root=old_root), [a], loaded_sources={"a.csv"}, keep_sources=set(), prune=False,
                 source_roots={"a.csv": "/kb"})  # fmt: skip
        assert p.unchanged == ["a"] and not p.to_add and not p.to_delete
        assert {r.id for r in p.to_retag} == set(stored(a)) and p.changes
        assert {r.metadata[SOURCE_ROOT] for r in p.to_retag} == {"/kb"}
    p = plan(stored(a, root="/kb"), [a], loaded_sources={"a.csv"}, keep_sources=set(), prune=False,
             source_roots={"a.csv": "/kb"})  # fmt: skip
    assert not p.changes
