"""Rules that keep Slack worth reading: floods become one digest, breaches alert only above a
value per tier and once per team and interval, repeats wait, quiet hours hold messages back.

Pure functions over settings and plain values (no database), so each rule is tested alone.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from engagement.settings import SlackSettings


def channel_for(team: str, slack: SlackSettings) -> str:
    """The channel a team's messages go to (``team_channels``, else ``default_channel``)."""
    return slack.team_channels.get(team, slack.default_channel)


def channel_language(channel: str, slack: SlackSettings, brand_language: str) -> str:
    """The language of a channel's messages: its own (``channel_languages``), else the brand's
    (``[engagement] language``): one brand may have a German care channel and an English one."""
    return slack.channel_languages.get(channel) or brand_language


def lead_channel(slack: SlackSettings) -> str:
    """Where breaches and spikes go (``lead_channel``, else ``default_channel``)."""
    return slack.lead_channel or slack.default_channel


def is_flood(immediate: int, slack: SlackSettings) -> bool:
    """More cases would notify one by one than anyone reads (a first run, a backfill, an outage
    ending): send one digest instead."""
    return immediate > slack.flood_threshold


def breach_threshold(tier: str | None, slack: SlackSettings) -> float:
    """The money at risk from which a breached case of this tier alerts the lead."""
    return slack.breach_min_money.get(tier or "", slack.breach_default_min_money)


def worth_a_breach_alert(tier: str | None, money_at_risk: float, slack: SlackSettings) -> bool:
    """A $5 case past its SLA is the queue's business, not a lead's ping."""
    return money_at_risk >= breach_threshold(tier, slack)


def alerted_recently(last_alert: datetime | None, now: datetime, slack: SlackSettings) -> bool:
    """True while a case's last breach alert is younger than ``breach_repeat_hours``."""
    return last_alert is not None and now - last_alert < timedelta(hours=slack.breach_repeat_hours)


def bucket(now: datetime, minutes: float) -> int:
    """The number of the ``minutes``-long interval holding ``now`` (part of dedupe keys)."""
    return math.floor(now.timestamp() / max(60.0, minutes * 60))


def lead_mention(team: str, slack: SlackSettings) -> str | None:
    """The team lead as Slack renders a mention: ``<@U123>`` for a user, ``<!subteam^S123>`` for
    a user group (``lead_mentions[team]``, else ``lead_mentions['*']``); None if nobody is set."""
    who = slack.lead_mentions.get(team) or slack.lead_mentions.get("*")
    if who is None:
        return None
    return f"<!subteam^{who}>" if who.startswith("S") else f"<@{who}>"


def _span(text: str) -> tuple[time, time]:
    start, end = text.strip().split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def quiet_until(channel: str, now: datetime, slack: SlackSettings) -> datetime | None:
    """When the quiet hours of ``channel`` that hold ``now`` end (in UTC), or None if the channel
    may hear now. A span may cross midnight (``22:00-07:00``)."""
    span = slack.quiet_hours.get(channel)
    if not span:
        return None
    start, end = _span(span)
    zone = ZoneInfo(slack.quiet_timezone)
    local = now.astimezone(zone)
    today = local.date()
    if start <= end:
        inside = start <= local.time() < end
        end_day = today
    else:  # crosses midnight: quiet from start to 24:00 and from 00:00 to end
        inside = local.time() >= start or local.time() < end
        end_day = today + timedelta(days=1) if local.time() >= start else today
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(now.tzinfo)


def send_at(channel: str, now: datetime, slack: SlackSettings) -> datetime:
    """When a message for ``channel`` may be sent: now, or when its quiet hours end."""
    return quiet_until(channel, now, slack) or now
