from app.answering.citations import cited_numbers, clean_citations, order_by_citation, to_sources
from app.answering.policy import Thresholds, decide
from app.retrieval import Hit, SearchResult

T = Thresholds(faq_direct=0.8, no_answer=0.25, context_min=0.15, context_k=3)


def hit(key, conf, kind="faq", score=None, lang="en"):
    return Hit(key=key, kind=kind, score=score if score is not None else conf, confidence=conf, source="faq.csv",
               title=key, section="", page=-1, category="", lang=lang, question=f"{key}?", answer=f"answer {key}",
               snippet=f"snip {key}")  # fmt: skip


def result(hits, answerable=True, lang="en"):
    return SearchResult(query="q", lang=lang, hits=hits, predicted_answerable=answerable,
                        confidence=hits[0].confidence if hits else 0.0)  # fmt: skip


def test_confident_faq_hit_is_answered_verbatim():
    d = decide(result([hit("a", 0.95), hit("b", 0.5)]), T)
    assert d.mode == "faq" and [h.key for h in d.hits] == ["a"]


def test_confident_faq_hit_in_the_other_language_goes_to_rag():
    # a Chinese question is not answered with the English curated text: the LLM answers from it
    d = decide(result([hit("a", 0.95, lang="en"), hit("b", 0.5, lang="zh-Hans")], lang="zh-Hant"), T)
    assert d.mode == "rag" and [h.key for h in d.hits] == ["a", "b"]
    # either Chinese script is the same language (the answer is converted to the question's script)
    assert decide(result([hit("a", 0.95, lang="zh-Hans")], lang="zh-Hant"), T).mode == "faq"


def test_confident_document_hit_goes_to_rag():
    d = decide(result([hit("doc#s", 0.95, kind="doc"), hit("b", 0.5), hit("c", 0.1), hit("d", 0.4)]), T)
    assert d.mode == "rag" and [h.key for h in d.hits] == ["doc#s", "b", "d"]


def test_middling_faq_goes_to_rag_and_unanswerable_to_no_answer():
    assert decide(result([hit("a", 0.6)]), T).mode == "rag"
    assert decide(result([hit("a", 0.3)], answerable=False), T).mode == "rag"  # between the thresholds
    assert decide(result([hit("a", 0.2)], answerable=False), T).mode == "no_answer"
    assert decide(result([], answerable=False), T).mode == "no_answer"


def test_citations_cleaned_and_cited_sources_first():
    sources = to_sources([hit("a", 0.9), hit("b", 0.8), hit("c", 0.7)])
    answer = clean_citations("Use the portal [3]. Ask IT [1][7].", len(sources))
    assert answer == "Use the portal [3]. Ask IT [1]."
    assert cited_numbers(answer) == [3, 1]
    assert [s.id for s in order_by_citation(sources, answer)] == ["c", "a", "b"]


# --- "did you mean" and entries that are worded like the question but about another topic --------
def swapped(h, pair=("年", "产假")):
    h.mismatch = pair
    return h


def test_a_swapped_frame_is_not_answered_verbatim_but_offered():
    # 年假有多少天 retrieves 产假有多少天 at 0.93: not answered with it, the annual-leave entries lead
    d = decide(result([swapped(hit("maternity", 0.93)), hit("carry-over", 0.38), hit("balance", 0.23)]), T)
    assert d.mode == "rag" and [h.key for h in d.hits] == ["carry-over", "balance"]
    assert [h.key for h in d.suggestions] == ["maternity"]  # the passages answered from are its sources


def test_a_swapped_frame_with_nothing_else_is_no_answer_with_the_suggestion():
    d = decide(result([swapped(hit("maternity", 0.93)), hit("x", 0.1)]), T)
    assert d.mode == "no_answer" and d.hits == [d.hits[0]] and d.hits[0].key == "x"
    assert [h.key for h in d.suggestions] == ["maternity"]


def test_unsure_answers_offer_suggestions_and_sure_ones_only_close_runner_ups():
    t = Thresholds(faq_direct=0.8, no_answer=0.25, context_min=0.15, context_k=3, suggest_min=0.2, suggest_margin=0.1,
                   suggest_max=2)  # fmt: skip
    low = decide(result([hit("a", 0.22), hit("b", 0.21), hit("c", 0.05)]), t)
    assert low.mode == "no_answer" and [h.key for h in low.suggestions] == ["a", "b"]
    mid = decide(result([hit("a", 0.6), hit("b", 0.3), hit("c", 0.7), hit("d", 0.4), hit("e", 0.5), hit("e", 0.45)]), t)
    # the context (a, b, c) is cited as sources; the other candidates are offered, best first, distinct
    assert mid.mode == "rag" and [h.key for h in mid.hits] == ["a", "b", "c"]
    assert [h.key for h in mid.suggestions] == ["e", "d"]
    sure = decide(result([hit("a", 0.95), hit("b", 0.9), hit("c", 0.5)]), t)
    assert sure.mode == "faq" and [h.key for h in sure.suggestions] == ["b"]
    alone = decide(result([hit("a", 0.95), hit("b", 0.5)]), t)
    assert alone.mode == "faq" and alone.suggestions == []
    nothing = decide(result([hit("a", 0.1)]), t)
    assert nothing.mode == "no_answer" and nothing.suggestions == []  # a dead end only when nothing is close


def test_a_kb_calibration_moves_the_no_answer_point_and_not_the_verbatim_one():
    """The KB's own no-answer point (SearchResult.no_answer_threshold, from its self-calibration)
    replaces the setting; the verbatim threshold reads the global model's confidence
    (`prior_confidence`), which the KB's rescaling does not preserve."""
    assert decide(result([hit("a", 0.2)]), T).mode == "no_answer"  # T.no_answer = 0.25
    r = result([hit("a", 0.2)])
    r.no_answer_threshold = 0.15
    assert decide(r, T).mode == "rag"
    r = result([hit("a", 0.3)])
    r.no_answer_threshold = 0.35  # a KB whose calibration puts the point higher
    assert decide(r, T).mode == "no_answer"
    squeezed = hit("a", 0.7)  # rescaled below the verbatim point, sure under the global model
    squeezed.features["prior_confidence"] = 0.97  # T.faq_direct = 0.8
    assert decide(result([squeezed]), T).mode == "faq"
    doubtful = hit("a", 0.9)
    doubtful.features["prior_confidence"] = 0.6
    assert decide(result([doubtful]), T).mode == "rag"
