"""Each console page through the real app over the sample knowledge base: what it shows, and what
its actions change (the next question is answered from a curated entry, without a restart)."""

from __future__ import annotations

import csv
import io
import re
import time

from tests.request_path_fixtures import AUTH, FAQ_EN, FAQ_ZH, OUT_OF_SCOPE, faq_answer

pytest_plugins = ["tests.request_path_fixtures"]  # console_app builds on its fixtures


def chat(client, message: str) -> dict:
    r = client.post("/api/chat", headers=AUTH, json={"message": message})
    assert r.status_code == 200, r.text
    return r.json()


def items_of(html: str, needle: str) -> list[str]:
    """The queue's hidden (normalised<TAB>asked) values for a question, as the browser would post them."""
    return [v.replace("&#9;", "\t") for v in re.findall(r'name="item" value="([^"]+)"', html) if needle in v]


def test_dashboard_shows_the_logged_answers_as_numbers_and_svg(admin):
    before = admin.get("/admin/dashboard").text
    n0 = int(re.search(r'data-kpi="questions">(\d+)<', before).group(1))
    d = chat(admin, FAQ_EN)
    chat(admin, OUT_OF_SCOPE)
    admin.post("/api/feedback", headers=AUTH, json={"message_id": d["message_id"], "rating": "up"})
    html = admin.get("/admin/dashboard?days=7").text
    assert int(re.search(r'data-kpi="questions">(\d+)<', html).group(1)) == n0 + 2
    assert html.count("<svg") == 3 and "<script" not in html  # drawn on the server, no script
    assert OUT_OF_SCOPE.lower() in html  # a top gap
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from another host


def test_conversations_show_each_exchange_and_filter(admin):
    d = chat(admin, FAQ_ZH)
    html = admin.get("/admin/conversations", params={"q": FAQ_ZH, "mode": "faq", "band": "high"}).text
    assert FAQ_ZH in html and f"/admin/conversations/{d['message_id']}" in html
    other = admin.get("/admin/conversations", params={"q": FAQ_ZH, "mode": "no_answer"}).text
    assert f"/admin/conversations/{d['message_id']}" not in other
    detail = admin.get(f"/admin/conversations/{d['message_id']}").text
    assert "hr-leave-008" in detail or d["sources"][0]["title"] in detail
    assert d["answer"][:20] in detail and "zh-Hans" in detail
    assert admin.get("/admin/conversations/nope").status_code == 404


def test_tickets_list_transcript_and_resolve(admin):
    d = chat(admin, "I want to talk to a human")
    ref = d["handoff"]["reference"]
    html = admin.get("/admin/tickets").text
    assert ref in html
    page = admin.get(f"/admin/tickets/{ref}").text
    assert "I want to talk to a human" in page and "not sent (no webhook set)" in page
    r = admin.post(
        f"/admin/tickets/{ref}", data={"csrf": admin.csrf, "status": "resolved", "note": "called back"}
    )
    assert r.status_code == 200 and "called back" in r.text
    assert (
        ref not in admin.get("/admin/tickets?status=open").text
        and ref in admin.get("/admin/tickets?status=resolved").text
    )


def test_console_changes_are_in_the_audit_log(admin):
    ref = chat(admin, "I want to talk to a human")["handoff"]["reference"]
    admin.post(f"/admin/tickets/{ref}", data={"csrf": admin.csrf, "status": "resolved", "note": "done"})
    events = admin.app.state.askdesk.conversations.audit.export()
    assert {"actor": "console:tester", "action": "console.signin"}.items() <= events[-2].items()
    assert (events[-1]["actor"], events[-1]["action"], events[-1]["target"]) == (
        "console:tester",
        "ticket.update",
        ref,
    )
    assert "done" not in str(events[-1])  # counts and names, never the note itself


def test_hit_testing_shows_hits_mode_suggestions_and_prompt(admin):
    html = admin.get("/admin/hit-test", params={"q": FAQ_EN}).text
    assert 'data-mode="faq"' in html and "hr-leave-001" in html and "&lt;context&gt;" in html
    html = admin.get("/admin/hit-test", params={"q": OUT_OF_SCOPE}).text
    assert 'data-mode="no_answer"' in html
    zh = admin.get("/admin/hit-test", params={"q": "婚假有幾天？", "lang": "zh-Hant"}).text
    assert 'data-mode="faq"' in zh and "hr-leave-008" in zh


def test_curation_add_as_related_question_answers_the_next_question_verbatim(admin):
    question = "is there a sabbatical or career break scheme?"
    assert chat(admin, question)["mode"] == "no_answer"
    html = admin.get("/admin/queue").text
    items = items_of(html, question)
    assert items, "the unanswered question is in the queue"
    t0 = time.perf_counter()
    r = admin.post(
        "/admin/queue/related", data={"csrf": admin.csrf, "item": items[:1], "key": "hr-leave-012"}
    )
    assert r.status_code == 200 and "Saved" in r.text
    d = chat(admin, question)
    took = time.perf_counter() - t0
    assert (
        d["mode"] == "faq"
        and d["answer"] == faq_answer("hr-leave-012")
        and d["sources"][0]["id"] == "hr-leave-012"
    )
    assert took < 60, took
    assert not items_of(admin.get("/admin/queue").text, question)  # curated: off the queue
    # the entry's original phrasing still answers from it, and the change is versioned
    assert chat(admin, "Can I take unpaid leave?")["sources"][0]["id"] == "hr-leave-012"
    hist = admin.get("/admin/knowledge/history", params={"key": "hr-leave-012"}).text
    assert "add_related" in hist and "tester" in hist and question in hist


def test_curation_create_entry_and_out_of_scope(admin):
    pets, weather = "can I bring my dog to the office?", "what is the weather on mars today?"
    chat(admin, pets)
    chat(admin, weather)
    html = admin.get("/admin/queue").text
    assert items_of(html, pets) and items_of(html, weather)  # unanswered or answered unsurely
    answer = "No: pets are not allowed in the office, except assistance dogs."
    r = admin.post("/admin/queue/create", data={"csrf": admin.csrf, "item": items_of(html, pets), "question": pets,
                                                 "answer": answer, "lang": "en", "category": "Facilities"})  # fmt: skip
    assert r.status_code == 200 and "Saved" in r.text
    d = chat(admin, pets)
    assert d["mode"] == "faq" and d["answer"] == answer
    r = admin.post("/admin/queue/out-of-scope", data={"csrf": admin.csrf, "item": items_of(html, weather)})
    assert r.status_code == 200
    queue = admin.get("/admin/queue").text
    assert not items_of(queue, weather) and not items_of(queue, pets)


def test_knowledge_edit_rollback_delete_and_export(admin):
    # a new entry
    r = admin.post("/admin/knowledge/entry", data={"csrf": admin.csrf, "question": "Where is the bike storage?",
                                                   "answer": "In the basement, level B1.", "lang": "en",
                                                   "related": "bicycle parking\nbike room"})  # fmt: skip
    key = re.search(r"<h1>([^<]+)</h1>", r.text).group(1)
    assert (
        key.startswith("console-")
        and chat(admin, "Where is the bike storage?")["answer"] == "In the basement, level B1."
    )
    # edited, then rolled back to the first version
    admin.post("/admin/knowledge/entry", data={"csrf": admin.csrf, "key": key, "question": "Where is the bike storage?",
                                               "answer": "In the courtyard.", "lang": "en"})  # fmt: skip
    assert chat(admin, "Where is the bike storage?")["answer"] == "In the courtyard."
    versions = admin.app.state.console.knowledge.versions(key)
    assert [v.action for v in versions] == ["update", "create"]
    r = admin.post("/admin/knowledge/rollback", data={"csrf": admin.csrf, "version": versions[0].id})
    assert r.status_code == 200
    assert chat(admin, "Where is the bike storage?")["answer"] == "In the basement, level B1."
    # the export is a Q&A table `askdesk ingest` reads back, entry for entry
    exported = admin.get("/admin/knowledge/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert (
        rows[key]["answer"] == "In the basement, level B1." and "bike room" in rows[key]["related_questions"]
    )
    from ingest.load import load_file

    entries = load_file(_write(admin, exported.text), "curated.csv", admin.app.state.askdesk.settings)
    assert {e.key: e.answer for e in entries}[key] == "In the basement, level B1."
    # deleted: no longer answered from it
    admin.post("/admin/knowledge/delete", data={"csrf": admin.csrf, "key": key})
    assert chat(admin, "Where is the bike storage?")["answer"] != "In the basement, level B1."
    assert key not in admin.get("/admin/knowledge/export.csv").text


def test_editing_a_file_entry_overrides_it_and_survives_a_reingest(admin):
    new = "Annual leave: 15 days for everyone (console edit)."
    page = admin.get("/admin/knowledge/entry", params={"key": "hr-leave-001"}).text
    assert "faq.csv" in page
    admin.post("/admin/knowledge/entry", data={"csrf": admin.csrf, "key": "hr-leave-001", "overrides": "faq.csv",
                                               "question": "How many days of annual leave do I get?", "answer": new,
                                               "lang": "en", "category": "HR"})  # fmt: skip
    assert chat(admin, FAQ_EN)["answer"] == new
    # re-ingesting the original file puts its records back: the console's copy still answers
    from ingest.pipeline import run_ingest
    from tests.request_path_fixtures import KNOWLEDGE

    st = admin.app.state.askdesk
    run_ingest([KNOWLEDGE / "faq.csv"], st.store, st.settings)
    st.retriever.refresh(force=True)
    assert chat(admin, FAQ_EN)["answer"] == new
    # the copy cannot be deleted (the file's records are gone from the store), only rolled back:
    # its first version's "before" is the file's entry, and rolling back to it restores that text
    r = admin.post("/admin/knowledge/delete", data={"csrf": admin.csrf, "key": "hr-leave-001"})
    assert "overrides faq.csv" in r.text and chat(admin, FAQ_EN)["answer"] == new
    first = admin.app.state.console.knowledge.versions("hr-leave-001")[-1]
    assert first.before["answer"] == faq_answer("hr-leave-001") and first.after["answer"] == new
    admin.post("/admin/knowledge/rollback", data={"csrf": admin.csrf, "version": first.id})
    assert chat(admin, FAQ_EN)["answer"] == faq_answer("hr-leave-001")


def test_knowledge_browse_and_file_upload_delete(admin):
    html = admin.get("/admin/knowledge", params={"q": "annual leave", "kind": "faq"}).text
    assert "hr-leave-001" in html and "onboarding-guide.md#" not in html  # only FAQ entries listed
    doc = "# Bike policy\n\nBikes may be parked in the basement rack B1 at any time.\n"
    r = admin.post(
        "/admin/knowledge/files",
        data={"csrf": admin.csrf},
        files={"file": ("bikes.md", doc.encode(), "text/markdown")},
    )
    assert r.status_code == 200 and "uploads/bikes.md" in r.text
    assert "uploads/bikes.md" in admin.get("/admin/knowledge").text
    r = admin.post(
        "/admin/knowledge/files",
        data={"csrf": admin.csrf},
        files={"file": ("x.exe", b"MZ", "application/octet-stream")},
    )
    assert "unsupported file type" in r.text
    r = admin.post("/admin/knowledge/files/delete", data={"csrf": admin.csrf, "source": "uploads/bikes.md"})
    assert r.status_code == 200 and "uploads/bikes.md: -1" in r.text


def _write(admin, text: str):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "curated.csv"
    path.write_text(text, encoding="utf-8")
    return path
