"""The API's OpenAPI schema and its Swagger UI page, for signed-in users, served offline.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package (mounted at ``ASSETS_URL``
by ``create_app``) and the page starts it from ``/static/swagger-init.js``, so /docs works
without a CDN and under the same Content-Security-Policy as every other page (no inline script).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from engagement.web.deps import CurrentUser, State, csrf_token
from engagement.web.responses import SafeJSONResponse

ASSETS_URL = "/docs-assets"
router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
def openapi(request: Request, user: CurrentUser) -> SafeJSONResponse:
    return SafeJSONResponse(request.app.openapi())


@router.get("/docs")
def docs(request: Request, state: State, user: CurrentUser) -> Response:
    context = {"assets": ASSETS_URL, "csrf": csrf_token(request)}
    return state.templates.TemplateResponse(request, "docs.html", context)
