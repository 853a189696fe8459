from evals.sse import SSEParser, parse_events


def test_events_multiline_data_comments_and_crlf():
    text = (
        ': keep-alive\r\nevent: sources\r\ndata: {"mode": "rag"}\r\n\r\nevent: token\ndata: {"text": "a"}\n\n'
        "data: line1\ndata: line2\n\nevent: done\ndata: {}"
    )
    evs = parse_events(text)
    assert [e.event for e in evs] == ["sources", "token", "message", "done"]
    assert evs[0].json() == {"mode": "rag"}
    assert evs[2].data == "line1\nline2"


def test_incremental_feed():
    p = SSEParser()
    assert p.feed_line("event: token") is None
    assert p.feed_line('data: {"text":"x"}') is None
    ev = p.feed_line("")
    assert ev.event == "token" and ev.json() == {"text": "x"}
    assert p.feed_line("") is None
