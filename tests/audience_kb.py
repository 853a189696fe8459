"""A small knowledge base with entries for everyone, for HR and for finance, tagged every way the
ingest reads tags (a table column, Markdown front matter, a folder's `.audiences`, a sidecar), and
the leak check the audience tests share. Its own folder: the sample KB's tests are unaffected.

Every restricted entry's text carries a marker (HR-K7731..., FIN-Q4420...) that occurs nowhere
else, so a leak is found by looking for the markers and the entries' ids in anything a caller gets.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HR_FAQ = "hr-band-005"
FIN_FAQ = "fin-limit-001"
HR_DOC = "docs/hr-procedures.md"
FIN_DOC = "finance/approvals.md"
PUBLIC_FINANCE_NOTE = "finance/public-note.md"  # in the finance folder, tagged `*` by its sidecar
HR_MARKERS = ("HR-K7731", "HR-D2208", HR_FAQ, HR_DOC)
FIN_MARKERS = ("FIN-Q4420", "FIN-P9915", FIN_FAQ, FIN_DOC)
FORBIDDEN = {"none": HR_MARKERS + FIN_MARKERS, "hr": FIN_MARKERS, "finance": HR_MARKERS}
IDENTITIES = {"none": (), "hr": ("hr",), "finance": ("finance",)}

Q_HR_FAQ = "What are the salary bands for grade 5?"
Q_HR_DOC = "What happens after a written warning in the disciplinary procedure?"
Q_FIN_FAQ = "What is the approval limit for a department head?"
Q_FIN_DOC = "Who approves a purchase order over 50,000?"
Q_VAGUE = "salary"
QUESTIONS = (Q_HR_FAQ, Q_HR_DOC, Q_FIN_FAQ, Q_FIN_DOC, Q_VAGUE)

FAQ_ROWS = [
    ("pub-leave-001", "How many days of annual leave do I get?",
     "Full-time employees get 15 days of paid annual leave a year, booked in the HR portal.", ""),
    ("pub-payday-001", "When is payday?",
     "Salaries are paid on the 25th of every month; when the 25th is a holiday, on the working day before.", ""),
    ("pub-payslip-001", "Where do I find my payslip?",
     "Payslips are in the HR portal under Pay > Payslips from the 24th of each month.", ""),
    ("pub-expense-001", "How do I submit an expense claim?",
     "Submit expense claims in SpendWise with the receipts attached within 30 days.", ""),
    ("pub-vpn-001", "How do I connect to the VPN from home?",
     "Install the VPN client from the IT portal and sign in with your company account.", ""),
    (HR_FAQ, "What are the salary bands for grade 5?",
     "Grade 5 salary band HR-K7731: 18,000 to 26,000 a month; the midpoint is 22,000.", "hr"),
    (FIN_FAQ, "What is the approval limit for a department head?",
     "A department head approves spending up to 50,000 (limit code FIN-Q4420); above that the CFO signs.",
     "Finance | cfo-office"),
]

HANDBOOK = """# Employee Handbook

## Working hours
Core hours are 10:00 to 16:00; the rest of the working day is flexible.

## Pay and salary
Salary is paid monthly on the 25th. Questions about your salary go to your HR business partner.
"""

HR_PROCEDURES = """---
audiences: [hr]
owner: people-team
---
# Disciplinary procedure

## Written warning
After a written warning (case code HR-D2208) the employee has a review meeting within 10 working days,
and the warning stays on file for 12 months.

## Dismissal
A dismissal needs a second written warning and the HR director's approval.
"""

FIN_APPROVALS = """# Purchase approvals

## Purchase orders over 50,000
A purchase order over 50,000 needs the CFO's approval (matrix row FIN-P9915) and two quotes.
"""

PUBLIC_NOTE = """# Expense deadlines

## Month-end close
Expense claims submitted after the 3rd working day of a month are paid in the next month's run.
"""


def write_kb(root: Path) -> Path:
    """The knowledge base in `root`; returns it."""
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "finance").mkdir(exist_ok=True)
    with (root / "faq.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "question", "answer", "audiences"])
        w.writerows(FAQ_ROWS)
    (root / "docs" / "handbook.md").write_text(HANDBOOK, encoding="utf-8")
    (root / HR_DOC).write_text(HR_PROCEDURES, encoding="utf-8")
    (root / "finance" / ".audiences").write_text("# the finance team's folder\nfinance\n", encoding="utf-8")
    (root / FIN_DOC).write_text(FIN_APPROVALS, encoding="utf-8")
    (root / PUBLIC_FINANCE_NOTE).write_text(PUBLIC_NOTE, encoding="utf-8")
    (root / (PUBLIC_FINANCE_NOTE + ".audiences")).write_text("*\n", encoding="utf-8")
    return root


def leaks(payload: object, identity: str) -> list[str]:
    """The markers of entries `identity` may not see that occur in `payload` (any JSON-able value
    or text): [] is no leak."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, default=str)
    return [m for m in FORBIDDEN[identity] if m in text]


def ingest_kb(root: Path, data_dir: Path, embedders, **settings_overrides):
    """`root` ingested into real Chroma under `data_dir` with the given (loaded) embedders; returns
    (settings, store). Parsed in-process (no per-file child): the files are tiny."""
    from app.knowledge_store import ChromaKnowledgeStore, make_chroma_client
    from app.settings import Settings
    from ingest.pipeline import run_ingest

    s = Settings(_env_file=None, data_dir=data_dir, ingest_file_timeout_s=0, retrieval_refresh_s=0.0,
                 **settings_overrides)  # fmt: skip
    store = ChromaKnowledgeStore(make_chroma_client(s), embedders, s.collection)
    report = run_ingest([root], store, s)
    assert not report.failed, report.failed
    return s, store


def write_public_only_kb(root: Path) -> Path:
    """The same knowledge base without the restricted entries: what anonymous readers should get
    results as if from."""
    write_kb(root)
    for f in (HR_DOC, FIN_DOC, "finance/.audiences"):
        (root / f).unlink()
    with (root / "faq.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "question", "answer", "audiences"])
        w.writerows(r for r in FAQ_ROWS if not r[3])
    return root
