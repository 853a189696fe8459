"""The leak test in the browser: the widget on the service's demo page in headless chromium, with
no signed user, an HR user and a finance user (AskDesk.setUser with a host-signed JWT), against the
real `askdesk serve` over the audience test KB (tests/audience_service.py: real llama.cpp behind a
capturing proxy). Nothing restricted reaches the page (the answer, sources, "did you mean" chips)
or the engine; each user sees their own entries. A forged, expired or wrong-audience token is
refused (401) and the widget asks the user to sign in again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import audience_kb as kb
from tests.browser.test_widget import SHADOW, ask, launch, open_demo

pytest_plugins = ["tests.engine_fixtures", "tests.audience_service"]
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.llamacpp, pytest.mark.timeout(900)]

OWN = {"none": (), "hr": ("HR-K7731",), "finance": ("FIN-Q4420",)}


@pytest.mark.parametrize("name", ["none", "hr", "finance"])
def test_widget_shows_nothing_restricted(audience_service, page, name):
    svc = audience_service
    first = len(svc.proxy.bodies)
    open_demo(page, svc)
    if name != "none":
        page.evaluate("t => AskDesk.setUser(t)", svc.token(name))
    launch(page)
    bodies = []
    for q in (kb.Q_HR_FAQ, kb.Q_FIN_FAQ, kb.Q_VAGUE):
        with page.expect_response(lambda r: r.url.endswith("/api/chat")) as resp:
            ask(page, q)
        assert resp.value.status == 200
        bodies.append(resp.value.text())
    shown = page.evaluate(f"() => {SHADOW}.textContent")
    assert kb.leaks(shown, name) == []
    assert kb.leaks(bodies, name) == []
    assert kb.leaks(svc.proxy.bodies[first:], name) == []
    assert all(m in shown for m in OWN[name])
    assert page.page_errors == []


@pytest.mark.parametrize("kind", ["forged", "expired", "wrong_audience"])
def test_widget_refuses_a_bad_token(audience_service, page, kind):
    svc = audience_service
    open_demo(page, svc)
    page.evaluate("t => AskDesk.setUser(t)", svc.bad_tokens()[kind])
    launch(page)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as resp:
        bubble = ask(page, kb.Q_HR_FAQ)
    assert resp.value.status == 401 and resp.value.json()["error"]["code"] == "invalid_identity_token"
    expect(bubble).to_contain_text("登录状态已过期")  # the demo page is zh-Hans: "sign in again"
    assert kb.leaks(page.evaluate(f"() => {SHADOW}.textContent"), "none") == []
