"""The coverage report and its cluster export list a knowledge-base entry only to a caller who may
read it: `askdesk eval coverage` reads /api/search with the given API key, so the best matches (and
whether a question counts as covered) are that key's view. Against the real service over the
audience test KB (tests/audience_service.py)."""

from __future__ import annotations

import asyncio

import pytest

from evals import coverage as C
from tests import audience_kb as kb

pytest_plugins = ["tests.engine_fixtures", "tests.audience_service"]
pytestmark = [pytest.mark.slow, pytest.mark.llamacpp, pytest.mark.timeout(900)]


@pytest.mark.parametrize("name", ["none", "hr", "finance"])
def test_coverage_export_lists_no_restricted_entry(audience_service, name):
    questions = [*kb.QUESTIONS, "what is the grade 5 salary band", "purchase approval over 50,000"]
    opts = C.CoverageOptions(url=audience_service.url, api_key=audience_service.keys[name], k=3)
    results = asyncio.run(C.search_all(questions, opts, lambda n: None))
    groups, _, _ = C.build_clusters(questions, [1] * len(questions), results, "tfidf", None)
    tops = [r["top"] for r in results]
    assert kb.leaks(tops, name) == []
    assert kb.leaks(C.clusters_csv(groups), name) == []
    assert kb.leaks([{k: v for k, v in g.items() if k != "questions"} for g in groups], name) == []
    own = {"none": None, "hr": kb.HR_FAQ, "finance": kb.FIN_FAQ}[name]
    if own:
        assert own in {t["id"] for t in tops if t}
