"""/docs in Chromium with every request off this machine blocked: Swagger UI (served by AskDesk
itself, app/static/swagger) renders the API, no request leaves for a CDN. Screenshot:
test-artifacts/widget/docs-offline.png."""

from __future__ import annotations

import threading
import time

import uvicorn

from app.api.main import create_app
from app.settings import Settings
from tests.conftest import free_port


def _no_state(settings):  # /docs and /openapi.json need no service state
    raise AssertionError("build_state must not run")


def test_docs_render_offline(page, artifacts, tmp_path):
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, api_keys=["sk-a"]), _no_state)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.05)
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(f"http://127.0.0.1:{port}/"):
            route.continue_()
        else:  # the intranet without internet
            outside.append(route.request.url)
            route.abort()

    try:
        page.route("**/*", only_local)
        page.goto(f"http://127.0.0.1:{port}/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "AskDesk" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector(".opblock-tag-section")
        tags = page.locator(".opblock-tag").all_inner_texts()
        assert any("chat" in t.lower() for t in tags), tags
        assert page.locator(".opblock").count() >= 10  # the operations, rendered from /openapi.json
        assert page.locator("button.authorize").count() == 1  # the security schemes are declared
        page.screenshot(path=str(artifacts / "docs-offline.png"), full_page=False)
        assert outside == [] and page.page_errors == []
    finally:
        server.should_exit = True
        thread.join(30)
