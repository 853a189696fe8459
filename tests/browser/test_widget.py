"""The embeddable widget in headless chromium against the real service (sample KB, real llama.cpp).

Screenshots land in test-artifacts/widget/. Playwright's CSS locators pierce the widget's open
shadow root, so `.launcher` finds the button inside it; computed styles are read from inside it.
"""

from __future__ import annotations

import json
import re
import time

import httpx
import jwt
import pytest
from playwright.sync_api import Page, expect

pytest_plugins = ["tests.engine_fixtures", "tests.service_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.llamacpp, pytest.mark.timeout(900)]

ANSWER_TIMEOUT_MS = 180_000  # a rag answer from SmolLM2 on a busy 2-core box
IDENTITY_SECRET = "widget-identity-test-secret-32-bytes-long"
SHADOW = "document.querySelector('[data-askdesk]').shadowRoot"

INSIDE_DIALOG = f"() => {SHADOW}.querySelector('[role=dialog]').contains({SHADOW}.activeElement)"

# records, while an answer streams, whether text was on screen before the answer finished
STREAM_PROBE = f"""() => {{
  const root = {SHADOW};
  window.__probe = [];
  new MutationObserver(() => {{
    const msgs = root.querySelectorAll('.msg.bot');
    const last = msgs[msgs.length - 1];
    const text = last && last.querySelector('.text');
    if (text) window.__probe.push([last.getAttribute('aria-busy'), text.textContent.length]);
  }}).observe(root, {{subtree: true, childList: true, characterData: true, attributes: true}});
}}"""


# contrast of each text element against the first opaque background up its ancestors
CONTRAST_JS = f"""() => {{
  const root = {SHADOW};
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {{
    const f = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  }};
  const bg = (el) => {{
    for (; el; el = el.parentElement || (el.getRootNode().host)) {{
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }}
    return [255, 255, 255];
  }};
  const out = {{}};
  for (const sel of ['h2', '.launcher', '.greeting .text p', '.msg.user', '.send', '.suggest p', '.suggest .chip',
                     'textarea', '.msg.bot .text p', '.sources summary', '.sources h3', '.msg.error']) {{
    const el = root.querySelector(sel);
    if (!el) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
    out[sel] = Math.round(((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) * 100) / 100;
  }}
  return out;
}}"""


def done_event(sse_body: str) -> dict:
    return json.loads(sse_body.split("event: done\ndata: ", 1)[1].split("\n", 1)[0])


def open_demo(page: Page, svc, path: str = "/") -> None:
    page.goto(svc.url + path)
    page.wait_for_function(f"!!(window.AskDesk && document.querySelector('[data-askdesk]') && {SHADOW}.firstChild)")


def launch(page: Page) -> None:
    page.locator(".launcher").click()
    expect(page.locator("[role=dialog]")).to_be_visible()


def ask(page: Page, text: str):
    """Types a question, sends it with Enter, waits until the answer is complete; returns its bubble."""
    n = page.locator(".msg.bot").count()
    box = page.locator("textarea")
    box.fill(text)
    box.press("Enter")
    bubble = page.locator(".msg.bot").nth(n)
    expect(bubble).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    return bubble


def admin_get(svc, path: str) -> dict:
    r = httpx.get(svc.url + path, headers={"X-Admin-Key": svc.admin_key}, timeout=30)
    r.raise_for_status()
    return r.json()


def shot(page: Page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"))


@pytest.mark.parametrize(
    ("question", "mode", "lang_pattern", "name"),
    [
        ("婚假有几天？", "faq", r"[\u4e00-\u9fff]", "answer-zh"),
        ("how many days of annual leave do I get", "faq", r"[A-Za-z]", "answer-en"),
        ("What is the hotel limit per night in a tier 1 city?", "rag", r"[A-Za-z]", "answer-rag"),
    ],
)
def test_question_streams_an_answer_with_sources(askdesk_service, page, artifacts, question, mode, lang_pattern,
                                                 name):  # fmt: skip
    open_demo(page, askdesk_service)
    launch(page)
    page.evaluate(STREAM_PROBE)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as resp_info:
        bubble = ask(page, question)
    resp = resp_info.value
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    body = resp.text()
    assert "event: sources" in body and "event: token" in body and "event: done" in body
    done = done_event(body)
    assert done["mode"] == mode

    text = bubble.locator(".text").inner_text()
    assert text.strip() and re.search(lang_pattern, text), text
    # streamed: answer text was on screen while the message was still marked busy
    probe = page.evaluate("window.__probe")
    assert any(busy == "true" and n > 0 for busy, n in probe), probe
    if mode == "rag":  # many token events, and the bubble grew through several lengths before it was done
        assert body.count("event: token") > 1
        assert len({n for busy, n in probe if busy == "true" and n > 0}) > 1, probe
    if done["mode"] != "no_answer":
        items = bubble.locator(".sources li")
        assert items.count() == len(done["sources"]) >= 1
        first = done["sources"][0]
        expect(items.first.locator("summary")).to_contain_text(first["title"])
        cites = bubble.locator("a.cite")
        if cites.count():  # a [n] marker opens its source and shows the snippet, without navigating
            url = page.url
            cites.first.click()
            expect(bubble.locator(".sources details[open] .snippet")).to_be_visible()
            assert page.url == url
    ratios = page.evaluate(CONTRAST_JS)
    assert all(r >= 4.5 for r in ratios.values()) and ".msg.user" in ratios, ratios
    assert not page.page_errors
    shot(page, artifacts, name)


def test_feedback_is_stored(askdesk_service, page, artifacts):
    before = admin_get(askdesk_service, "/api/admin/stats")["feedback"]
    open_demo(page, askdesk_service)
    launch(page)
    first = ask(page, "How do I connect to the VPN from home?")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as up:
        first.locator(".fb-up").click()
    assert up.value.status == 201
    expect(first.locator(".actions")).to_contain_text("感谢你的反馈")  # the demo page is zh-Hans

    second = ask(page, "个人电脑可以连公司 VPN 吗？")
    second.locator(".fb-down").click()
    comment = f"needs the portal link {time.time_ns()}"
    second.locator(".fb-comment").fill(comment)
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as down:
        second.locator(".fb-send").click()
    assert down.value.status == 201
    assert json.loads(down.value.request.post_data)["comment"] == comment
    shot(page, artifacts, "feedback")

    after = admin_get(askdesk_service, "/api/admin/stats")["feedback"]
    assert after["up"] == before["up"] + 1
    assert after["down"] == before["down"] + 1
    assert any(d["comment"] == comment for d in after["recent_down"])
    log = admin_get(askdesk_service, "/api/admin/log?format=json")["exchanges"]
    assert any(x["query"] == "个人电脑可以连公司 VPN 吗？" for x in log)


@pytest.mark.parametrize(
    ("question", "name"),
    [("公司有宠物友好政策吗", "handoff-zh"), ("do we have a sabbatical program?", "handoff-en")],
)
def test_out_of_scope_question_offers_a_person(askdesk_service, page, artifacts, question, name):
    open_demo(page, askdesk_service)
    launch(page)
    bubble = ask(page, question)
    button = bubble.locator("button.handoff")
    expect(button).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/api/handoff")) as resp_info:
        button.click()
    ticket = resp_info.value.json()
    assert resp_info.value.status == 200 and ticket["reference"]
    expect(bubble.locator(".ref .reference")).to_have_text(ticket["reference"])
    expect(button).to_have_count(0)
    shot(page, artifacts, name)


def test_knowledge_base_html_is_shown_as_text(askdesk_service, page, artifacts):
    question = "What is the Zebra-42 harbour drill code?"
    payload = '<img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script> then **press** `F42` [1]'
    csv = f'id,question,answer\nxss-001,"{question}","{payload.replace(chr(34), chr(34) * 2)}"\n'
    admin = {"X-Admin-Key": askdesk_service.admin_key}
    r = httpx.post(askdesk_service.url + "/api/admin/sources", headers=admin,
                   files={"file": ("widget-xss.csv", csv.encode(), "text/csv")}, timeout=120)  # fmt: skip
    assert r.status_code == 201, r.text
    source = r.json()["source"]
    try:
        open_demo(page, askdesk_service)
        launch(page)
        bubble = ask(page, question)
        text = bubble.locator(".text")
        expect(text).to_contain_text('<img src=x onerror="window.__xss=1">')
        expect(text).to_contain_text("<script>window.__xss=2</script>")
        expect(text.locator("strong")).to_have_text("press")  # the light Markdown still applies
        expect(text.locator("code")).to_have_text("F42")
        url = page.url  # the [1] marker links to source 1: it opens its snippet and does not navigate
        text.locator("a.cite").click()
        expect(bubble.locator(".sources details[open] .snippet")).to_contain_text("<script>")
        assert page.url == url
        assert bubble.locator("img, script").count() == 0
        page.wait_for_timeout(300)
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert not page.page_errors
        shot(page, artifacts, "kb-html-as-text")
    finally:
        d = httpx.delete(f"{askdesk_service.url}/api/admin/sources/{source}", headers=admin, timeout=60)
        assert d.status_code == 200, d.text


def test_host_css_does_not_reach_the_widget(askdesk_service, page, artifacts):
    open_demo(page, askdesk_service, "/?hostile")
    # the demo page in its hostile mode: 30px red text everywhere, every button hidden
    host_button = page.locator("main button")
    assert host_button.evaluate("b => getComputedStyle(b).display") == "none"
    assert page.locator("h1").evaluate("e => getComputedStyle(e).fontSize") == "30px"
    launch(page)
    style = page.evaluate(f"""() => {{
      const r = {SHADOW};
      const cs = (sel) => getComputedStyle(r.querySelector(sel));
      const p = cs('.greeting .text p');
      return {{launcher: cs('.launcher').display, send: cs('.send').display, textFont: p.fontSize,
               textColor: p.color, area: cs('textarea').backgroundColor, lineHeight: cs('.log').lineHeight,
               hostDisplay: getComputedStyle(document.querySelector('[data-askdesk]')).display}};
    }}""")
    assert style["launcher"] != "none" and style["send"] != "none"
    assert style["textFont"] == "14px"
    assert style["textColor"] == "rgb(31, 35, 40)"
    assert style["area"] == "rgb(255, 255, 255)"
    assert style["lineHeight"] == "21px"
    assert style["hostDisplay"] == "block"
    # text contrast inside the widget is at least 4.5:1 (WCAG AA) against the background it sits on
    ratios = page.evaluate(CONTRAST_JS)
    assert ratios and all(r >= 4.5 for r in ratios.values()), ratios
    # and the widget's CSS does not leak out: the host's heading keeps the host's style
    assert page.locator("h1").evaluate("e => getComputedStyle(e).color") == "rgb(255, 0, 0)"
    shot(page, artifacts, "hostile-host-css")


def _host_page(svc_url: str, api: str | None = None, key: str = "pk_demo_local", extra: str = 'data-lang="en"') -> str:
    api_attr = f' data-api="{api}"' if api else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Other site</title></head>'
            f'<body><h1>Partner portal</h1><script src="{svc_url}/widget.js" data-key="{key}"{api_attr} '
            f'{extra}></script></body></html>')  # fmt: skip


def test_disallowed_origin_is_refused(askdesk_service, host_site, page, artifacts):
    svc = askdesk_service.url
    url = host_site.page("refused.html", _host_page(svc, api=svc))
    seen: list[tuple[str, str, int | None]] = []
    page.on("response", lambda r: seen.append((r.request.method, r.url, r.status)))
    page.on("requestfailed", lambda r: seen.append((r.method, r.url, None)))
    page.goto(url)
    page.wait_for_function("window.AskDesk")
    launch(page)
    bubble = ask(page, "How do I connect to the VPN from home?")
    expect(bubble).to_contain_text("isn't allowed to use AskDesk")
    expect(bubble).to_have_class(re.compile(r"\berror\b"))
    assert page.evaluate(CONTRAST_JS)[".msg.error"] >= 4.5
    shot(page, artifacts, "origin-refused")
    # the browser saw the refusal itself (a readable 403), never an answer
    chat = [s for s in seen if s[1].endswith("/api/chat") and s[0] == "POST"]
    assert chat and all(status == 403 for _, _, status in chat), chat
    # and the server refuses this origin for any client
    r = httpx.post(svc + "/api/chat", json={"message": "hi", "stream": True}, timeout=30,
                   headers={"Origin": host_site.url, "X-AskDesk-Widget-Key": "pk_demo_local", "X-AskDesk-Visitor": "t"})  # fmt: skip
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"


def test_unreachable_service_says_so(askdesk_service, host_site, page):
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    page.goto(host_site.page("dead.html", _host_page(askdesk_service.url, api=dead)))
    page.wait_for_function("window.AskDesk")
    launch(page)
    bubble = ask(page, "hello?")
    expect(bubble).to_contain_text("can't be reached")


def test_only_one_global_and_destroy(askdesk_service, host_site, page):
    page.goto(host_site.page("blank.html", "<!doctype html><title>blank</title><p>no widget</p>"))
    base = set(page.evaluate("Object.getOwnPropertyNames(window)"))
    page.goto(host_site.page("globals.html", _host_page(askdesk_service.url)))
    page.wait_for_function("window.AskDesk")
    added = set(page.evaluate("Object.getOwnPropertyNames(window)")) - base
    assert added == {"AskDesk"}, added
    page.evaluate("AskDesk.open(); AskDesk.destroy()")
    left = page.evaluate("[typeof window.AskDesk, document.querySelectorAll('[data-askdesk]').length]")
    assert left == ["undefined", 0]


def test_data_attribute_options(askdesk_service, host_site, page):
    extra = ('data-lang="zh-Hant" data-position="bottom-left" data-color="#ffd33d" data-open="true" '
             'data-question="筆電壞了怎麼辦" data-suggestions="甲 | 乙" data-greeting="歡迎 **同事**"')  # fmt: skip
    page.goto(host_site.page("options.html", _host_page(askdesk_service.url, extra=extra)))
    page.wait_for_function("window.AskDesk")
    dialog = page.locator("[role=dialog]")
    expect(dialog).to_be_visible()  # open on load
    expect(page.locator("h2")).to_have_text("AskDesk 支援")  # Traditional Chinese UI strings
    expect(page.locator("textarea")).to_have_value("筆電壞了怎麼辦")  # pre-filled, not sent
    expect(page.locator(".suggest .chip")).to_have_count(2)
    expect(page.locator(".greeting strong")).to_have_text("同事")
    assert page.locator(".msg.user").count() == 0
    assert dialog.bounding_box()["x"] == 20 and page.locator(".launcher").bounding_box()["x"] == 20
    # a light theme colour gets dark text, so the contrast stays readable
    assert page.locator(".launcher").evaluate("e => getComputedStyle(e).color") == "rgb(17, 17, 17)"
    page.evaluate("AskDesk.close()")
    expect(dialog).to_be_hidden()


def test_rate_limited_visitor_is_told_to_wait(askdesk_service, page):
    visitor = f"rate-test-{time.time_ns()}"
    headers = {"Origin": askdesk_service.url, "X-AskDesk-Widget-Key": "pk_demo_local",
               "X-AskDesk-Visitor": visitor}  # fmt: skip
    with httpx.Client(base_url=askdesk_service.url, headers=headers, timeout=30) as c:
        # the limit (120/minute) is checked before the body: empty feedback bodies use it up cheaply
        codes = [c.post("/api/feedback", json={}).status_code for _ in range(125)]
    assert 429 in codes
    open_demo(page, askdesk_service)
    page.evaluate(f"localStorage.setItem('askdesk:visitor', {json.dumps(visitor)})")
    open_demo(page, askdesk_service)
    launch(page)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as resp_info:
        bubble = ask(page, "How do I connect to the VPN from home?")
    assert resp_info.value.status == 429
    assert resp_info.value.request.headers["x-askdesk-visitor"] == visitor
    expect(bubble).to_contain_text("提问太频繁")  # the demo page is zh-Hans


def test_identity_token_is_sent_and_verified(askdesk_service, page):
    open_demo(page, askdesk_service)
    token = jwt.encode({"sub": "e1024", "name": "Li Na", "exp": int(time.time()) + 300}, IDENTITY_SECRET, "HS256")
    page.evaluate("t => AskDesk.setUser(t)", token)
    launch(page)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as ok:
        ask(page, "How do I connect to the VPN from home?")
    sent = json.loads(ok.value.request.post_data)
    assert ok.value.status == 200 and sent["user_token"] == token
    assert ok.value.request.headers["x-askdesk-widget-key"] == "pk_demo_local"
    assert len(ok.value.request.headers["x-askdesk-visitor"]) >= 16
    forged = jwt.encode({"sub": "ceo", "exp": int(time.time()) + 300}, "not-the-secret-but-32-bytes-long-too", "HS256")
    page.evaluate("t => AskDesk.setUser(t)", forged)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as bad:
        bubble = ask(page, "How do I connect to the VPN from home?")
    assert bad.value.status == 401
    expect(bubble).to_contain_text("登录状态已过期")


def test_keyboard_escape_and_focus_trap(askdesk_service, page, artifacts):
    open_demo(page, askdesk_service)
    active = f"() => {{ const a = {SHADOW}.activeElement; return a ? a.className || a.tagName : null; }}"
    page.locator(".launcher").focus()
    assert page.evaluate(active) == "launcher"
    page.keyboard.press("Enter")
    expect(page.locator("[role=dialog]")).to_be_visible()
    assert page.evaluate(active) == "TEXTAREA"
    dialog = page.locator("[role=dialog]")
    assert dialog.get_attribute("aria-modal") == "true" and dialog.get_attribute("aria-labelledby")
    assert page.locator("[role=log]").get_attribute("aria-live") == "polite"
    for _ in range(12):  # Tab round the panel: focus never leaves it
        page.keyboard.press("Tab")
        assert page.evaluate(INSIDE_DIALOG)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(INSIDE_DIALOG)
    shot(page, artifacts, "keyboard-open")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate(active) == "launcher"
    assert page.locator(".launcher").get_attribute("aria-expanded") == "false"


def test_mobile_viewport_is_full_screen(askdesk_service, browser, artifacts):
    ctx = browser.new_context(viewport={"width": 375, "height": 700}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        open_demo(page, askdesk_service)
        shot(page, artifacts, "mobile-closed")
        page.locator(".launcher").tap()
        panel = page.locator("[role=dialog]")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box and (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 700), box
        ask(page, "VPN 连不上怎么办")
        shot(page, artifacts, "mobile-open")
    finally:
        ctx.close()


def test_conversation_survives_navigation(askdesk_service, page, artifacts):
    open_demo(page, askdesk_service)
    launch(page)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as first:
        ask(page, "How do I connect to the VPN from home?")
    session_id = done_event(first.value.text())["session_id"]
    before = page.locator(".log").inner_text()
    page.locator("header.top a", has_text="IT").click()  # a real navigation to another intranet page
    page.wait_for_url("**/?page=it")
    page.wait_for_function("window.AskDesk")
    expect(page.locator("[role=dialog]")).to_be_visible()  # it was open: it stays open
    assert page.locator(".log").inner_text() == before
    assert page.locator(".msg.user").count() == 1
    with page.expect_request(lambda r: r.url.endswith("/api/chat")) as second:
        ask(page, "个人电脑可以连公司 VPN 吗？")
    assert json.loads(second.value.post_data)["session_id"] == session_id
    shot(page, artifacts, "after-navigation")
    # a new tab is a new conversation (sessionStorage is per tab)
    other = page.context.new_page()
    open_demo(other, askdesk_service)
    assert other.locator(".msg.user").count() == 0

