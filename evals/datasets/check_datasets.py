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
# looser match for the copy check: also ignores case, spaces and punctuation ("产假有多少天" == "产假有多少天？")
norm = lambda s: re.sub(r"[\s\W_]+", "", s).lower()
faq_norm = {norm(r["question"]) for r in rows} | {norm(x) for r in rows for x in r["related_questions"].split(" | ") if x}
LANGS = {"zh-Hans", "zh-Hant", "en"}; CATS = {"IT", "HR", "Finance", "Facilities"}
for q in qs:
    assert q["lang"] in LANGS and q["category"] in CATS
    check_targets(q, q["id"])
    assert ws(q["query"]).lower() not in faq_questions, ("copy of FAQ question", q["id"])
    assert norm(q["query"]) not in faq_norm, ("copy of FAQ question", q["id"])
assert len({ws(q["query"]).lower() for q in qs}) == len(qs), "duplicate query"

# ---- conversations.jsonl
# Turn kinds. Social, handoff and not-helpful turns carry the expected answer mode and no KB target.
KINDS = ["first", "followup", "switch", "clarify", "greeting", "thanks", "goodbye", "handoff_request", "not_helpful"]
MODE = {"greeting": "chitchat", "thanks": "chitchat", "goodbye": "chitchat", "not_helpful": "chitchat", "handoff_request": "handoff"}
QUESTION_KINDS = {"first", "followup", "switch", "clarify"}
FIRST_KINDS = {"first", "greeting", "handoff_request"}  # what a session can open with
# Turns that are knowingly a verbatim FAQ question: c-001/c-005/c-010 are the original 26 (kept as they were),
# c-027 turn 2 is the exact text of the session that revealed the bug. No other turn may copy an FAQ question.
VERBATIM_OK = {("c-001", 0), ("c-005", 0), ("c-010", 0), ("c-027", 1)}
convs = [json.loads(l) for l in open(DS / "conversations.jsonl", encoding="utf-8")]
assert len({c["id"] for c in convs}) == len(convs), "duplicate conversation id"
verbatim = set()
for c in convs:
    cid = c["id"]
    assert re.fullmatch(r"c-\d{3}", cid) and c["lang"] in LANGS and c["category"] in CATS, cid
    assert 2 <= len(c["turns"]) <= 4, (cid, len(c["turns"]))
    for i, t in enumerate(c["turns"]):
        where = f"{cid}/{i}"
        assert set(t) <= {"query", "kind", "lang", "answerable", "expected_faq_ids", "expected_sources", "expected_answer", "expected_mode"}, (where, set(t))
        assert isinstance(t["query"], str) and t["query"] == t["query"].strip() and t["query"], where
        assert t.get("lang", c["lang"]) in LANGS, where
        k = t["kind"]
        assert k in KINDS, (where, k)
        assert (k == "first") == (i == 0) or (i == 0 and k in FIRST_KINDS), (where, k)
        assert i > 0 or k in FIRST_KINDS, (where, k)
        if k in ("followup", "clarify"):  # needs an earlier question to refer to / to restate
            assert any(p["kind"] in QUESTION_KINDS for p in c["turns"][:i]), (where, k)
        check_targets(t, where)
        if k in MODE:
            assert t.get("expected_mode") == MODE[k] and t["answerable"] is False and t["expected_faq_ids"] == [], where
        else:
            assert "expected_mode" not in t, where
        if norm(t["query"]) in faq_norm:
            verbatim.add((cid, i))
assert verbatim == VERBATIM_OK, ("turns that copy an FAQ question", sorted(verbatim ^ VERBATIM_OK))

# ---- intents: the labelled messages ship with the app as its intent examples (one file, not a copy)
INTENTS_FILE = DS.parents[1] / "app" / "answering" / "intent_examples.jsonl"
INTENTS = ["greeting", "thanks", "goodbye", "human", "not_helpful", "none"]
its = [json.loads(l) for l in open(INTENTS_FILE, encoding="utf-8")]
assert len({x["id"] for x in its}) == len(its), "duplicate intent id"
for x in its:
    assert set(x) == {"id", "text", "lang", "intent"}, x
    assert re.fullmatch(r"i-\d{4}", x["id"]) and x["lang"] in LANGS and x["intent"] in INTENTS, x
    assert isinstance(x["text"], str) and x["text"] == x["text"].strip() and x["text"], x["id"]
    assert norm(x["text"]) not in faq_norm or not norm(x["text"]), ("copy of FAQ question", x["id"])
assert len({ws(x["text"]).lower() for x in its}) == len(its), "duplicate intent text"
print("questions.jsonl OK:", len(qs), " conversations.jsonl OK:", len(convs), " intent examples OK:", len(its))

# ---- counts
def label_type(o): return "document" if o.get("expected_sources") else ("faq" if o["answerable"] else "unanswerable")
print("\nFAQ by category x lang:")
ct = Counter((r["category"], r["lang"]) for r in rows)
for c in ["IT","HR","Finance","Facilities"]:
    print(f"  {c:11s} zh-Hans={ct[(c,'zh-Hans')]:3d} en={ct[(c,'en')]:3d} total={ct[(c,'zh-Hans')]+ct[(c,'en')]}")
print("  by lang:", dict(Counter(r["lang"] for r in rows)), " total:", len(rows))
print("\nquestions by kind:", dict(Counter(label_type(q) for q in qs)))
print("questions by lang:", dict(Counter(q["lang"] for q in qs)))
print("questions by category:", dict(Counter(q["category"] for q in qs)))
print("questions by answerable:", dict(Counter(q["answerable"] for q in qs)))
print("questions lang x kind:", dict(Counter((q["lang"], label_type(q)) for q in qs)))
print("questions category x kind:", dict(Counter((q["category"], label_type(q)) for q in qs)))
print("doc questions per source:", dict(Counter(q["expected_sources"][0].split("#")[0] for q in qs if q.get("expected_sources"))))

turns = [(c, t) for c in convs for t in c["turns"]]
tlang = lambda c, t: t.get("lang", c["lang"])
print("\nconversations:", len(convs), " turns:", len(turns))
print("  by lang:", dict(Counter(c["lang"] for c in convs)))
print("  by category:", dict(Counter(c["category"] for c in convs)))
print("  by number of turns:", dict(sorted(Counter(len(c["turns"]) for c in convs).items())))
print("  with more than one turn language:", sum(len({tlang(c, t) for t in c["turns"]}) > 1 for c in convs))
print("conversations containing a turn of kind:")
for k in KINDS:
    print(f"  {k:16s} {sum(any(t['kind'] == k for t in c['turns']) for c in convs):3d}")
print("  greeting/thanks/goodbye", sum(any(t["kind"] in ("greeting", "thanks", "goodbye") for t in c["turns"]) for c in convs))
print("  unanswerable question", sum(any(t["kind"] in QUESTION_KINDS and not t["answerable"] for t in c["turns"]) for c in convs))
print("turns by kind x lang:")
tk = Counter((t["kind"], tlang(c, t)) for c, t in turns)
for k in KINDS:
    print(f"  {k:16s} en={tk[(k,'en')]:3d} zh-Hans={tk[(k,'zh-Hans')]:3d} zh-Hant={tk[(k,'zh-Hant')]:3d} total={sum(tk[(k,l)] for l in LANGS):3d}")
print("turns by lang:", dict(Counter(tlang(c, t) for c, t in turns)))
qt = [t for _, t in turns if t["kind"] in QUESTION_KINDS]
print("question turns by label:", dict(Counter(label_type(t) for t in qt)), " expected_mode turns:", dict(Counter(t["expected_mode"] for _, t in turns if "expected_mode" in t)))

print("\nintents:", len(its))
ic = Counter((x["intent"], x["lang"]) for x in its)
for k in INTENTS:
    print(f"  {k:12s} en={ic[(k,'en')]:3d} zh-Hans={ic[(k,'zh-Hans')]:3d} zh-Hant={ic[(k,'zh-Hant')]:3d} total={sum(ic[(k,l)] for l in LANGS):3d}")
print("  by lang:", dict(Counter(x["lang"] for x in its)))
