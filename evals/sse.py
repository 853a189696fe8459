"""Incremental Server-Sent Events parser (text/event-stream). Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class Event:
    event: str
    data: str

    def json(self):
        return json.loads(self.data) if self.data else None


class SSEParser:
    """Feed decoded lines (without the newline); complete events come back as they end."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed_line(self, line: str) -> Event | None:
        line = line.rstrip("\r")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment / keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def flush(self) -> Event | None:
        return self._dispatch()

    def _dispatch(self) -> Event | None:
        if not self._data and not self._event:
            return None
        ev = Event(self._event or "message", "\n".join(self._data))
        self._event, self._data = "", []
        return ev


def parse_events(text: str) -> list[Event]:
    p = SSEParser()
    out = [e for ln in text.split("\n") if (e := p.feed_line(ln)) is not None]
    if (e := p.flush()) is not None:
        out.append(e)
    return out
