"""API fuzzing: schemathesis drives every operation of the published OpenAPI schema in-process.

The app runs over ASGI (no socket, no network), signed in with a real API token of an admin
(so every route is reachable), over the seeded SQLite database. Each operation gets a bounded
number of generated requests, valid ones and invalid ones. The checks: no answer is a server
error, and every documented answer (the 200s, and every 422) matches the published schema.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy import Engine
from web_factories import seed

from db.engine import session_scope
from engagebot.ops.observability import ops_router
from engagement.settings import EngagementSettings
from engagement.users import get_user_by_email
from engagement.web import create_app

# Per operation and mode: ~35 operations x 2 modes x 6 stays within a minute on a slow machine.
EXAMPLES = 6


def test_api_never_answers_a_server_error_and_keeps_its_schema(sqlite_engine: Engine) -> None:
    seed(sqlite_engine)
    app = create_app(sqlite_engine, EngagementSettings(), extra_routers=[ops_router(sqlite_engine)])
    with session_scope(sqlite_engine) as session:
        admin = get_user_by_email(session=session, email="adam@example.com")
        assert admin is not None and admin.id is not None
        token = app.state.web.tokens.issue(user_id=admin.id, password_hash=admin.password_hash)
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    calls: dict[int, int] = {}
    checks = [not_a_server_error, response_schema_conformance]

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def fuzz(case: Any) -> None:
                response = case.call_and_validate(headers=auth, checks=checks)
                calls[response.status_code] = calls.get(response.status_code, 0) + 1

            try:
                fuzz()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body): nothing to send
                assert mode is GenerationMode.NEGATIVE
    assert sum(calls.values()) >= len(operations) * 2
    assert not [code for code in calls if code >= 500]
    assert calls.get(422, 0) > 0 and sum(n for code, n in calls.items() if code < 300) > 0
