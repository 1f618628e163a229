"""Slack text escaping: the one function every Slack payload builder runs untrusted text through.

Slack parses ``<...>`` in message text as links, user/channel mentions and broadcasts
(``<!channel>``, ``<!here>``, ``<https://evil.example|click here>``), and ``&`` starts an entity.
Its documented escaping is exactly these three characters, in every text field: mrkdwn and
plain_text blocks, and the top-level fallback ``text`` that notifications show. Anything that
came from a post, a customer record, a person's name or an error message goes through
:func:`escape`; only the links and dates that our builders write themselves stay as markup.

The same path removes bidirectional override and isolate controls (U+202A-U+202E, U+2066-U+2069,
``engagement.bidi.neutralise_bidi``): Slack renders them, so a post could otherwise show its
words reordered and disguise what it says (issue 25). Right-to-left text itself is untouched.
"""

from __future__ import annotations

from engagement.bidi import neutralise_bidi

__all__ = ["escape", "link"]


_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: object, limit: int | None = None) -> str:
    """``&`` -> ``&amp;``, ``<`` -> ``&lt;``, ``>`` -> ``&gt;`` (``&`` first, so nothing is
    escaped twice). Takes any object and escapes its ``str()``, so a number or ``None`` in an
    f-string cannot slip past.

    ``limit`` caps the escaped length (Slack refuses a header over 150 characters) by dropping
    whole source characters, so an entity is never cut in half (``&am``).
    """
    raw = neutralise_bidi(str(text))
    escaped = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if limit is None or len(escaped) <= limit:
        return escaped
    parts: list[str] = []
    size = 0
    for char in raw:
        piece = _ENTITIES.get(char, char)
        if size + len(piece) > limit:
            break
        parts.append(piece)
        size += len(piece)
    return "".join(parts)


def link(url: str, label: object) -> str:
    """A mrkdwn link we write ourselves, ``<url|label>``: the label is escaped, and the URL too
    (a ``>`` or ``|`` in it would otherwise end the link early)."""
    safe_url = escape(url).replace("|", "%7C")
    return f"<{safe_url}|{escape(label)}>"
