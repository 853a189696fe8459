from app.records import Entry, entry_records
from ingest.index import plan


def faq(key, q="Q?", a="A.", source="faq.csv", related=()):
    return Entry(key=key, kind="faq", source=source, title=q, question=q, answer=a, related_questions=related)


def stored(*entries):
    return {r.id: r.metadata for e in entries for r in entry_records(e)}


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
    existing = stored(gone, broken)
    p = plan(existing, [], loaded_sources=set(), keep_sources={"broken.csv"}, prune=False)
    assert not p.to_delete
    p = plan(existing, [], loaded_sources=set(), keep_sources={"broken.csv"}, prune=True)
    assert p.deleted == ["g"] and set(p.to_delete) == {r.id for r in entry_records(gone)}
