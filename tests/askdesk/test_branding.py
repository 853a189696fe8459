"""A new install is neutral; the sample company's branding travels with the sample knowledge.

`askdesk demo` is run in-process with its two slow ends replaced: the engine launch (`_start_engine`)
and the server (`uvicorn.run`, which gets the app `askdesk.wiring.service` built from the settings
the demo settled on: that is what the test reads). Ingest is skipped; the rest is the real command."""

from __future__ import annotations

import json
import os

import pytest

from app.errors import BadRequest
from app.privacy.redact import redactor_for
from app.settings import Settings, get_settings
from askdesk.branding import BRANDING_FILE, folder_branding, with_folder_branding
from ingest.discover import discover
from tests.conftest import free_port
from tests.service_fixtures import KNOWLEDGE

SAMPLE_MARKERS = ("northwind", "nwh", "北风港")


def test_default_settings_carry_nothing_of_the_sample_company(monkeypatch, tmp_path):
    for k in [k for k in os.environ if k.startswith("ASKDESK_")]:
        monkeypatch.delenv(k)
    s = Settings(_env_file=None)
    text = json.dumps(s.model_dump(mode="json"), ensure_ascii=False).lower()
    for marker in SAMPLE_MARKERS:
        assert marker not in text, marker
    assert s.company_name == "" and s.ticket_url is None
    assert s.handoff_contact == "the service desk" and s.handoff_contact_zh == "服务台"


def test_the_sample_knowledge_carries_the_sample_branding():
    b = folder_branding(KNOWLEDGE)
    assert b["company_name"] == "Northwind Harbor"
    assert (
        "servicedesk@nwh.example" in b["handoff_contact"]
        and "servicedesk@nwh.example" in b["handoff_contact_zh"]
    )
    assert b["ticket_url"] == "https://helpdesk.nwh.example/new?ref={reference}"
    # ingest does not take it for knowledge, and says why
    found, skipped = discover(KNOWLEDGE)
    assert BRANDING_FILE not in {f.source for f in found}
    assert (BRANDING_FILE, "branding (`askdesk demo` applies it)") in skipped


def test_what_the_user_set_wins_over_the_folders_branding():
    s = Settings(_env_file=None, company_name="Acme", ticket_url=None)
    branded, applied = with_folder_branding(s, KNOWLEDGE)
    assert branded.company_name == "Acme" and branded.ticket_url is None  # set, even to None: kept
    assert "servicedesk@nwh.example" in branded.handoff_contact
    assert applied == ["handoff_contact", "handoff_contact_zh"]


def test_a_branding_file_may_name_branding_only(tmp_path):
    (tmp_path / BRANDING_FILE).write_text('ASKDESK_COMPANY_NAME=Acme\nASKDESK_API_KEYS=["sk-x"]\n')
    with pytest.raises(BadRequest, match="ASKDESK_API_KEYS is not a branding setting"):
        folder_branding(tmp_path)
    (tmp_path / BRANDING_FILE).write_text("ASKDESK_COMPANY_NAME=Acme\nASKDESK_TICKET_URL=\n")
    assert folder_branding(tmp_path) == {"company_name": "Acme", "ticket_url": None}
    assert folder_branding(tmp_path / "faq.csv") == {}  # a single table has no folder of its own


def test_the_service_desks_address_stays_unredacted_under_either_branding():
    neutral = redactor_for(Settings(_env_file=None))
    assert neutral("mail li@corp.example") == "mail [EMAIL]"
    sample, _ = with_folder_branding(Settings(_env_file=None), KNOWLEDGE)
    assert redactor_for(sample)("mail servicedesk@nwh.example or li@nwh.example") == (
        "mail servicedesk@nwh.example or [EMAIL]"
    )


# --- the demo ------------------------------------------------------------------------------------
@pytest.fixture
def run_demo(monkeypatch, tmp_path, capsys):
    """Run `askdesk demo --skip-ingest [--knowledge PATH]` in tmp_path; (output, the Settings served)."""
    import uvicorn

    import askdesk.demo
    import askdesk.wiring

    for k in [k for k in os.environ if k.startswith("ASKDESK_")]:
        monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)  # no .env of the caller's
    monkeypatch.setenv("ASKDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASKDESK_PORT", str(free_port()))
    served: list[Settings] = []
    monkeypatch.setattr(askdesk.demo, "_start_engine", lambda *a: None)
    monkeypatch.setattr(askdesk.wiring, "service", lambda s: served.append(s) or "app")
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)

    def run(knowledge=None, **env: str):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        try:
            askdesk.demo.demo(skip_ingest=True, knowledge=knowledge)
        finally:
            get_settings.cache_clear()
        (s,) = served
        return capsys.readouterr().out, s

    return run


def test_the_demo_on_the_sample_knowledge_speaks_for_the_sample_company(run_demo):
    out, s = run_demo(ASKDESK_KNOWLEDGE_DIR=str(KNOWLEDGE))
    assert s.company_name == "Northwind Harbor" and "servicedesk@nwh.example" in s.handoff_contact
    assert s.ticket_url == "https://helpdesk.nwh.example/new?ref={reference}"
    assert f"Branding from {KNOWLEDGE / BRANDING_FILE}: Northwind Harbor" in out


def test_the_demo_keeps_the_branding_the_user_set(run_demo):
    out, s = run_demo(ASKDESK_KNOWLEDGE_DIR=str(KNOWLEDGE), ASKDESK_COMPANY_NAME="Acme")
    assert s.company_name == "Acme" and "servicedesk@nwh.example" in s.handoff_contact
    assert "Branding from" in out and "ASKDESK_COMPANY_NAME" not in out  # what was applied, not what was kept


def test_the_demo_on_your_knowledge_is_neutral(run_demo, tmp_path):
    mine = tmp_path / "our-faq"
    mine.mkdir()
    (mine / "faq.csv").write_text("question,answer\nWhere is the printer?,Second floor.\n")
    out, s = run_demo(mine)
    default = Settings(_env_file=None)
    for name in ("company_name", "handoff_contact", "handoff_contact_zh", "ticket_url"):
        assert getattr(s, name) == getattr(default, name), name
    assert "Branding from" not in out and "Northwind" not in out


def test_an_unnamed_company_reads_as_the_company_in_the_prompt():
    from app.answering.prompts import rag_inputs

    assert rag_inputs(question="q", passages=[], lang="en", company="")["company"] == "the company"
    assert rag_inputs(question="q", passages=[], lang="zh-Hans", company="")["company"] == "公司"
    assert rag_inputs(question="q", passages=[], lang="en", company="Acme")["company"] == "Acme"
