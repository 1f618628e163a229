"""A valuable customer's German complaint: imported, scored negative, a case, in the queue (issue 21)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engagebot.cli import app

pytestmark = pytest.mark.slow  # loads both shipped models (and builds their int8 graphs once)

NOW = datetime.now(UTC).replace(microsecond=0)
USER_ID = "1200000000000000421"
COMPLAINT = (
    "@SkylarkAir Mein Flug wurde ohne Erklärung gestrichen, mein Koffer ist verschwunden und an der "
    "Hotline geht seit Stunden niemand ran. Unverschämt, ich bin wirklich wütend!"
)


def _invoke(runner: CliRunner, *args: str) -> object:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def test_german_complaint_becomes_a_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'de.db'}")
    (tmp_path / "engagebot.toml").write_text('[listener]\nbrand_handles = { x = ["skylarkair"] }\n', encoding="utf-8")
    crm = tmp_path / "crm.csv"
    crm.write_text(
        "crm_id,name,email,segment,currency,clv,x_handle,x_user_id\n"
        f"C90001,Jonas Becker,jonas.becker@example.com,gold,USD,12000,jonas_becker,{USER_ID}\n",
        encoding="utf-8",
    )
    created = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    tweet = {"id": "1860000000000000421", "text": COMPLAINT, "author_id": USER_ID, "created_at": created, "lang": "de"}
    user = {
        "id": USER_ID,
        "name": "Jonas Becker",
        "username": "jonas_becker",
        "public_metrics": {"followers_count": 900},
    }
    payload = tmp_path / "x.json"
    payload.write_text(json.dumps({"data": [tweet], "includes": {"users": [user]}, "meta": {}}), encoding="utf-8")

    runner = CliRunner()
    _invoke(runner, "init")
    _invoke(runner, "customers", "import", str(crm))
    _invoke(runner, "import-posts", "--platform", "x", str(payload))
    scored = _invoke(runner, "score", "--json")
    assert isinstance(scored, dict) and scored["negative"] == 1, scored
    assert "multilingual" in scored["model_id"]
    _invoke(runner, "link")
    _invoke(runner, "triage")
    listed = _invoke(runner, "queue", "list", "--json")
    assert isinstance(listed, dict) and listed["total"] == 1, listed
    case = listed["cases"][0]
    assert "Koffer" in json.dumps(case, ensure_ascii=False)
