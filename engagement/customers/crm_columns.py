"""Which column of a CRM export is which field: common English and German header names.

A CRM export arrives with its own headers (``Customer ID,Full Name,Email,Twitter,Lifetime
Value`` or ``Kundennummer,Name,E-Mail,Kundenwert``). Asking people to rename columns before
an import is where a first import fails, so the import recognises the usual names itself,
prints the mapping it used, and takes ``--map COLUMN=FIELD`` where the guess is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from engagement.errors import BadInput

CANONICAL = ("crm_id", "name", "email", "segment", "currency", "clv")
IDENTITY_FIELD = re.compile(r"^[a-z0-9]+_(handle|username|user_id|user)$")
IGNORE = "-"
"""``--map COLUMN=-`` leaves a column out of the import."""

ALIASES: dict[str, tuple[str, ...]] = {
    "crm_id": (
        "crmid",
        "customerid",
        "customerno",
        "customernumber",
        "customer",
        "clientid",
        "accountid",
        "accountnumber",
        "contactid",
        "id",
        "kundennummer",
        "kundennr",
        "kundenid",
        "kunde",
    ),
    "name": ("name", "fullname", "customername", "contactname", "kundenname", "vollername", "vorundnachname"),
    "email": ("email", "emailaddress", "mail", "emailadresse", "mailadresse"),
    "segment": ("segment", "tier", "customersegment", "kundensegment", "kundengruppe", "stufe"),
    "currency": ("currency", "currencycode", "wahrung", "waehrung"),
    "clv": (
        "clv",
        "ltv",
        "lifetimevalue",
        "customerlifetimevalue",
        "customervalue",
        "kundenwert",
        "kundenlebenswert",
        "customerlifetimevalueclv",
    ),
    "x_handle": ("twitter", "twitterhandle", "twitterusername", "x", "xhandle", "xusername", "xtwitter", "twitterx"),
    "x_user_id": ("twitterid", "twitteruserid", "xid", "xuserid"),
    "reddit_username": ("reddit", "reddithandle", "redditusername", "redditname"),
    "instagram_handle": ("instagram", "instagramhandle", "insta"),
    "facebook_user": ("facebook", "facebookname"),
    "appstore_user": ("appstore", "appstorename", "appstoreuser"),
    "googleplay_user": ("googleplay", "googleplayname", "playstore"),
}
_BY_KEY = {alias: field for field, aliases in ALIASES.items() for alias in aliases}


def _key(header: str) -> str:
    """'Customer ID', 'customer_id' and 'E-Mail' compare as 'customerid' and 'email'."""
    text = header.strip().lower().replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "ss")
    return re.sub(r"[^a-z0-9]", "", text)


def is_field(name: str) -> bool:
    """A field the customers import reads: a canonical column or a ``<platform>_handle``-style one."""
    return name in CANONICAL or bool(IDENTITY_FIELD.match(name))


def guess_mapping(header: list[str], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map each column of ``header`` (as written in the file) to a field, or to ``IGNORE``.

    Overrides (``--map``) come first, matched case-insensitively; then exact field names; then
    the known aliases. The first column claiming a field wins, so a file with both ``Name`` and
    ``Full Name`` keeps the first and says it ignored the other.
    """
    wanted = {k.strip().lower(): v.strip().lower() for k, v in (overrides or {}).items()}
    known = {h.strip().lower() for h in header}
    for column, target in wanted.items():
        if column not in known:
            raise BadInput(f"--map {column}={target}: the file has no column {column!r} (header: {','.join(header)})")
        if target != IGNORE and not is_field(target):
            fields = ", ".join(CANONICAL)
            raise BadInput(
                f"--map {column}={target}: unknown field {target!r} (fields: {fields}, <platform>_handle, "
                f"<platform>_user_id, or - to ignore)"
            )
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in header:
        chosen = wanted.get(column.strip().lower())
        if chosen is not None:
            mapping[column] = chosen
            taken.add(chosen)
    for column in header:  # exact names before aliases: 'crm_id' beats 'ID'
        name = column.strip().lower()
        if column not in mapping and is_field(name) and name not in taken:
            mapping[column] = name
            taken.add(name)
    for column in header:
        if column in mapping:
            continue
        field = _BY_KEY.get(_key(column))
        if field is None and IDENTITY_FIELD.match(_key_with_underscore(column)):
            field = _key_with_underscore(column)
        if field is not None and field not in taken:
            mapping[column] = field
            taken.add(field)
        else:
            mapping[column] = IGNORE
    return mapping


def _key_with_underscore(header: str) -> str:
    """'X Handle' and 'Reddit-Username' read as 'x_handle' and 'reddit_username'."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def describe(mapping: Mapping[str, str]) -> str:
    """The mapping in one line, as the import prints it: ``Customer ID → crm_id, Notes (ignored)``."""
    parts = [
        f"{column} (ignored)" if field == IGNORE else (column if column == field else f"{column} → {field}")
        for column, field in mapping.items()
    ]
    return ", ".join(parts)
