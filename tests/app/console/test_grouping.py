"""The curation queue's grouping (pure): paraphrases together, different topics apart, any script."""

from __future__ import annotations

from app.console.grouping import group


def test_paraphrases_share_a_group_and_topics_stay_apart():
    texts = ["how do I reset my vpn password", "reset vpn password how?", "do we have a sabbatical program",
             "sabbatical program?", "婚假有几天", "婚假有幾天？"]  # fmt: skip
    labels = group(texts, 0.35)
    assert (
        labels[0] == labels[1] and labels[2] == labels[3] and labels[4] == labels[5]
    )  # Traditional = Simplified
    assert len({labels[0], labels[2], labels[4]}) == 3


def test_edge_sizes():
    assert group([], 0.35) == [] and group(["one"], 0.35) == [0]


def test_labels_put_the_largest_group_first():
    labels = group(
        ["parking", "vpn password reset", "reset the vpn password", "vpn password reset please"], 0.35
    )
    assert labels.count(0) == 3 and labels[0] == 1


def test_vectors_group_by_cosine():
    import numpy as np

    from app.console.grouping import group_vectors

    v = np.array([[1, 0], [0.99, 0.14], [0, 1]], dtype=float)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert group_vectors(v, 0.9) == [0, 0, 1] and len(set(group_vectors(v, 0.999))) == 3
