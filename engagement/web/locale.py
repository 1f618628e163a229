"""The language of a request: the person's choice on /account, else their browser's
``Accept-Language``, else the brand's ``[engagement] language``.

``current_user`` notes the person's choice on ``request.state``; the templates' context
processor (``template_context``) settles the language when a page renders and activates it
(``engagement.i18n.activate``), so ``_()``, ``{% trans %}`` and the filters speak it. The sign-in
page has no person yet: it follows the browser.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from engagement import i18n


def request_language(request: Request) -> str:
    """The language this request's pages speak (see the module's docstring for the order)."""
    chosen = getattr(request.state, "language", None)
    if isinstance(chosen, str) and chosen:
        return i18n.language_of(chosen)
    from_browser = i18n.negotiate(request.headers.get("accept-language"))
    if from_browser is not None:
        return from_browser
    return i18n.language_of(request.app.state.web.settings.language)


def tr(request: Request, message: str) -> str:
    """``message`` in the request's language, for texts made in Python (flash messages)."""
    return i18n.translator(request_language(request)).gettext(message)


def ntr(request: Request, singular: str, plural: str, n: int) -> str:
    return i18n.translator(request_language(request)).ngettext(singular, plural, n)


def template_context(request: Request) -> dict[str, Any]:
    """Jinja2Templates' context processor: activates the language and gives it to the page
    (``<html lang>``, the /account choice)."""
    lang = i18n.activate(request_language(request))
    return {"ui_lang": lang, "ui_languages": i18n.LANGUAGES}
