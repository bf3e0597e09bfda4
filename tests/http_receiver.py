"""A plain HTTP endpoint on a real port that records every POST: what the bot's and the
emulators' outbound webhooks are sent to in tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass
class Received:
    path: str
    headers: httpx.Headers  # case-insensitive, as HTTP headers are
    body: bytes


@dataclass
class Receiver:
    """Answers ``statuses`` in turn, then ``status``, with ``headers``."""

    url: str = ""
    status: int = 200
    statuses: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)


@contextmanager
def serving_receiver(path: str) -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = httpx.Headers(list(self.headers.items()))
            state.received.append(Received(self.path, headers, body))
            self.send_response(state.statuses.pop(0) if state.statuses else state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
