"""Debian's Chromium for the browser tests and the screenshot script: where it is, how to start it."""

from __future__ import annotations

import socket

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
