"""A local HTTP server that answers like Slack's Web API and incoming webhooks, with scripted
failures.

What it keeps is what a channel keeps: ``chat.postMessage`` posts the message (with its
``metadata``) into the channel's history the moment the request arrives, then waits ``delay``
seconds before answering, as a slow Slack does. ``conversations.history`` (newest first,
``oldest``, ``cursor``, metadata only with ``include_all_metadata``) and ``conversations.list``
read it back. Channels are created on first post; ``#name`` and the channel id both work for
posting, only the id for reading history, as on Slack."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Scripted:
    """One answer: HTTP status, JSON (or text) body and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def channel_id(name: str) -> str:
    """A stable Slack-shaped id for a channel name (``#care`` -> ``C…``)."""
    return "C" + hashlib.sha1(name.lstrip("#").encode()).hexdigest()[:9].upper()


class FakeSlack:
    """Records every request; answers from ``script`` (then ``ok``) like the Web API does."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[Scripted] = []
        self.url = ""
        self.delay = delay
        self.channels: dict[str, str] = {}  # id -> name
        self.history: dict[str, list[dict[str, Any]]] = {}  # id -> messages, oldest first
        self.in_flight = 0  # posts received and not answered yet
        self._lock = threading.Lock()
        self._last_ts = 0.0

    def messages(self) -> list[dict[str, Any]]:
        """Every posted message of every channel, in posting order."""
        with self._lock:
            return sorted((m for ms in self.history.values() for m in ms), key=lambda m: float(m["ts"]))

    def _channel(self, given: str) -> str | None:
        if given in self.channels:
            return given
        if given.startswith("#"):
            found = channel_id(given)
            self.channels.setdefault(found, given.lstrip("#"))
            self.history.setdefault(found, [])
            return found
        return None

    def _post(self, body: dict[str, Any]) -> Scripted:
        with self._lock:
            channel = self._channel(str(body.get("channel") or ""))
            if channel is None:
                return Scripted(200, {"ok": False, "error": "channel_not_found"})
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            message = {"type": "message", "ts": f"{self._last_ts:.6f}", "text": body.get("text", "")}
            if body.get("metadata"):
                message["metadata"] = body["metadata"]
            self.history[channel].append(message)
            self.in_flight += 1
        try:
            time.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        return Scripted(200, {"ok": True, "channel": channel, "ts": message["ts"]})

    def _history(self, params: dict[str, str]) -> Scripted:
        channel = params.get("channel", "")
        with self._lock:
            if channel not in self.history:
                return Scripted(200, {"ok": False, "error": "channel_not_found"})
            oldest = float(params.get("oldest") or 0)
            newest_first = [m for m in reversed(self.history[channel]) if float(m["ts"]) > oldest]
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = newest_first[start : start + limit]
        if params.get("include_all_metadata") not in ("1", "true", "True"):
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(newest_first)
        return Scripted(
            200,
            {
                "ok": True,
                "messages": page,
                "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""},
            },
        )

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> Scripted:
        parts = urlsplit(path)
        is_json = raw.startswith(b"{")
        body = json.loads(raw) if is_json else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        body.update({k: v[0] for k, v in parse_qs(parts.query).items()})
        with self._lock:
            self.requests.append({"path": parts.path, "headers": headers, "body": body})
            scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted
        if parts.path.startswith("/hooks/") or parts.path.startswith("/actions/"):
            return Scripted(200, "ok")
        if parts.path.endswith("/chat.postMessage"):
            return self._post(body)
        if parts.path.endswith("/conversations.history"):
            return self._history(body)
        if parts.path.endswith("/conversations.list"):
            with self._lock:
                listed = [{"id": cid, "name": name} for cid, name in self.channels.items()]
            return Scripted(200, {"ok": True, "channels": listed, "response_metadata": {"next_cursor": ""}})
        return Scripted(200, {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"})


@contextmanager
def serve(state: FakeSlack, *, port: int = 0) -> Iterator[FakeSlack]:
    """Serve ``state`` on 127.0.0.1 from a thread until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, raw: bytes) -> None:
            reply = state.answer(self.path, dict(self.headers), raw)
            payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
            data = payload.encode()
            try:
                self.send_response(reply.status)
                content_type = "text/plain" if isinstance(reply.body, str) else "application/json"
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (a timeout, or its process was killed)

        def do_POST(self) -> None:
            self._reply(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def do_GET(self) -> None:
            self._reply(b"")

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def fake_slack(*, delay: float = 0.0) -> Iterator[FakeSlack]:
    with serve(FakeSlack(delay=delay)) as state:
        yield state
