from ingest.split import Element, chunk_text, sections_to_entries, split_sections


def test_sections_follow_headings_and_first_heading_is_title():
    els = [
        Element("Title", "Travel Policy", 1),
        Element("NarrativeText", "Applies to all staff.", 1),
        Element("Title", "Per-diem rates", 2),
        Element("NarrativeText", "Tier 1 cities: 450 CNY per day.", 2),
        Element("Title", "Empty heading", 2),
        Element("Title", "Booking", 3),
        Element("ListItem", "Book through the travel portal.", 3),
    ]
    title, sections = split_sections(els, default_title="travel")
    assert title == "Travel Policy"
    assert [(s.heading, s.page) for s in sections] == [
        ("Travel Policy", 1), ("Per-diem rates", 2), ("Booking", 3),
    ]  # fmt: skip


def test_text_before_any_heading_goes_to_a_section_named_after_the_file():
    title, sections = split_sections([Element("NarrativeText", "Just text.")], default_title="notes")
    assert title == "notes" and sections[0].heading == "notes"


def test_chunks_respect_size_and_overlap():
    paras = [f"Sentence number {i} is here." for i in range(60)]
    chunks = chunk_text(paras, size=200, overlap=40)
    assert len(chunks) > 5
    assert all(len(c) <= 200 for c in chunks)
    # the overlap repeats the end of the previous chunk at the start of the next
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        head = nxt.split("\n")[0]
        assert head and head in prev


def test_long_paragraph_without_breaks_is_hard_split():
    chunks = chunk_text(["x" * 1000], size=300, overlap=0)
    assert [len(c) for c in chunks] == [300, 300, 300, 100]


def test_entries_keyed_by_source_and_section_with_context_in_chunks():
    titled = split_sections(
        [Element("Title", "Guide"), Element("Title", "Setup"), Element("NarrativeText", "Plug it in."),
         Element("Title", "Setup"), Element("NarrativeText", "Again.")],
        default_title="g",
    )  # fmt: skip
    entries = sections_to_entries(titled, source="docs/guide.md", chunk_size=500, overlap=50)
    assert [e.key for e in entries] == ["docs/guide.md#Setup", "docs/guide.md#Setup (2)"]
    assert entries[0].chunks == ("Guide > Setup\nPlug it in.",)
    assert entries[0].title == "Guide" and entries[0].kind == "doc"


def test_running_pdf_headers_are_dropped_but_unique_page_top_headings_kept():
    els = [
        Element("Header", "ACME internal", 1), Element("Header", "Retention", 1),
        Element("NarrativeText", "Kept seven years.", 1),
        Element("Header", "ACME internal", 2), Element("Header", "Archiving", 2),
        Element("NarrativeText", "Archived after two years.", 2),
    ]  # fmt: skip
    _, sections = split_sections(els, default_title="x")
    assert [s.heading for s in sections] == ["Retention", "Archiving"]


def test_sentences_misread_as_titles_stay_body_text():
    els = [
        Element("Title", "更换周期", 1),
        Element("Title", "笔记本电脑的标准更换周期为 4 年，显示器为 6 年。", 1),
        Element("Title", "损坏与遗失赔偿", 2),
        Element("NarrativeText", "设备被盗可以免除赔偿。", 2),
    ]
    _, sections = split_sections(els, default_title="x")
    assert [(s.heading, s.paragraphs) for s in sections] == [
        ("更换周期", ["笔记本电脑的标准更换周期为 4 年，显示器为 6 年。"]),
        ("损坏与遗失赔偿", ["设备被盗可以免除赔偿。"]),
    ]
