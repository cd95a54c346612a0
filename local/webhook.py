"""A stand-in for the alert webhook (a Slack-compatible receiver) on 127.0.0.1, for the
tests that check what the supervisor sends: it keeps every body it gets and answers
each POST with the next status it was given (then 200)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local.ports import free_port_in

# Stand-in APIs of the operations tests take 8300-8349; receivers never collide with them.
RECEIVER_PORTS = (8350, 8399)


class AlertReceiver(ThreadingHTTPServer):
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        super().__init__(("127.0.0.1", free_port_in(*RECEIVER_PORTS)), AlertHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class AlertHandler(BaseHTTPRequestHandler):
    server: AlertReceiver

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:  # keep pytest's output clean
        pass


@pytest.fixture
def alert_receiver(request: pytest.FixtureRequest) -> Iterator[AlertReceiver]:
    """A running receiver; parametrize it indirectly with the statuses to answer."""
    server = AlertReceiver(getattr(request, "param", []))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
