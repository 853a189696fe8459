"""Real files of every supported format, written into a temp folder by the tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

FAQ_ROWS = [
    {"id": "it-001", "question": "How do I reset my VPN password?", "related_questions": "VPN password forgot | reset vpn login",
     "answer": "Open https://id.example/reset and choose VPN; the new password works after 5 minutes.", "category": "IT", "lang": "en"},
    {"id": "hr-001", "question": "年假有多少天？", "related_questions": "年休假天数",
     "answer": "入职满一年的员工每年有 10 天带薪年假，满五年为 15 天。", "category": "HR", "lang": "zh-Hans"},
]  # fmt: skip


def write_csv(path: Path, rows=FAQ_ROWS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["FAQ_ID", "Q", "A", "Category"])
    ws.append(["fac-001", "Where do I collect a parking permit?", "At the front desk in building B, 9:00-17:00.", "Facilities"])
    ws.append(["fac-002", "How do I book a meeting room?", "Use the Rooms tab in Outlook; rooms hold 15 minutes.", "Facilities"])
    wb.save(path)
    return path


def write_jsonl(path: Path) -> Path:
    rows = [
        {"id": "fin-001", "question": "When are expense claims paid?", "answer": "On the 25th of each month.",
         "category": "Finance", "lang": "en", "related_questions": ["expense payout date"]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def write_json(path: Path) -> Path:
    path.write_text(json.dumps({"entries": [{"id": "fin-002", "question": "Who approves invoices?",
                                             "answer": "Your cost-centre manager in the finance portal."}]}))  # fmt: skip
    return path


def write_queries_jsonl(path: Path) -> Path:
    path.write_text(json.dumps({"id": "q1", "query": "vpn broken", "expected_faq_ids": ["it-001"]}) + "\n")
    return path


MD = """# Remote Work Policy

Employees may work remotely up to three days per week.

## Equipment

The company provides a laptop and a 27-inch monitor for home offices.

## Security

Always connect through the corporate VPN when working from cafés or hotels.
"""

HTML = """<html><head><title>Badge Guide</title></head><body>
<h1>Badge Guide</h1>
<p>Your badge opens the doors of every office you are assigned to.</p>
<h2>Lost badges</h2>
<p>Report a lost badge at the security desk; a replacement costs 50 yuan and takes one day.</p>
</body></html>"""


def write_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Onboarding Guide", level=1)
    d.add_paragraph("Welcome to the company. This guide covers your first week.")
    d.add_heading("First day", level=2)
    d.add_paragraph("Collect your laptop from IT on floor 3 at 10:00 on your first day.")
    d.save(path)
    return path


def write_pdf(path: Path) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, 780, "Data Retention Policy")
    c.setFont("Helvetica", 11)
    c.drawString(72, 750, "Customer records are kept for seven years after the contract ends.")
    c.showPage()
    c.setFont("Helvetica-Bold", 16)
    c.drawString(72, 780, "Email Archiving")
    c.setFont("Helvetica", 11)
    c.drawString(72, 750, "Mailboxes are archived automatically after two years of inactivity.")
    c.save()
    return path


def write_all(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "faq.csv")
    write_xlsx(folder / "facilities.xlsx")
    write_jsonl(folder / "finance.jsonl")
    write_json(folder / "more.json")
    (folder / "docs").mkdir(exist_ok=True)
    (folder / "docs" / "remote.md").write_text(MD, encoding="utf-8")
    (folder / "docs" / "badges.html").write_text(HTML, encoding="utf-8")
    write_docx(folder / "docs" / "onboarding.docx")
    write_pdf(folder / "docs" / "retention.pdf")
    (folder / "docs" / "notes.txt").write_text("Printer codes\n\nThe printer PIN is your employee number.\n")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n")
    (folder / "README.md").write_text("# about this folder\n")
    return folder


ZH_ROWS = [
    {"id": "zh-001", "question": "年假有多少天？", "answer": "入职满一年的员工每年有 10 天带薪年假，满五年为 15 天。"},
    {"id": "zh-002", "question": "食堂", "answer": "二楼"},  # short: too little text for a guess unaided
]
ZH_TW_ROWS = [
    {"id": "tw-001", "question": "信用卡年費如何計算？", "answer": "首年免年費，次年起刷滿六次免年費。"},
    {"id": "tw-002", "question": "開戶需要什麼？", "answer": "身分證與第二證件。"},
]


def write_csv_encoded(path: Path, rows, encoding: str) -> Path:
    """A Q&A CSV as a Chinese-locale Excel or WPS saves it: GBK/GB18030 (Simplified) or Big5."""
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_long_txt(path: Path, mb: float) -> Path:
    """Plain text that unstructured needs long to parse (about 13-22 s per MB on 2 cores)."""
    import random

    rnd = random.Random(7)  # paragraphs differ: unstructured caches repeated ones
    words = "the printer PIN is your employee number and the vpn password resets after five minutes".split()
    with path.open("w", encoding="utf-8") as f:
        size = 0
        while size < mb * 1_000_000:
            para = " ".join(rnd.choice(words) for _ in range(60)) + ".\n\n"
            size += f.write(para)
    return path
