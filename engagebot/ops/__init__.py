"""The ops runtime of a worker process: leader election, the schedule and its lanes, shared work,
failures kept through an outage, what the log says about it, and the health/metrics server.

Beside ``engagebot.commands`` (what people type) and below it: commands start a ``Worker``;
nothing here imports a command.
"""
