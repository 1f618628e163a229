"""Render Slack messages (Block Kit + mrkdwn) as an HTML page laid out like a Slack channel, the
closest local stand-in for Slack's own client (for screenshots; Slack itself is not reachable).

Covers what engagebot sends: header, section (text and two-column fields), context, actions
(buttons, a select), mrkdwn bold/italic/quotes/links/mentions/dates and the emoji codes we use.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

# Slack draws these as colour emoji; this machine has no emoji font, so the nearest DejaVu glyphs
EMOJI = {":alarm_clock:": '<span class="emoji">⚠</span>', ":chart_with_upwards_trend:": '<span class="emoji">↗</span>'}
_TOKEN = re.compile(r"<([^<>]+)>")

STYLE = """
body { margin: 0; font: 15px/1.46668 Lato, 'Segoe UI', 'Helvetica Neue', Arial, sans-serif; color: #1d1c1d;
       background: #fff; }
.channel { border-bottom: 1px solid #ddd; padding: 12px 20px; font-weight: 900; font-size: 18px; }
.msg { display: flex; gap: 8px; padding: 8px 20px; }
.msg:hover { background: #f8f8f8; }
.avatar { width: 36px; height: 36px; border-radius: 4px; background: #4a154b; color: #fff; font-weight: 900;
          display: flex; align-items: center; justify-content: center; flex: none; }
.who { font-weight: 900; } .app { font-size: 10px; background: #ddd; border-radius: 2px; padding: 1px 3px;
       margin: 0 4px; color: #616061; font-weight: 700; } .time { color: #616061; font-size: 12px; }
.body { flex: 1; max-width: 760px; }
.header { font-size: 18px; font-weight: 900; margin: 4px 0; }
.section { margin: 4px 0; } .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; }
.context { color: #616061; font-size: 13px; margin: 4px 0; }
.actions { display: flex; gap: 8px; margin: 8px 0; flex-wrap: wrap; }
.button { border: 1px solid #bbb; border-radius: 4px; padding: 3px 12px; font-weight: 700; font-size: 14px;
          background: #fff; color: #1d1c1d; text-decoration: none; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
a { color: #1264a3; text-decoration: none; }
.emoji { color: #e01e5a; font-family: 'DejaVu Sans', sans-serif; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
blockquote { margin: 2px 0; padding-left: 10px; border-left: 4px solid #ddd; }
"""


def mrkdwn(text: str) -> str:
    """Slack mrkdwn (already escaped: &amp; &lt; &gt;) to HTML."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("@"):
            return f'<span class="mention">@{html.escape(inner[1:])}</span>'
        if inner.startswith("!subteam^"):
            return f'<span class="mention">@{html.escape(inner.split("^", 1)[1])}</span>'
        if inner.startswith("!date^"):
            return inner.rsplit("|", 1)[-1]
        url, _, label = inner.partition("|")
        return f'<a href="{url}">{label or url}</a>'

    lines = []
    for line in text.split("\n"):
        quoted = line.startswith(">")
        body = _TOKEN.sub(token, line[1:] if quoted else line)
        body = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", body)
        body = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", body)
        for code, emoji in EMOJI.items():
            body = body.replace(code, emoji)
        lines.append(f"<blockquote>{body}</blockquote>" if quoted else body + "<br>")
    return "".join(lines)


def _text(obj: dict[str, Any]) -> str:
    if obj.get("type") == "plain_text":
        return str(obj.get("text", ""))  # escaped by our builders like mrkdwn
    return mrkdwn(str(obj.get("text", "")))


def block(b: dict[str, Any]) -> str:
    kind = b.get("type")
    if kind == "header":
        return f'<div class="header">{_text(b["text"])}</div>'
    if kind == "section":
        parts = []
        if "text" in b:
            parts.append(f"<div>{_text(b['text'])}</div>")
        if "fields" in b:
            parts.append('<div class="fields">' + "".join(f"<div>{_text(f)}</div>" for f in b["fields"]) + "</div>")
        return f'<div class="section">{"".join(parts)}</div>'
    if kind == "context":
        return '<div class="context">' + " ".join(_text(e) for e in b.get("elements", [])) + "</div>"
    if kind == "actions":
        buttons = []
        for e in b.get("elements", []):
            label = html.escape(str(e.get("text", e.get("placeholder", {})).get("text", "")))
            style = " primary" if e.get("style") == "primary" else ""
            href = f' href="{html.escape(e["url"])}"' if e.get("url") else ""
            buttons.append(f'<a class="button{style}"{href}>{label}{" ▾" if e["type"] == "static_select" else ""}</a>')
        return f'<div class="actions">{"".join(buttons)}</div>'
    return ""


def page(channel: str, messages: Sequence[dict[str, Any]], *, when: str = "9:41 AM") -> str:
    """One channel with these messages, as Slack lays them out."""
    rendered = []
    for message in messages:
        blocks = "".join(block(b) for b in message.get("blocks", [])) or mrkdwn(str(message.get("text", "")))
        rendered.append(
            '<div class="msg"><div class="avatar">e</div><div class="body">'
            f'<span class="who">engagebot</span><span class="app">APP</span><span class="time">{when}</span>'
            f"{blocks}</div></div>"
        )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>"
        f"<div class='channel'># {html.escape(channel.lstrip('#'))}</div>{''.join(rendered)}</body></html>"
    )
