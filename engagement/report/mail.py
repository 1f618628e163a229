"""The report as an email (``.eml``): HTML body with the charts as inline CID images.

Web mail such as Gmail does not show ``data:`` images, so the email carries each chart as a
``multipart/related`` part the HTML refers to by ``cid:``; the stdlib builds it, any mail
client (or an SMTP relay) takes it as is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from engagement.report.charts import Chart


def email_message(
    *,
    subject: str,
    text: str,
    charts: Mapping[str, Chart],
    render: Callable[[Mapping[str, str]], str],
    sender: str = "engagebot@localhost",
) -> EmailMessage:
    """A ``multipart/alternative`` message: plain text, then HTML with related chart images.

    ``render`` turns chart sources (``cid:`` URLs) into the HTML body.
    """
    ids = {key: make_msgid(domain="engagebot.report") for key in charts}
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message.set_content(text)
    message.add_alternative(render({key: f"cid:{cid[1:-1]}" for key, cid in ids.items()}), subtype="html")
    html_part = message.get_payload()[1]  # type: ignore[index]
    assert isinstance(html_part, EmailMessage)
    for key, chart in charts.items():
        html_part.add_related(chart.png, maintype="image", subtype="png", cid=ids[key], filename=f"{key}.png")
    return message


def write_eml(path: Path, message: EmailMessage) -> Path:
    path.write_bytes(bytes(message))
    return path
