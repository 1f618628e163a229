"""A local HTTP server that answers like Slack's Web API and incoming webhooks, with scripted
failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Scripted:
    """One answer: HTTP status, JSON (or text) body and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """Records every request; answers from ``script`` (then ``ok``) like chat.postMessage does."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[Scripted] = []
        self.url = ""

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> Scripted:
        is_json = raw.startswith(b"{")
        body = json.loads(raw) if is_json else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        self.requests.append({"path": path, "headers": headers, "body": body})
        if self.script:
            return self.script.pop(0)
        if path.startswith("/hooks/") or path.startswith("/actions/"):
            return Scripted(200, "ok")
        return Scripted(
            200,
            {
                "ok": True,
                "channel": body.get("channel"),
                "ts": f"1700000000.{len(self.requests):06d}",
            },
        )


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    state = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply = state.answer(self.path, dict(self.headers), raw)
            payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            data = payload.encode()
            self.send_response(reply.status)
            content_type = "text/plain" if isinstance(reply.body, str) else "application/json"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
