"""A generated answer that says "I don't know" still tells the user how to reach a person.

Real parts: the app in-process (TestClient runs the real lifespan: real Chroma with the sample KB,
real embedders) answering through a real llama.cpp engine process. The engine serves the tiny
Qwen3-architecture fixture model built to always reply "I do not know." (serving/fixtures): no
packaged model says it on cue, and this path needs the model to say it every time."""

from __future__ import annotations

import json

import pytest

from tests.service_fixtures import app_on_scripted_model, stream_events

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = [pytest.mark.slow, pytest.mark.llamacpp]

IDK = "I do not know."
DOC_QUESTION = "What is the per-diem rate for tier 1 cities?"  # rag mode: the sample KB's travel policy
CONTACT = "servicedesk@example.com"


@pytest.fixture(scope="module")
def client(ingested_sample_kb, tmp_path_factory):
    with app_on_scripted_model(ingested_sample_kb, tmp_path_factory.mktemp("models"), IDK, "qwen3-idk-tiny",
                               handoff_contact=f"IT desk: ext. 1234, {CONTACT}") as c:
        yield c


H = {"Authorization": "Bearer sk-a"}


def test_idk_reply_gets_the_contact_and_is_a_handoff(client):
    r = client.post("/api/chat", headers=H, json={"message": DOC_QUESTION})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["mode"] == "no_answer" and d["handoff"]["reason"] == "no_answer"
    # the model's words stay first, then how to reach a person
    assert d["answer"].startswith(IDK) and CONTACT in d["answer"]
    assert d["answer"].count(CONTACT) == 1


def test_streamed_tokens_add_up_to_the_final_answer(client):
    events = stream_events(client, H, {"message": DOC_QUESTION})
    tokens = "".join(d["text"] for k, d in events if k == "token")
    done = next(d for k, d in events if k == "done")
    assert done["mode"] == "no_answer" and tokens.strip() == done["answer"].strip() and CONTACT in tokens


def test_openai_stream_content_carries_the_contact(client):
    body = {"model": "askdesk", "stream": True, "messages": [{"role": "user", "content": DOC_QUESTION}]}
    with client.stream("POST", "/v1/chat/completions", headers=H, json=body) as r:
        assert r.status_code == 200
        chunks = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    assert content.startswith(IDK) and CONTACT in content
    assert chunks[-1]["askdesk"]["mode"] == "no_answer"
