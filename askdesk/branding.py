"""Branding that travels with a knowledge folder: `<folder>/branding.env`.

A new install's branding is neutral (`app/settings.py`: no company name, "the service desk", no
ticket URL). The sample knowledge base's fictional company (Northwind Harbor) belongs with the sample
knowledge: `knowledge/branding.env` names it, and `askdesk demo` applies the file of the folder it
serves, for the settings the user did not set (environment or `.env` win). Only the branding
settings below may be named there: a knowledge folder never changes keys, hosts or engines."""

from __future__ import annotations

from pathlib import Path

from app.errors import BadRequest
from app.settings import Settings

BRANDING_FILE = "branding.env"
# who the bot speaks for, who to reach, and every reply text it sends on its own
BRANDING_FIELDS = (
    "company_name",
    "handoff_contact",
    "handoff_contact_zh",
    "ticket_url",
    *(f"{n}{zh}" for n in ("greeting_text", "thanks_text", "goodbye_text", "not_helpful_text",
                           "handoff_request_text", "no_answer_text", "suggest_text", "idk_handoff_text",
                           "llm_down_text") for zh in ("", "_zh")),
)  # fmt: skip


def folder_branding(knowledge: Path) -> dict[str, str | None]:
    """The settings `<knowledge>/branding.env` names (field name -> value); {} for a file or a folder
    without one. `ASKDESK_TICKET_URL=` (empty) means no ticket URL."""
    from dotenv import dotenv_values

    path = knowledge / BRANDING_FILE
    if not knowledge.is_dir() or not path.is_file():
        return {}
    out: dict[str, str | None] = {}
    for key, value in dotenv_values(path).items():
        name = key.lower().removeprefix("askdesk_")
        if not key.upper().startswith("ASKDESK_") or name not in BRANDING_FIELDS:
            raise BadRequest(f"{path}: {key} is not a branding setting (allowed: ASKDESK_COMPANY_NAME, "
                             "ASKDESK_HANDOFF_CONTACT(_ZH), ASKDESK_TICKET_URL and the reply texts)")  # fmt: skip
        out[name] = (value or None) if name == "ticket_url" else (value or "")
    return out


def with_folder_branding(s: Settings, knowledge: Path) -> tuple[Settings, list[str]]:
    """`s` with the knowledge folder's branding for every branding setting the user left unset, and
    the names applied."""
    values = {n: v for n, v in folder_branding(knowledge).items() if n not in s.model_fields_set}
    if not values:
        return s, []
    return s.model_copy(update=values), sorted(values)  # all plain strings: nothing to validate
