"""A model stuck in a loop: the reader gets the answer with the loop said once, and the engine is
stopped a couple of hundred characters into the loop instead of running to `rag_max_tokens`.

Real parts: the app in-process (real lifespan: real Chroma with the sample KB, real embedders)
answering through a real llama.cpp engine process serving the tiny Qwen3-architecture fixture
model built to say GOOD and then LOOP forever (serving/fixtures): packaged models loop, but not
on cue."""

from __future__ import annotations

import logging

import pytest

from tests.service_fixtures import app_on_scripted_model, stream_events

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.llamacpp]

GOOD = "Per-diem is listed in policy [1]."
LOOP = " Happy to assist you now!"
DOC_QUESTION = "What is the per-diem rate for tier 1 cities?"  # rag mode: the sample KB's travel policy
H = {"Authorization": "Bearer sk-a"}


@pytest.fixture(scope="module")
def client(ingested_sample_kb, tmp_path_factory):
    with app_on_scripted_model(ingested_sample_kb, tmp_path_factory.mktemp("models"), GOOD, "qwen3-loop-tiny",
                               loop=LOOP) as c:  # fmt: skip
        yield c


def test_a_looping_answer_is_cut_short_and_keeps_its_first_occurrence(client, caplog):
    with caplog.at_level(logging.INFO, logger="app.answering.chain"):
        events = stream_events(client, H, {"message": DOC_QUESTION})
    tokens = [d["text"] for k, d in events if k == "token"]
    done = next(d for k, d in events if k == "done")
    assert done["mode"] == "rag" and "".join(tokens) == done["answer"] == GOOD + LOOP
    stops = [r.getMessage() for r in caplog.records if r.getMessage().startswith("stopped a looping answer")]
    assert len(stops) == 1
    said = int(stops[0].split(" after ")[1].split()[0])  # characters the engine had sent
    assert said < 12 * len(LOOP)  # 300 tokens of loop would be ~50 repeats
    # the engine's usage comes with its last chunk: a stream closed early never reads one
    assert "output_tokens" not in done["latency_ms"]
