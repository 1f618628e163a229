"""The weekly sentiment-to-CLV report: figures over rows, HTML/CSV/PDF, a Slack summary."""
