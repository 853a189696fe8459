"""The widget's conversation helpers in headless chromium: "did you mean" chips, the always-there
"talk to a person" action, handoff and chitchat answers.

Most tests run against the real service (sample KB, real llama.cpp), as in test_widget.py. The
tests named `..._served_` intercept POST /api/chat with Playwright's `page.route` and answer with a
fixed SSE body shaped like the service's (the `done` event is an `Answer`): they pin how the widget
draws suggestions in every UI language and on a narrow phone, independently of what retrieval on
the sample KB happens to suggest for a given question.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_widget import (
    ANSWER_TIMEOUT_MS,
    CONTRAST_JS,
    SHADOW,
    ask,
    done_event,
    launch,
    open_demo,
    shot,
)

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.llamacpp, pytest.mark.timeout(900)]

# the contrast check of test_widget.py, over the new parts too
CONTRAST_ALL_JS = CONTRAST_JS.replace(
    "'.msg.error']", "'.msg.error', '.dym p', '.dym .chip', '.person', '.ref', '.ref strong', '.ref a']"
)
ACTIVE_CLASS = f"() => {{ const a = {SHADOW}.activeElement; return a ? a.className || a.tagName : null; }}"
# whether an element lies inside the visible part of the message log
IN_LOG_VIEW = """el => {
  const log = el.closest('.log'), r = el.getBoundingClientRect(), l = log.getBoundingClientRect();
  return r.height > 0 && r.top >= l.top - 1 && r.bottom <= l.bottom + 1;
}"""


def own_page(page: Page, svc, name: str, lang: str) -> None:
    """Opens a page on the service's own origin (an allowed widget origin) that embeds the widget
    with data-lang=`lang`: Playwright serves the HTML, the widget and the API are the real ones."""
    url = f"{svc.url}/widget-test/{name}.html"
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>Intranet</title></head>'
            f'<body><h1>Intranet</h1><script src="{svc.url}/widget.js" data-key="pk_demo_local" '
            f'data-lang="{lang}"></script></body></html>')  # fmt: skip
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
    page.goto(url)
    page.wait_for_function(f"!!(window.AskDesk && {SHADOW}.querySelector('.log'))")


def chat_requests(page: Page) -> list[dict]:
    """Records the JSON body of every POST /api/chat the page sends."""
    sent: list[dict] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/chat") else None)
    return sent


def expect_reference_shown(page: Page, ref, reference: str, *, focused: bool) -> None:
    expect(ref.locator(".reference")).to_have_text(reference)
    expect(ref).to_have_attribute("role", "status")
    assert ref.evaluate(IN_LOG_VIEW), "the ticket reference is scrolled out of view"
    if focused:
        assert "ref" in (page.evaluate(ACTIVE_CLASS) or "").split(), page.evaluate(ACTIVE_CLASS)


# --- "did you mean" against the real service


def test_suggestions_render_as_chips_and_ask_their_question(askdesk_service, page, artifacts):
    open_demo(page, askdesk_service)  # the demo page is zh-Hans
    launch(page)
    sent = chat_requests(page)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as first:
        bubble = ask(page, "年假有多少天？")
    done = done_event(first.value.text())
    suggestions = [s["question"] for s in done["suggestions"]]
    assert suggestions, f"the service offered no suggestions for 年假有多少天？ (mode {done['mode']})"

    group = bubble.locator(".dym")
    expect(group).to_have_attribute("role", "group")
    expect(group.locator("p")).to_have_text("你是不是想问：")
    chips = group.locator("button.dym-chip")
    expect(chips).to_have_text(suggestions)
    ratios = page.evaluate(CONTRAST_ALL_JS)
    assert all(r >= 4.5 for r in ratios.values()) and ".dym .chip" in ratios and ".person" in ratios, ratios
    shot(page, artifacts, "suggestions-zh")

    # keyboard: the chip is a real button, Enter on it asks its question in the same session
    chips.first.focus()
    page.keyboard.press("Enter")
    user = page.locator(".msg.user").nth(1)
    expect(user).to_contain_text(suggestions[0])
    second = page.locator(".msg.bot").nth(2)  # 0 is the greeting
    expect(second).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    assert [s["message"] for s in sent] == ["年假有多少天？", suggestions[0]]
    assert sent[1]["session_id"] == done["session_id"]
    expect(second.locator(".text")).not_to_be_empty()

    # the chips are kept with the conversation: a reload draws them again from storage
    page.reload()
    page.wait_for_function(f"!!(window.AskDesk && {SHADOW}.querySelector('.log'))")
    expect(page.locator(".msg.bot").nth(1).locator("button.dym-chip")).to_have_text(suggestions)
    assert not page.page_errors


# --- "did you mean" from a served answer (page.route): every UI language, a phone, storage

SERVED_SUGGESTIONS = [
    {"id": "hr-faq-007", "kind": "faq", "question": "产假有多少天？", "confidence": 0.61},
    {"id": "hr/leave-policy.md#annual-leave", "kind": "doc",
     "question": "Leave policy · Annual leave entitlement and carry-over rules for staff who joined mid-year",
     "confidence": 0.55},  # long: must wrap inside the bubble
    {"id": "hr-faq-012", "kind": "faq", "question": "How do I apply for leave?", "confidence": 0.4},
]  # fmt: skip


def served_sse(question: str, n: int, suggestions: list[dict]) -> str:
    """An /api/chat SSE body shaped like the service's for a no_answer reply with suggestions."""
    sid, mid = "sess-served", f"msg-served-{n}"
    text = (
        "I couldn't find a sure answer. Did you mean one of these? Otherwise please contact "
        "IT & HR service desk: ext. 1234, servicedesk@example.com."
        if suggestions
        else f"(served answer to: {question})"
    )
    handoff = {"reason": "no_answer", "text": text, "contact": "IT & HR service desk: ext. 1234", "ticket_url": None,
               "reference": None}  # fmt: skip
    done = {"session_id": sid, "message_id": mid, "answer": text, "mode": "no_answer" if suggestions else "faq",
            "confidence": 0.3, "lang": "en", "sources": [], "handoff": handoff if suggestions else None,
            "reasoning": None, "backend": None, "rewritten_query": None, "latency_ms": {"total": 12.0},
            "usage": None, "suggestions": suggestions, "intent": None}  # fmt: skip
    events = [
        ("sources", {"mode": done["mode"], "confidence": 0.3, "sources": [], "session_id": sid, "message_id": mid}),
        ("token", {"text": text}),
        ("done", done),
    ]
    return "".join(f"event: {e}\ndata: {json.dumps(d, ensure_ascii=False)}\n\n" for e, d in events)


def serve_chat(page: Page) -> list[dict]:
    """Answers POST /api/chat in the page with served SSE bodies: the first question gets the
    suggestions, later ones a plain answer. Returns the request bodies as they are sent."""
    sent: list[dict] = []

    def handle(route):
        body = json.loads(route.request.post_data)
        sent.append(body)
        sse = served_sse(body["message"], len(sent), SERVED_SUGGESTIONS if len(sent) == 1 else [])
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, body=sse)

    page.route("**/api/chat", handle)
    return sent


@pytest.mark.parametrize(
    ("lang", "label", "viewport", "name"),
    [
        ("en", "Did you mean:", {"width": 1280, "height": 800}, "suggestions-served-en"),
        ("zh-Hant", "你是不是想問：", {"width": 1280, "height": 800}, "suggestions-served-zh-hant"),
        ("en", "Did you mean:", {"width": 375, "height": 700}, "suggestions-served-mobile-en"),
        ("zh-Hans", "你是不是想问：", {"width": 375, "height": 700}, "suggestions-served-mobile-zh"),
    ],
)
def test_served_suggestions_in_each_language(askdesk_service, browser, artifacts, lang, label, viewport, name):
    mobile = viewport["width"] < 480
    ctx = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile, locale="en-US")
    ctx.set_default_timeout(20_000)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sent = serve_chat(page)
        own_page(page, askdesk_service, name, lang)
        launch(page)
        bubble = ask(page, "annual leave days?")
        group = bubble.locator(".dym")
        expect(group.locator("p")).to_have_text(label)
        chips = group.locator("button.dym-chip")
        expect(chips).to_have_text([s["question"] for s in SERVED_SUGGESTIONS])
        expect(bubble.locator("button.handoff")).to_be_visible()  # no_answer still offers a person
        # the chips wrap inside the bubble: none sticks out of it, the long one spans lines
        bb = bubble.bounding_box()
        for i in range(chips.count()):
            cb = chips.nth(i).bounding_box()
            assert cb["x"] >= bb["x"] and cb["x"] + cb["width"] <= bb["x"] + bb["width"] + 0.5, (i, cb, bb)
        assert chips.nth(1).bounding_box()["height"] > chips.nth(0).bounding_box()["height"] * 1.5
        ratios = page.evaluate(CONTRAST_ALL_JS)
        assert all(r >= 4.5 for r in ratios.values()) and ".dym p" in ratios, ratios
        group.scroll_into_view_if_needed()
        shot(page, artifacts, name)

        chips.nth(0).click()
        expect(page.locator(".msg.user").nth(1)).to_contain_text("产假有多少天？")
        expect(page.locator(".msg.bot").nth(2)).to_have_attribute("aria-busy", "false")
        assert [s["message"] for s in sent] == ["annual leave days?", "产假有多少天？"]
        assert sent[1]["session_id"] == "sess-served"
        # kept with the conversation: drawn again from storage after a reload
        page.reload()
        page.wait_for_function(f"!!(window.AskDesk && {SHADOW}.querySelector('.log'))")
        expect(page.locator(".msg.bot").nth(1).locator("button.dym-chip")).to_have_count(len(SERVED_SUGGESTIONS))
        assert page.locator(".msg.bot").nth(2).locator(".dym").count() == 0  # the plain answer has none
        assert not errors, errors
    finally:
        ctx.close()


# --- talking to a person


def test_asking_for_a_person_opens_a_ticket(askdesk_service, page, artifacts):
    open_demo(page, askdesk_service)
    launch(page)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as resp:
        bubble = ask(page, "我想转人工")
    done = done_event(resp.value.text())
    assert done["mode"] == "handoff" and done["handoff"]["reference"], done
    reference = done["handoff"]["reference"]
    expect(bubble.locator(".text")).to_contain_text(done["answer"].split("。")[0])
    expect_reference_shown(page, bubble.locator(".ref"), reference, focused=False)
    assert page.evaluate(ACTIVE_CLASS) == "TEXTAREA"  # typed: the caret stays in the box
    expect(bubble.locator("button.handoff")).to_have_count(0)  # no second offer
    expect(bubble.locator(".sources, .fb-up, .fb-down")).to_have_count(0)
    assert any(c["reference"] == reference for c in askdesk_service.webhook.calls)
    shot(page, artifacts, "handoff-typed-zh")
    # the header action now shows that ticket again instead of opening another one
    handoffs: list[str] = []
    page.on("request", lambda r: handoffs.append(r.url) if r.url.endswith("/api/handoff") else None)
    page.locator("button.person").click()
    expect_reference_shown(page, bubble.locator(".ref"), reference, focused=True)
    page.wait_for_timeout(500)
    assert not handoffs and page.locator(".ref").count() == 1
    assert not page.page_errors


def test_talk_to_a_person_action_opens_a_ticket(askdesk_service, page, artifacts):
    open_demo(page, askdesk_service)
    launch(page)
    person = page.locator(".bar button.person")
    expect(person).to_have_text("转人工")
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as first:
        ask(page, "婚假有几天？")
    done = done_event(first.value.text())
    for q in ("How do I connect to the VPN from home?", "个人电脑可以连公司 VPN 吗？"):  # scroll the log
        ask(page, q)
    page.locator(".log").evaluate("l => { l.scrollTop = 0; }")  # reading back up the conversation
    with page.expect_response(lambda r: r.url.endswith("/api/handoff")) as resp:
        person.click()
    assert resp.value.status == 200
    ticket = resp.value.json()
    sent = json.loads(resp.value.request.post_data)
    assert sent["session_id"] == done["session_id"] and sent["message_id"]
    ref = page.locator(".msg.bot.ticket-only .ref")
    expect_reference_shown(page, ref, ticket["reference"], focused=True)
    expect(person).to_be_enabled()
    assert any(c["reference"] == ticket["reference"] and c["session_id"] == done["session_id"]
               for c in askdesk_service.webhook.calls)  # fmt: skip
    ratios = page.evaluate(CONTRAST_ALL_JS)
    assert all(r >= 4.5 for r in ratios.values()) and ".ref" in ratios, ratios
    shot(page, artifacts, "handoff-action-zh")
    # kept with the conversation
    page.reload()
    page.wait_for_function(f"!!(window.AskDesk && {SHADOW}.querySelector('.log'))")
    expect(page.locator(".msg.bot.ticket-only .ref .reference")).to_have_text(ticket["reference"])
    assert not page.page_errors


@pytest.mark.parametrize(
    ("lang", "label", "message", "viewport", "name"),
    [
        ("en", "Talk to a person", "I want to talk to a person", {"width": 375, "height": 700}, "mobile-en"),
        ("zh-Hans", "转人工", "我想转人工", {"width": 375, "height": 700}, "mobile-zh"),
        ("en", "Talk to a person", "I want to talk to a person", {"width": 1280, "height": 800}, "en"),
        ("zh-Hant", "轉真人客服", "我想轉真人客服", {"width": 1280, "height": 800}, "zh-hant"),
    ],
)
def test_talk_to_a_person_before_any_question(askdesk_service, browser, artifacts, lang, label, message, viewport,
                                              name):  # fmt: skip
    """With no session yet the action asks for a person through the chat; the service opens the
    ticket and answers with its reference (mode handoff)."""
    mobile = viewport["width"] < 480
    ctx = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile)
    ctx.set_default_timeout(20_000)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        own_page(page, askdesk_service, f"person-first-{name}", lang)
        page.locator(".launcher").click()
        person = page.locator("button.person")
        expect(person).to_have_text(label)
        with page.expect_response(lambda r: r.url.endswith("/api/chat")) as resp:
            person.click()
        assert json.loads(resp.value.request.post_data)["message"] == message
        done = done_event(resp.value.text())
        assert done["mode"] == "handoff" and done["handoff"]["reference"], done
        bubble = page.locator(".msg.bot").nth(1)
        expect(bubble).to_have_attribute("aria-busy", "false")
        expect_reference_shown(page, bubble.locator(".ref"), done["handoff"]["reference"], focused=True)
        expect(bubble.locator("button.handoff")).to_have_count(0)
        box = bubble.locator(".ref").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
        shot(page, artifacts, f"handoff-action-{name}")
        assert not errors, errors
    finally:
        ctx.close()


def test_offered_handoff_then_header_action_reuses_the_offer(askdesk_service, page, artifacts):
    """An answer that offers a person (no answer in the KB): the header action takes that offer,
    so the reference appears in that answer and no second ticket is opened."""
    open_demo(page, askdesk_service)
    launch(page)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as first:
        bubble = ask(page, "公司有宠物友好政策吗")
    done = done_event(first.value.text())
    if not (done.get("handoff") and not done["handoff"].get("reference")):
        pytest.skip(f"the service did not offer a person for this question (mode {done['mode']})")
    expect(bubble.locator("button.handoff")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/api/handoff")) as resp:
        page.locator("button.person").click()
    ticket = resp.value.json()
    assert json.loads(resp.value.request.post_data)["message_id"] == done["message_id"]
    expect_reference_shown(page, bubble.locator(".ref"), ticket["reference"], focused=True)
    expect(bubble.locator("button.handoff")).to_have_count(0)
    assert page.locator(".ref").count() == 1
    shot(page, artifacts, "handoff-offer-taken-zh")
    assert not page.page_errors


def test_chitchat_has_no_sources_or_thumbs(askdesk_service, page, artifacts):
    open_demo(page, askdesk_service)
    launch(page)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as resp:
        bubble = ask(page, "谢谢")
    done = done_event(resp.value.text())
    assert done["mode"] == "chitchat", done
    expect(bubble.locator(".text")).to_have_text(done["answer"])
    expect(bubble.locator(".sources, .fb-up, .fb-down, .dym, .ref")).to_have_count(0)
    assert not page.page_errors


# --- the session that once answered every message with its first answer (issue: conversations)

BUG_SESSION = ["VPN 连不上怎么办", "How many days of annual leave do I get?", "do we have a sabbatical program?",
               "我想转人工", "年假有多少天？"]  # fmt: skip


def test_the_session_that_repeated_its_first_answer_replayed_in_the_widget(askdesk_service, page, artifacts):
    """One widget session, five messages: each question is answered as the first message of a new
    session would be (same mode and first source, asked through the API without a session), the
    request for a person opens a ticket, and 年假有多少天 gets suggestions instead of the maternity
    entry verbatim."""
    import httpx

    open_demo(page, askdesk_service)
    launch(page)
    got = []
    for text in BUG_SESSION:
        with page.expect_response(lambda r: r.url.endswith("/api/chat")) as resp:
            ask(page, text)
        got.append(done_event(resp.value.text()))
    assert len({d["session_id"] for d in got}) == 1  # one session throughout
    h = {"Authorization": f"Bearer {askdesk_service.exempt_key}"}
    for text, d in zip(BUG_SESSION, got, strict=True):
        if text == "我想转人工":
            assert d["mode"] == "handoff" and d["handoff"]["reference"], d
            continue
        fresh = httpx.post(f"{askdesk_service.url}/api/chat", headers=h, json={"message": text}, timeout=300).json()
        first = lambda a: [s["id"] for s in a["sources"]][:1]  # noqa: E731
        assert (d["mode"], first(d)) == (fresh["mode"], first(fresh)), (text, d["mode"], fresh["mode"])
    assert got[1]["mode"] == "faq" and got[1]["sources"][0]["id"] == "hr-leave-001"
    assert got[2]["mode"] == "no_answer"
    assert got[4]["mode"] != "faq" and "hr-leave-007" in [s["id"] for s in got[4]["suggestions"]]
    expect(page.locator(".msg.bot").last.locator(".dym .chip")).to_have_count(len(got[4]["suggestions"]))
    shot(page, artifacts, "bug-session-replayed")
    assert not page.page_errors


# --- extractive answers: the quote is shown as a quote, with its citation and source

PER_DIEM = ("Per-diem covers meals and incidentals. Tier 1 cities (Beijing, Shanghai, Shenzhen, Guangzhou): "
            "RMB 200 per day. Tier 2 cities: RMB 150 per day. Other locations: RMB 100 per day.")  # fmt: skip
ONBOARDING = "请在入职当天 9:30 到上海总部 8 楼前台报到（深圳办公室为 5 楼前台），HR 同事会带你领取工牌并办理入职手续。"


@pytest.mark.parametrize(
    ("question", "lang", "title", "section", "passage", "name"),
    [
        ("What is the per-diem in tier 1 cities?", "en", "Travel Policy", "Per-diem rates", PER_DIEM, "extract-en"),
        ("入职第一天几点到哪里报到？", "zh-Hans", "新员工入职指南", "入职第一天", ONBOARDING, "extract-zh"),
    ],
)  # fmt: skip
def test_an_extractive_answer_is_shown_as_a_quote_with_its_source(askdesk_service, page, artifacts, question, lang,
                                                                   title, section, passage, name):  # fmt: skip
    """The `done` event is served (page.route): its text is what app/answering/extract.py makes of
    the passage, so the widget draws exactly what the service would send for mode "extract"."""
    from app.answering.extract import Passage, extract_answer

    ex = extract_answer(question, [Passage(1, title, section, passage, "doc", 0.9)], lang)
    assert ex is not None
    src = {"n": 1, "id": f"docs/x.md#{section}", "kind": "doc", "title": title, "source": "docs/x.md",
           "section": section, "page": None, "snippet": passage[:120], "score": 0.9}  # fmt: skip
    done = {"session_id": "s-x", "message_id": "m-x", "answer": ex.text, "mode": "extract", "confidence": 0.9,
            "lang": lang, "sources": [src], "handoff": None, "reasoning": None, "backend": None,
            "rewritten_query": None, "latency_ms": {"total": 5.0}, "usage": None, "suggestions": [], "intent": None}  # fmt: skip
    events = [("sources", {"mode": "rag", "confidence": 0.9, "sources": [src], "session_id": "s-x", "message_id": "m-x"}),
              ("token", {"text": ex.text}), ("done", done)]  # fmt: skip
    body = "".join(f"event: {e}\ndata: {json.dumps(d, ensure_ascii=False)}\n\n" for e, d in events)
    page.route("**/api/chat", lambda route: route.fulfill(status=200, headers={"Content-Type": "text/event-stream"},
                                                           body=body))  # fmt: skip
    own_page(page, askdesk_service, name, lang)
    launch(page)
    bubble = ask(page, question)
    quote = bubble.locator(".text blockquote")
    expect(quote).to_have_count(1)
    expect(quote).to_contain_text(ex.quotes[0].text[:20])
    expect(bubble.locator(".text p").first).to_contain_text(ex.lead_in.rstrip(":："))
    assert ">" not in quote.inner_text()  # the markdown marker is not shown
    expect(bubble.locator(".sources")).to_contain_text(title)
    assert not page.page_errors
    shot(page, artifacts, name)
