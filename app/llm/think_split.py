"""Keep reasoning out of answer text: split ``<think>…</think>`` from content. Pure functions."""

from __future__ import annotations

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def split_think(text: str) -> tuple[str, str]:
    """Return ``(content, reasoning)`` for a complete text; tags are dropped, an unclosed block is
    reasoning, a stray ``</think>`` ends reasoning that started before the text (template prefill)."""
    s = ThinkSplitter()
    c1, r1 = s.feed(text)
    c2, r2 = s.flush()
    return c1 + c2, r1 + r2


class ThinkSplitter:
    """Streaming version of :func:`split_think`: tags may be cut across chunks."""

    def __init__(self) -> None:
        self._in_think = False
        self._buf = ""
        self._seen_content = False
        self._strip_nl = False  # drop the newlines the template puts after </think>, across chunks

    def feed(self, piece: str) -> tuple[str, str]:
        self._buf += piece
        content: list[str] = []
        reasoning: list[str] = []
        while self._buf:
            if self._strip_nl and not self._in_think:
                self._buf = self._buf.lstrip("\n")
                if not self._buf:
                    break
                self._strip_nl = False
            tag = THINK_CLOSE if self._in_think else THINK_OPEN
            idx = self._buf.find(tag)
            # A close tag while not in a think block: everything before it was reasoning that the
            # template opened (the engine did not parse it) — only if no content has been emitted.
            if not self._in_think and not self._seen_content:
                cidx = self._buf.find(THINK_CLOSE)
                if cidx != -1 and (idx == -1 or cidx < idx):
                    reasoning.append(self._buf[:cidx])
                    self._buf = self._buf[cidx + len(THINK_CLOSE) :]
                    self._strip_nl = True
                    continue
            if idx != -1:
                (reasoning if self._in_think else content).append(self._buf[:idx])
                if not self._in_think and self._buf[:idx].strip():
                    self._seen_content = True
                self._buf = self._buf[idx + len(tag) :]
                if self._in_think:  # closing
                    self._strip_nl = True
                self._in_think = not self._in_think
                continue
            keep = _partial_tag_suffix(self._buf, tag if self._in_think or self._seen_content else None)
            out = self._buf[: len(self._buf) - keep]
            self._buf = self._buf[len(self._buf) - keep :]
            if self._in_think:
                reasoning.append(out)
            else:
                content.append(out)
                if out.strip():
                    self._seen_content = True
            break
        return "".join(content), "".join(reasoning)

    def flush(self) -> tuple[str, str]:
        rest, self._buf = self._buf, ""
        return ("", rest) if self._in_think else (rest, "")


def _partial_tag_suffix(buf: str, tag: str | None) -> int:
    """Length of the longest suffix of ``buf`` that could start a tag (held back until more text)."""
    tags = (tag,) if tag else (THINK_OPEN, THINK_CLOSE)
    best = 0
    for t in tags:
        for n in range(min(len(t) - 1, len(buf)), 0, -1):
            if buf.endswith(t[:n]):
                best = max(best, n)
                break
    return best
