"""A service with nothing ingested says so with a 503 on every question surface, never a 500."""

from __future__ import annotations

from tests.app.api.test_auth_policies import API_KEY, AUTH, app_client


def test_chat_and_search_on_an_empty_knowledge_base_are_503(tmp_path):
    with app_client(tmp_path, api_keys=[API_KEY]) as c:
        for path, body in [("/api/chat", {"message": "how many days of annual leave do I get"}),
                           ("/api/search", {"query": "annual leave"}),
                           ("/v1/chat/completions", {"model": "askdesk", "messages": [{"role": "user", "content": "where do I park?"}]})]:  # fmt: skip
            r = c.post(path, headers=AUTH, json=body)
            assert r.status_code == 503, (path, r.text)
            assert r.json()["error"]["code"] == "knowledge_base_empty", (path, r.text)
            assert "askdesk ingest" in r.json()["error"]["message"]
        # a greeting needs no knowledge base: it is answered before retrieval
        r = c.post("/api/chat", headers=AUTH, json={"message": "hi there", "stream": False})
        assert r.status_code == 200 and r.json()["mode"] == "chitchat", r.text
