"""`askdesk reembed`: a new collection set is built beside the live one while the service (the real
app in-process: create_app + wiring.build_state, real Chroma, real embedders) keeps answering; the
flip is picked up at the service's next version check; a change to the live set during the build
stops the flip, and a second run completes it."""

from __future__ import annotations

import threading
import time

import pytest

from app.embeddings import record_wanted
from app.errors import OperationError
from app.knowledge_store import ChromaKnowledgeStore, kb_collections, make_chroma_client, read_active
from askdesk.reembed_command import run_reembed
from ingest.pipeline import run_ingest
from tests.ingest import sample_files as sf

ROWS = [
    *sf.FAQ_ROWS,
    {"id": "it-002", "question": "How do I connect to the office Wi-Fi?", "related_questions": "wifi password",
     "answer": "Join NWH-Staff and sign in with your domain account.", "category": "IT", "lang": "en"},
    {"id": "hr-002", "question": "病假需要什么证明？", "related_questions": "病假条",
     "answer": "病假超过两天需提交医院开具的病假证明。", "category": "HR", "lang": "zh-Hans"},
]  # fmt: skip
KEY = "sk-reembed"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUERIES = ["How do I reset my VPN password?", "年假有多少天？", "office wifi", "病假需要什么证明？"]


@pytest.fixture
def kb(tmp_path, settings, store):
    folder = tmp_path / "kb"
    folder.mkdir()
    sf.write_csv(folder / "faq.csv", ROWS)
    run_ingest([folder], store, settings)
    return folder


@pytest.fixture
def service(settings, embedders, kb):
    """The real app over the KB; its own store object, as another process would have."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.settings import Settings
    from askdesk import wiring

    s = Settings(_env_file=None, data_dir=settings.data_dir, collection=settings.collection, api_keys=[KEY],
                 rate_limit_exempt_keys=[KEY], retrieval_refresh_s=0.2)  # fmt: skip

    def build_state(st):
        return wiring.build_state(
            st, store=ChromaKnowledgeStore(make_chroma_client(st), embedders, st.collection)
        )

    with TestClient(create_app(s, build_state)) as client:
        yield client


def _top(client) -> list[tuple[str, float]]:
    out = []
    for q in QUERIES:
        r = client.post("/api/search", headers=AUTH, json={"query": q, "k": 3})
        assert r.status_code == 200, r.text
        out.append([(h["id"], h["score"]) for h in r.json()["hits"]])
    return out


def test_service_answers_throughout_and_switches_at_its_next_refresh(service, settings, embedders):
    state = service.app.state.askdesk
    before = _top(service)
    version = state.retriever.refresh().version
    outcome = {}

    def reembed():
        live = ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
        try:
            outcome["report"] = run_reembed(settings, live=live)
        except Exception as e:  # surfaced by the assert below
            outcome["error"] = e

    worker = threading.Thread(target=reembed)
    worker.start()
    statuses, asked = [], 0
    while worker.is_alive() or asked < 8:  # the whole build, and a few refreshes after the flip
        r = service.post("/api/search", headers=AUTH, json={"query": QUERIES[asked % len(QUERIES)], "k": 3})
        statuses.append(r.status_code)
        asked += 1
        if not worker.is_alive():
            time.sleep(0.1)
    worker.join()
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert statuses == [200] * len(statuses) and len(statuses) >= 8
    print(f"{len(statuses)} searches during and after the re-embed ({report.seconds:.1f} s), all 200")  # -s shows it
    assert report.new == "test-kb--g1" and report.old == "test-kb" and report.embedded == _wanted(state.store, report.models)
    assert "4/4 entries found by their own question" in report.verified

    time.sleep(0.3)
    after = _top(service)
    assert state.store.base_name == "test-kb--g1"  # the service follows the pointer...
    assert state.retriever.refresh().version[0] > version[0]  # ...and rebuilt its index from it
    assert after == before  # same models, same records: same answers
    client = make_chroma_client(settings)
    # the old set is kept until --drop-old
    assert set(kb_collections(client, "test-kb")) == {"test-kb", "test-kb--e1", "test-kb--e2", "test-kb--g1",
                                                      "test-kb--g1--e1", "test-kb--g1--e2"}  # fmt: skip
    # a second re-embed with --drop-old: the service keeps answering, the first two sets are gone
    live = ChromaKnowledgeStore(client, embedders, settings.collection)
    second = run_reembed(settings, live=live, drop=True)
    assert second.new == "test-kb--g2" and set(second.dropped) == {"test-kb", "test-kb--e1", "test-kb--e2",
                                                                   "test-kb--g1", "test-kb--g1--e1", "test-kb--g1--e2"}  # fmt: skip
    time.sleep(0.3)
    assert _top(service) == before and state.store.base_name == "test-kb--g2"


def _wanted(store: ChromaKnowledgeStore, models: list[str]) -> int:
    """Records a full set of these models holds: each model's share of the primary's (record_wanted)."""
    primary = store.get_index(0)
    return sum(record_wanted(name, i == 0, m) for i, name in enumerate(models) for m in primary.values())


def test_other_models_wait_for_a_restart(service, settings, embedders):
    """A set built with other models cannot be queried by this process: it keeps serving the old set."""
    two = [e.name for e in embedders[:2]]
    live = ChromaKnowledgeStore(make_chroma_client(settings), embedders, settings.collection)
    report = run_reembed(settings, two, live=live)
    assert report.models == two and report.embedded == _wanted(live, two)
    time.sleep(0.3)
    assert service.post("/api/search", headers=AUTH, json={"query": QUERIES[0]}).status_code == 200
    assert service.app.state.askdesk.store.base_name == "test-kb"
    assert read_active(make_chroma_client(settings), "test-kb").models == two
    # what a restarted process opens: the new set with the models it was built with
    from app.knowledge_store import open_store

    reopened = open_store(settings)
    assert reopened.base_name == "test-kb--g1" and [e.name for e in reopened.embedders] == two
    # and what `askdesk doctor` says of the store
    from askdesk.doctor import store_lines

    lines = "\n".join(store_lines(settings, 5.0))
    assert f"in force: 'test-kb--g1' (askdesk reembed, generation 1), models {two}" in lines
    assert "test-kb--g1--e1: " in lines and "other collections in this store: test-kb, test-kb--e1, test-kb--e2" in lines


def test_a_change_during_the_build_stops_the_flip_and_a_rerun_completes(
    tmp_path, settings, store, kb, embedders
):
    extra = tmp_path / "more"
    extra.mkdir()
    more = [
        {
            **ROWS[2],
            "id": "it-003",
            "question": "How do I order a new laptop?",
            "answer": "Use the IT portal.",
        }
    ]

    def ingest_meanwhile(line: str) -> None:  # an admin upload landing while the new set is built
        if "sentence-transformers" in line and not (extra / "faq2.csv").exists():
            sf.write_csv(extra / "faq2.csv", more)
            run_ingest([extra], store, settings)

    with pytest.raises(OperationError, match="changed during the re-embed .* nothing was switched"):
        run_reembed(settings, live=store, echo=ingest_meanwhile)
    assert read_active(store.client, "test-kb") is None
    live = ChromaKnowledgeStore(store.client, embedders, settings.collection)
    report = run_reembed(settings, live=live)
    # only what the first run had not written: the new entry's records (all models) + the
    # records of the models it had not reached
    assert 0 < report.embedded < _wanted(live, report.models)
    assert read_active(store.client, "test-kb").base == "test-kb--g1"
    assert "it-003" in {m["entry_key"] for m in live.get_index(0).values()}
