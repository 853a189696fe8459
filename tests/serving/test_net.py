"""Port checks before an engine starts: busy means listening, not "closed a moment ago"."""

from __future__ import annotations

import socket

import pytest

from app.errors import ConfigError
from serving.net import ensure_port_free


def _port_in_time_wait() -> int:
    """A port whose server side closed an accepted connection first: it sits in TIME_WAIT (~60 s),
    as a crashed engine's port does."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end goes to TIME_WAIT
    client.recv(1)
    client.close()
    server.close()
    return port


def test_a_port_in_time_wait_is_free_for_a_restart():
    port = _port_in_time_wait()
    plain = socket.socket()
    with pytest.raises(OSError):  # what the old check did: a plain bind fails on TIME_WAIT
        plain.bind(("127.0.0.1", port))
    plain.close()
    ensure_port_free("127.0.0.1", port)


def test_a_listening_port_is_busy():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ConfigError, match="is busy"):
            ensure_port_free("127.0.0.1", s.getsockname()[1])
