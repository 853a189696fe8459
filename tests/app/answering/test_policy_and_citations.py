from app.answering.citations import clean_citations, cited_numbers, order_by_citation, to_sources
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
