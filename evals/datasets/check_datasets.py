"""Validate knowledge/faq.csv, evals/datasets/*.jsonl and print the counts quoted in README.md.

Run: python evals/datasets/check_datasets.py  (needs python-docx and pypdf)
"""
import csv
import html as htmlmod
import json
import re
from collections import Counter
from pathlib import Path

DS = Path(__file__).resolve().parent; K = DS.parent.parent / "knowledge"
ws = lambda s: re.sub(r"\s+", " ", s).strip()

rows = list(csv.DictReader(open(K / "faq.csv", encoding="utf-8", newline="")))
cols = ["id","question","related_questions","answer","category","lang"]
assert list(rows[0].keys()) == cols
for r in rows:
    assert all(r[c] is not None for c in cols) and all(r[c].strip() for c in cols if c != "related_questions"), r
    assert r["category"] in {"IT","HR","Finance","Facilities"} and r["lang"] in {"zh-Hans","en"}
    rel = [x for x in r["related_questions"].split(" | ") if x] if r["related_questions"] else []
    assert len(rel) <= 3 and all(x == x.strip() and x for x in rel), r["id"]
    n = len(re.findall(r"[.!?。！？](?=\s|$)", r["answer"]))
    assert 1 <= n <= 5, (r["id"], n)
ids = [r["id"] for r in rows]; assert len(ids) == len(set(ids)); faq_ids = set(ids)
sec = next(r for r in rows if r["id"] == "it-sec-099")
assert "<img src=x onerror=alert(1)>" in sec["answer"] and "<script>alert('x')</script>" in sec["answer"]
print("faq.csv OK:", len(rows), "rows")

# headings per source, from the source format itself
def headings(path):
    p = K / path
    if p.suffix == ".md":
        return [ws(m.group(2)) for m in re.finditer(r"^(#{1,6})\s+(.+)$", p.read_text(encoding="utf-8"), re.MULTILINE)]
    if p.suffix == ".html":
        return [ws(htmlmod.unescape(re.sub("<[^>]+>", "", m.group(1)))) for m in re.finditer(r"<h[1-6][^>]*>(.*?)</h[1-6]>", p.read_text(encoding="utf-8"), re.DOTALL)]
    if p.suffix == ".docx":
        import docx
        return [ws(x.text) for x in docx.Document(str(p)).paragraphs if x.style.name.startswith("Heading") or x.style.name == "Title"]
    if p.suffix == ".pdf":
        import pypdf
        lines = [ws(l) for pg in pypdf.PdfReader(str(p)).pages for l in pg.extract_text().splitlines()]
        return lines  # heading must appear as a whole standalone line
    raise ValueError(path)
H = {}
for d in sorted((K / "docs").iterdir()):
    rel = f"docs/{d.name}"; H[rel] = headings(rel)
    if d.suffix != ".pdf":
        hs = H[rel]; assert len(hs) == len(set(hs)), rel
        assert all(len(h) <= 60 and not h.endswith((".", "。", ":", "：")) for h in hs), rel
        print(f"  {rel}: {len(hs)} headings: {hs}")

def check_targets(obj, where):
    for fid in obj.get("expected_faq_ids", []):
        assert fid in faq_ids, (where, fid)
    for s in obj.get("expected_sources", []):
        path, _, section = s.partition("#")
        assert (K / path).exists(), (where, s)
        assert section == ws(section) and section in H[path], (where, s)
    if obj["answerable"]:
        assert obj.get("expected_faq_ids") or obj.get("expected_sources"), where
        assert obj.get("expected_answer"), where
    else:
        assert not obj.get("expected_faq_ids") and not obj.get("expected_sources") and "expected_answer" not in obj, where

qs = [json.loads(l) for l in open(DS / "questions.jsonl", encoding="utf-8")]
assert len({q["id"] for q in qs}) == len(qs)
faq_questions = {ws(r["question"]).lower() for r in rows} | {ws(x).lower() for r in rows for x in r["related_questions"].split(" | ") if x}
for q in qs:
    assert q["lang"] in {"zh-Hans","zh-Hant","en"} and q["category"] in {"IT","HR","Finance","Facilities"}
    check_targets(q, q["id"])
    assert ws(q["query"]).lower() not in faq_questions, ("copy of FAQ question", q["id"])
assert len({ws(q["query"]).lower() for q in qs}) == len(qs), "duplicate query"
convs = [json.loads(l) for l in open(DS / "conversations.jsonl", encoding="utf-8")]
for c in convs:
    assert len(c["turns"]) == 2
    for i, t in enumerate(c["turns"]): check_targets(t, f'{c["id"]}/{i}')
print("questions.jsonl OK:", len(qs), " conversations.jsonl OK:", len(convs))

# ---- counts
def kind(o): return "document" if o.get("expected_sources") else ("faq" if o["answerable"] else "unanswerable")
print("\nFAQ by category x lang:")
ct = Counter((r["category"], r["lang"]) for r in rows)
for c in ["IT","HR","Finance","Facilities"]:
    print(f"  {c:11s} zh-Hans={ct[(c,'zh-Hans')]:3d} en={ct[(c,'en')]:3d} total={ct[(c,'zh-Hans')]+ct[(c,'en')]}")
print("  by lang:", dict(Counter(r["lang"] for r in rows)), " total:", len(rows))
print("\nquestions by kind:", dict(Counter(kind(q) for q in qs)))
print("questions by lang:", dict(Counter(q["lang"] for q in qs)))
print("questions by category:", dict(Counter(q["category"] for q in qs)))
print("questions by answerable:", dict(Counter(q["answerable"] for q in qs)))
print("questions lang x kind:", dict(Counter((q["lang"], kind(q)) for q in qs)))
print("questions category x kind:", dict(Counter((q["category"], kind(q)) for q in qs)))
print("doc questions per source:", dict(Counter(q["expected_sources"][0].split("#")[0] for q in qs if q.get("expected_sources"))))
print("\nconversations:", len(convs), "by lang:", dict(Counter(c["lang"] for c in convs)), "by category:", dict(Counter(c["category"] for c in convs)))
turns = [t for c in convs for t in c["turns"]]
print("conversation turns by kind:", dict(Counter(kind(t) for t in turns)))
