"""askdesk_client against the real app in-process (the real lifespan and wiring over the sample KB,
the scripted model in place of the engine: tests/request_path_fixtures.py).

The sync client is handed the app's TestClient as its `httpx.Client`; the async one an
`httpx.AsyncClient` over `httpx.ASGITransport(app)`, run on the app's own event loop (the state the
lifespan built belongs to it). The same client against a real `askdesk serve`: test_client_live.py.
Transport failures (refused, timed out, a proxy's page, a cut stream) need no app: a closed port, a
socket that never answers, and httpx.MockTransport for the bodies only a broken proxy would send."""

from __future__ import annotations

import socket
from contextlib import aclosing

import httpx
import pytest

pytest.register_assert_rewrite("tests.request_path_fixtures")

from askdesk_client import (
    Answer,
    AskDeskClient,
    AskDeskError,
    AsyncAskDeskClient,
    DoneEvent,
    ErrorEvent,
    Handoff,
    ReasoningEvent,
    SearchResult,
    SourcesEvent,
    TokenEvent,
)  # fmt: skip
from tests.request_path_fixtures import (
    ADMIN,
    API_KEY,
    CONTACT,
    DOC_QUESTION,
    FAQ_EN,
    FAQ_ZH,
    OUT_OF_SCOPE,
    RequestPathApp,
    faq_answer,
)  # fmt: skip
from tests.scripted_model import connection_error

pytest_plugins = ["tests.request_path_fixtures"]

REPLY = "Tier 1 cities get RMB 200 a day [1]. No receipts are needed [1]."
PER_DIEM = "docs/travel-policy.md#Per-diem rates"
BASE = "http://testserver"


@pytest.fixture
def desk(askdesk_app: RequestPathApp, scripted) -> AskDeskClient:
    scripted.script(REPLY)
    return AskDeskClient(BASE, api_key=API_KEY, http_client=askdesk_app.client)


def run_async(app: RequestPathApp, use, api_key: str | None = API_KEY):
    """`await use(client)` with an AsyncAskDeskClient over the app, on the app's event loop."""

    async def go():
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.client.app))
        async with http, AsyncAskDeskClient(BASE, api_key=api_key, http_client=http) as c:
            return await use(c)

    return app.run(go)


# --- ask -------------------------------------------------------------------------------------------
def test_ask_returns_a_typed_answer(desk, scripted):
    a = desk.ask(FAQ_EN)
    assert isinstance(a, Answer) and a.mode == "faq" and a.answer == faq_answer("hr-leave-001")
    assert a.sources[0].id == "hr-leave-001" and a.sources[0].kind == "faq" and a.backend is None
    rag = desk.ask(DOC_QUESTION)
    assert rag.mode == "rag" and rag.answer == REPLY and rag.sources[0].id == PER_DIEM
    assert rag.usage and rag.usage["completion_tokens"] > 0
    zh = desk.ask(FAQ_ZH)
    assert zh.lang == "zh-Hans" and zh.sources[0].id == "hr-leave-008"


def test_a_session_continues_with_its_id(desk, scripted):
    standalone = "What is the per-diem rate for tier 2 cities?"
    scripted.script(lambda msgs: standalone if msgs[0].content.startswith("Rewrite") else REPLY)
    first = desk.ask(DOC_QUESTION)
    second = desk.ask("and what about tier 2 cities?", session_id=first.session_id)
    assert second.session_id == first.session_id and second.rewritten_query == standalone


# --- stream ----------------------------------------------------------------------------------------------
def test_stream_yields_typed_events_ending_with_done(desk):
    events = list(desk.stream(DOC_QUESTION))
    assert (
        isinstance(events[0], SourcesEvent)
        and events[0].mode == "rag"
        and events[0].sources[0].id == PER_DIEM
    )
    assert isinstance(events[-1], DoneEvent) and all(isinstance(e, TokenEvent) for e in events[1:-1])
    done = events[-1].answer
    assert "".join(e.text for e in events[1:-1]) == done.answer == REPLY
    assert events[0].message_id == done.message_id and events[0].session_id == done.session_id


def test_stream_with_reasoning_yields_reasoning_events(desk, scripted):
    scripted.script(REPLY, reasoning="The per-diem table is in passage 1.")
    events = list(desk.stream(DOC_QUESTION, enable_thinking=True, return_reasoning=True))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningEvent))
    assert reasoning == "The per-diem table is in passage 1." == events[-1].answer.reasoning
    assert scripted.calls[-1].kwargs["extra_body"]["chat_template_kwargs"]["enable_thinking"] is True


def test_stream_reports_a_failure_after_the_start_as_an_error_event(desk, scripted):
    scripted.script(error=connection_error)
    events = list(desk.stream(DOC_QUESTION))
    assert isinstance(events[0], SourcesEvent) and isinstance(events[-1], ErrorEvent)
    err = events[-1]
    assert (
        err.code == "llm_unavailable" and CONTACT in err.message and err.handoff.reason == "llm_unavailable"
    )


def test_stopping_a_stream_early_closes_it(desk):
    it = desk.stream(DOC_QUESTION)
    assert isinstance(next(it), SourcesEvent)
    it.close()  # the `with` inside closes the response; the next answer is served as usual
    assert desk.ask(FAQ_EN).mode == "faq"


# --- search, handoff, feedback ------------------------------------------------------------------------------
def test_search_returns_typed_hits(desk):
    r = desk.search("How do I connect to the VPN from home?", k=3)
    assert isinstance(r, SearchResult) and r.predicted_answerable and len(r.hits) == 3 and r.lang == "en"
    top = r.hits[0]
    assert (
        top.id == "it-vpn-001" and top.kind == "faq" and top.source == "faq.csv" and 0 < top.confidence <= 1
    )
    assert top.content == top.snippet and top.snippet
    assert not desk.search(OUT_OF_SCOPE).predicted_answerable


def test_handoff_opens_a_ticket_and_feedback_is_recorded(askdesk_app, desk):
    a = desk.ask(OUT_OF_SCOPE)
    assert a.mode == "no_answer" and a.handoff is not None and a.handoff.reason == "no_answer"
    h = desk.handoff(a.session_id, a.message_id)
    assert isinstance(h, Handoff) and h.reason == "user_request" and h.reference and CONTACT in h.contact
    desk.feedback(a.message_id, "down", comment="not what I asked")
    stats = askdesk_app.client.get("/api/admin/stats", headers=ADMIN).json()
    assert any(x["comment"] == "not what I asked" for x in stats["feedback"]["recent_down"])


# --- errors: one type, OpenAI's fields ------------------------------------------------------------------------
def test_http_refusals_raise_askdesk_error_with_the_openai_fields(askdesk_app, scripted):
    wrong = AskDeskClient(BASE, api_key="sk-wrong", http_client=askdesk_app.client)
    with pytest.raises(AskDeskError) as e:
        wrong.ask(FAQ_EN)
    assert e.value.status == 401 and e.value.code == "invalid_api_key" and e.value.type and e.value.message
    with pytest.raises(AskDeskError) as e:  # a refusal before the stream starts raises too
        list(wrong.stream(FAQ_EN))
    assert e.value.status == 401 and e.value.code == "invalid_api_key"
    desk = AskDeskClient(BASE, api_key=API_KEY, http_client=askdesk_app.client)
    with pytest.raises(AskDeskError) as e:
        desk.ask("   ")
    assert e.value.status == 400 and e.value.param == "message" and e.value.type == "invalid_request_error"
    with pytest.raises(AskDeskError) as e:
        desk.search("vpn", k=51)
    assert e.value.status == 400 and e.value.param == "k"
    with pytest.raises(AskDeskError) as e:
        desk.feedback("no-such-message", "up")
    assert str(e.value) == "no answer with message_id 'no-such-message' (HTTP 404, code=not_found)"
    assert scripted.calls == []


def test_a_closed_port_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    with AskDeskClient(f"http://127.0.0.1:{port}", api_key="k") as desk, pytest.raises(AskDeskError) as e:
        desk.ask("hi")
    assert e.value.status is None and e.value.code == "connection_error"


def test_a_service_that_never_answers_is_a_timeout():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()  # the kernel accepts the connection; nothing ever reads or answers it
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        with AskDeskClient(url, api_key="k", timeout=0.5) as desk, pytest.raises(AskDeskError) as e:
            desk.search("vpn")
    assert e.value.status is None and e.value.code == "timeout"


def test_a_proxys_error_page_and_a_cut_stream_still_raise_askdesk_error():
    def proxy(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/search":
            return httpx.Response(502, text="<html>Bad Gateway</html>", headers={"retry-after": "7"})
        if request.url.path == "/api/handoff":  # a captive portal's page, with a 200
            return httpx.Response(200, text="<html>Sign in to the network</html>")
        # an event stream cut off after the first answer text: no done or error event
        sse = 'event: sources\ndata: {"mode": "rag", "confidence": 0.9, "sources": []}\n\n' \
              'event: token\ndata: {"text": "Tier 1"}\n\n'  # fmt: skip
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    desk = AskDeskClient("http://proxy", http_client=httpx.Client(transport=httpx.MockTransport(proxy)))
    with pytest.raises(AskDeskError) as e:
        desk.search("vpn")
    assert e.value.status == 502 and e.value.code == "http_502" and "Bad Gateway" in e.value.message
    assert e.value.retry_after == 7
    with pytest.raises(AskDeskError) as e:
        desk.handoff("s1")
    assert e.value.status == 200 and e.value.code == "invalid_response"
    events = []
    with pytest.raises(AskDeskError) as e:
        events.extend(desk.stream("hi"))
    assert [type(x) for x in events] == [SourcesEvent, TokenEvent] and e.value.code == "stream_incomplete"


# --- the async client --------------------------------------------------------------------------------------------
def test_async_client_asks_streams_searches_and_hands_off(askdesk_app, scripted):
    scripted.script(REPLY)

    async def use(c: AsyncAskDeskClient):
        a = await c.ask(DOC_QUESTION)
        async with aclosing(c.stream(DOC_QUESTION)) as events:
            kinds = [ev.kind async for ev in events]
        hits = await c.search("How do I connect to the VPN from home?", k=2)
        no = await c.ask(OUT_OF_SCOPE)
        h = await c.handoff(no.session_id, no.message_id)
        await c.feedback(a.message_id, "up")
        return a, kinds, hits, h

    a, kinds, hits, h = run_async(askdesk_app, use)
    assert a.mode == "rag" and a.answer == REPLY and a.sources[0].id == PER_DIEM
    assert kinds[0] == "sources" and kinds[-1] == "done" and set(kinds[1:-1]) == {"token"}
    assert len(hits.hits) == 2 and hits.hits[0].id == "it-vpn-001"
    assert h.reference and h.reason == "user_request"


def test_async_client_raises_askdesk_error(askdesk_app, scripted):
    async def ask(c: AsyncAskDeskClient):
        with pytest.raises(AskDeskError) as e:
            await c.ask(FAQ_EN)
        with pytest.raises(AskDeskError) as s:
            async with aclosing(c.stream(FAQ_EN)) as events:
                [ev async for ev in events]
        return e.value, s.value

    err, stream_err = run_async(askdesk_app, ask, api_key="sk-wrong")
    assert err.status == 401 and err.code == "invalid_api_key"
    assert stream_err.status == 401 and stream_err.code == "invalid_api_key"
