"""Which files under a folder are knowledge: real folders, real symlinks."""

from __future__ import annotations

import os

from ingest.discover import discover, root_id
from tests.ingest import sample_files as sf


def test_symlink_loops_are_skipped_with_a_reason_not_followed_or_dropped(tmp_path):
    kb = tmp_path / "kb"
    (kb / "sub").mkdir(parents=True)
    sf.write_csv(kb / "faq.csv")
    (kb / "sub" / "notes.txt").write_text("The printer PIN is your employee number.\n")
    (kb / "sub" / "up").symlink_to(kb, target_is_directory=True)  # loop: back to the root
    (kb / "sub" / "here").symlink_to(kb / "sub", target_is_directory=True)  # loop: its own folder
    os.symlink("self", kb / "self")  # a link to itself
    os.symlink("nowhere", kb / "gone.csv")  # broken
    (kb / "alias").symlink_to(kb / "sub", target_is_directory=True)  # inside the root: read there
    outside = tmp_path / "shared-docs"
    outside.mkdir()
    (outside / "guide.md").write_text(sf.MD)
    (outside / "back").symlink_to(outside, target_is_directory=True)  # a loop inside the linked folder
    (kb / "shared").symlink_to(outside, target_is_directory=True)  # outside the root: followed
    (kb / "shared-again").symlink_to(outside, target_is_directory=True)
    found, skipped = discover(kb)
    assert [f.source for f in found] == ["faq.csv", "shared/guide.md", "sub/notes.txt"]
    assert {f.root for f in found} == {root_id(kb)}
    why = dict(skipped)
    assert why["sub/up"] == "symlink loop (links back to the folder itself); not followed"
    assert why["sub/here"] == "symlink loop (links back to sub); not followed"
    assert why["shared/back"] == "symlink loop (links back to shared); not followed"
    assert why["self"] == "symlink loop (the link resolves back to itself)"
    assert why["gone.csv"] == "broken symlink (its target 'nowhere' does not exist)"
    assert why["alias"] == "symlink to sub, which is read there; not followed"
    assert why["shared-again"] == "symlink to the same folder as shared; not followed"


def test_single_file_root_and_plain_folder(tmp_path):
    kb = sf.write_all(tmp_path / "kb")
    found, skipped = discover(kb / "faq.csv")
    assert [(f.source, f.root) for f in found] == [("faq.csv", root_id(kb))] and skipped == []
    found, skipped = discover(kb, "uploads/")
    assert [f.source for f in found][:2] == ["uploads/docs/badges.html", "uploads/docs/notes.txt"]
    assert dict(skipped) == {"README.md": "README (describes the folder)", "image.png": "unsupported type .png"}
