"""Engagement: customers and CLV, triage and routing, the reply queue, Slack, reports, web UI."""
