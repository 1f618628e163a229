"""The composition root's own behaviour: stopping cleanly during a collector's long wait."""

from __future__ import annotations

import pytest

from engagebot import pipeline


def test_a_rate_limit_wait_ends_when_a_stop_is_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "stop_requested", lambda: True)
    with pytest.raises(pipeline.StopRequested, match="900 s wait"):
        pipeline.stop_aware_sleep(900)


def test_a_short_wait_without_a_stop_just_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[bool] = []

    def not_stopping() -> bool:
        checks.append(True)
        return False

    monkeypatch.setattr(pipeline, "stop_requested", not_stopping)
    pipeline.stop_aware_sleep(0.05)
    assert checks, "the wait checks for a stop while it sleeps"
