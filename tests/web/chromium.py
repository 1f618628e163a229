"""Debian's Chromium for the browser tests and the screenshot script: where it is, how to start it."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# Headless as root, with the machine's closed network: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A loopback port nobody listens on now (for a uvicorn server in a thread)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(app: Any) -> str:
    """Run ``app`` with uvicorn on a free loopback port in a daemon thread; return its base URL
    once it accepts connections (the screenshot scripts and nothing else: tests use fixtures)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{server.config.port}"
