"""A free TCP port on 127.0.0.1, for a server started for a while (a stand-in, a test)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_in(first: int, last: int) -> int:
    """A free port of a range: servers that must never pick the same free port (the
    stand-ins of the operations tests, their alert receivers) each take their own range."""
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")
