import pytest

from app.llm.think_split import ThinkSplitter, split_think


@pytest.mark.parametrize(
    ("text", "content", "reasoning"),
    [
        ("plain answer", "plain answer", ""),
        ("<think>why</think>answer", "answer", "why"),
        ("<think>why</think>\n\nanswer", "answer", "why"),
        ("<think>\n\n</think>\n\nanswer", "answer", "\n\n"),
        ("prefilled reasoning</think>answer", "answer", "prefilled reasoning"),
        ("<think>never closed", "", "never closed"),
        ("a < b and c > d", "a < b and c > d", ""),
    ],
)
def test_split_think(text, content, reasoning):
    assert split_think(text) == (content, reasoning)


@pytest.mark.parametrize("cut", range(1, 30))
def test_streaming_split_is_cut_independent(cut):
    text = "<think>step one</think>\n\nThe answer is <b>42</b>."
    s = ThinkSplitter()
    content, reasoning = "", ""
    for i in range(0, len(text), cut):
        c, r = s.feed(text[i : i + cut])
        content, reasoning = content + c, reasoning + r
    c, r = s.flush()
    assert (content + c, reasoning + r) == ("The answer is <b>42</b>.", "step one")


def test_content_never_holds_think_tags():
    s = ThinkSplitter()
    out = "".join(s.feed(p)[0] for p in ["Hi <th", "ink>secret</th", "ink> there"]) + s.flush()[0]
    assert "secret" not in out and "<think>" not in out and out == "Hi  there"


def test_partial_tag_held_until_resolved():
    s = ThinkSplitter()
    assert s.feed("x <") == ("x ", "")
    assert s.feed("3") == ("<3", "")
