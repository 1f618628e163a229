"""Triage and routing: which posts become cases, their money at risk, team and SLA."""
