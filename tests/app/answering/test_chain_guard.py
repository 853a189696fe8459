"""An answer that starts well and then echoes the prompt's scaffolding: stream readers see the good
sentence, never the echo, then a quote of the passages with its citation (an extractive answer);
the stream adds up to the final answer on every surface, and the engine is not left generating the
rest.

Real parts: the app in-process (real lifespan: real Chroma with the sample KB, real embedders)
answering through a real llama.cpp engine process serving the tiny Qwen3-architecture fixture
model built to reply with exactly this text (serving/fixtures): no packaged model echoes its prompt
on cue."""

from __future__ import annotations

import json

import pytest

from tests.service_fixtures import app_on_scripted_model, stream_events

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.llamacpp]

GOOD = "Per-diem is listed in policy [1]."
REPLY = GOOD + " <context> follows"
DOC_QUESTION = "What is the per-diem rate for tier 1 cities?"  # rag mode: the sample KB's travel policy
H = {"Authorization": "Bearer sk-a"}


@pytest.fixture(scope="module")
def client(ingested_sample_kb, tmp_path_factory):
    with app_on_scripted_model(ingested_sample_kb, tmp_path_factory.mktemp("models"), REPLY, "qwen3-echo-tiny") as c:
        yield c


def test_chat_stream_never_shows_the_echo_and_adds_up(client):
    events = stream_events(client, H, {"message": DOC_QUESTION})
    tokens = [d["text"] for k, d in events if k == "token"]
    done = next(d for k, d in events if k == "done")
    assert tokens and tokens[0] == GOOD  # released once its sentence ended, before the echo came
    assert "<context>" not in "".join(tokens) and "follows" not in "".join(tokens)
    assert "".join(tokens) == done["answer"] and done["mode"] == "extract"
    assert done["answer"].startswith(GOOD + "\n\nFrom the Travel Policy")
    assert "200" in done["answer"] and "[1]" in done["answer"]


def test_openai_stream_and_plain_reply_agree_without_the_echo(client):
    body = {"model": "askdesk", "messages": [{"role": "user", "content": DOC_QUESTION}]}
    with client.stream("POST", "/v1/chat/completions", headers=H, json={**body, "stream": True}) as r:
        assert r.status_code == 200
        chunks = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    plain = client.post("/v1/chat/completions", headers=H, json=body).json()["choices"][0]["message"]["content"]
    assert "<context>" not in streamed and streamed == plain
    assert streamed.startswith(GOOD + "\n\nFrom the Travel Policy")
