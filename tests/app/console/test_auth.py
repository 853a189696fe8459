"""Console sign-in and refusals through the real app: no session -> the sign-in page; a wrong key or
an API key -> refused; a changing request without this session's CSRF token -> 403; the cookie is
HttpOnly, SameSite=Strict, scoped to /admin, and a tampered one is no session."""

from __future__ import annotations

import pytest

from app.console import auth
from app.settings import Settings
from tests.app.console.conftest import csrf_of, sign_in
from tests.request_path_fixtures import ADMIN, API_KEY, AUTH

pytest_plugins = ["tests.request_path_fixtures"]  # console_app builds on its fixtures

PAGES = ["/admin/dashboard", "/admin/conversations", "/admin/tickets", "/admin/hit-test?q=vpn", "/admin/queue",
         "/admin/knowledge", "/admin/knowledge/history", "/admin/knowledge/export.csv"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_page_without_a_session_redirects_to_sign_in(app, path):
    c = app.client
    c.cookies.clear()
    for headers in ({}, AUTH, ADMIN):  # neither an API key nor the admin API's header opens the console
        r = c.get(path, headers=headers, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/signin?next=%2Fadmin%2F")


def test_sign_in_refuses_a_wrong_key_and_an_api_key(app):
    c = app.client
    c.cookies.clear()
    for key in ("wrong", API_KEY, ""):
        r = sign_in(c, key=key)
        assert (
            r.status_code == 401 and "That is not the admin key." in r.text and auth.COOKIE not in r.cookies
        )
    assert c.get("/admin/dashboard", follow_redirects=False).status_code == 303


def test_sign_in_sets_a_strict_http_only_cookie_and_lands_on_next(app):
    c = app.client
    c.cookies.clear()
    r = c.post("/admin/signin", data={"key": "adm", "next": "/admin/tickets"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/tickets"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    r = c.post("/admin/signin", data={"key": "adm", "next": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/admin/dashboard"  # never redirected off the console
    assert c.get("/admin/dashboard").status_code == 200
    c.cookies.clear()


def test_changes_need_the_sessions_csrf_token(admin):
    for path, data in (("/admin/tickets/AD-X", {"status": "resolved"}), ("/admin/queue/out-of-scope", {}),
                       ("/admin/knowledge/entry", {"question": "q", "answer": "a"}), ("/admin/signout", {})):  # fmt: skip
        assert admin.post(path, data=data, follow_redirects=False).status_code == 403
        assert admin.post(path, data={**data, "csrf": "forged"}, follow_redirects=False).status_code == 403
    r = admin.post("/admin/signout", data={"csrf": admin.csrf}, follow_redirects=False)
    assert r.status_code == 303 and admin.get("/admin/dashboard", follow_redirects=False).status_code == 303


def test_a_changing_request_without_a_session_is_refused(app):
    c = app.client
    c.cookies.clear()
    r = c.post(
        "/admin/knowledge/entry", data={"question": "q", "answer": "a", "csrf": "x"}, follow_redirects=False
    )
    assert r.status_code == 401


def test_a_tampered_or_foreign_cookie_is_no_session(app):
    c = app.client
    c.cookies.clear()
    sign_in(c)
    good = c.cookies[auth.COOKIE]
    c.cookies.clear()
    c.cookies.set(auth.COOKIE, good[:-2] + ("AA" if not good.endswith("AA") else "BB"), path="/admin")
    assert c.get("/admin/dashboard", follow_redirects=False).status_code == 303
    other = Settings(_env_file=None, admin_key="another-key")
    forged, _ = auth.issue(other, "mallory", "en")  # signed with another deployment's admin key
    c.cookies.clear()
    c.cookies.set(auth.COOKIE, forged, path="/admin")
    assert c.get("/admin/dashboard", follow_redirects=False).status_code == 303
    c.cookies.clear()


def test_language_switch_keeps_the_session(admin):
    assert "Curation queue" in admin.get("/admin/queue").text
    r = admin.get("/admin/lang/zh?next=/admin/queue")
    assert r.status_code == 200 and "待整理问题" in r.text and csrf_of(r.text) == admin.csrf


def test_session_expiry_and_key_rotation():
    s = Settings(_env_file=None, admin_key="k1", console_session_max_age_s=60)
    cookie, sess = auth.issue(s, "ann", "zh")
    assert auth.read(s, cookie) == sess
    assert auth.read(Settings(_env_file=None, admin_key="k2"), cookie) is None  # rotating the key signs out
    assert auth.read(Settings(_env_file=None, admin_key="k1", console_session_max_age_s=-1), cookie) is None
    assert auth.key_matches(s, "k1") and not auth.key_matches(s, "k2")
    # the keyless local demo signs in without a key; with API keys and no admin key nobody does
    assert auth.key_matches(Settings(_env_file=None), "")
    assert not auth.key_matches(Settings(_env_file=None, api_keys=["sk"]), "")
