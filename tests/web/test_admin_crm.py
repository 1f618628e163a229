"""The CRM upload (issue 26): preview, the mapping to confirm, what would change, the import, and
the mapping remembered for next time; on the page and through ``/api/admin/crm``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select
from web_factories import Browser

from db.engine import session_scope
from db.models import AdminSettingChange, Customer

Login = Callable[[str], Browser]
EXPORT = (
    "Kundennummer,Full Name,E-Mail,Twitter,Lifetime Value,Notes\n"
    "CRM-1,Zoë Neu,zoe@example.com,zoe,1500,vip\n"
    "CRM-2,Max Muster,max@example.de,maxm,300,\n"
    ",Nobody,nobody@example.com,,,\n"
)


def _customers(engine: Engine) -> dict[str, Customer]:
    with session_scope(engine) as session:
        return {c.crm_id: c for c in session.exec(select(Customer)).all()}


def _preview(who: Browser, text: str, mapping: str = "") -> Any:
    return who.client.post(
        "/api/admin/crm/preview",
        files={"file": ("export.csv", text.encode(), "text/csv")},
        data={"mapping": mapping},
        headers={"X-CSRF-Token": who.csrf},
    )


def test_api_previews_without_writing_then_imports_and_remembers(
    browser: Login, seeded: Any, sqlite_engine: Engine
) -> None:
    adam = browser("adam@example.com")
    before = _customers(sqlite_engine)
    shown = _preview(adam, EXPORT)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["mapping"] == {"Kundennummer": "crm_id", "Full Name": "name", "E-Mail": "email",
                               "Twitter": "x_handle", "Lifetime Value": "clv", "Notes": "-"}  # fmt: skip
    assert body["rows"][0] == ["CRM-1", "Zoë Neu", "zoe@example.com", "zoe", "1500", "vip"]
    would = body["would"]
    assert (would["new"], would["updated"], would["rejected"][0]["line"]) == (1, 1, 4)
    assert "crm_id is empty" in would["rejected"][0]["reason"]
    assert _customers(sqlite_engine).keys() == before.keys()  # a preview writes nothing
    assert _customers(sqlite_engine)["CRM-1"].name == before["CRM-1"].name

    # the admin says Twitter is not to be imported; the import follows and remembers it
    done = adam.client.post(
        "/api/admin/crm/import",
        json={"upload": body["upload"], "mapping": {**body["mapping"], "Twitter": "-"}},
        headers={"X-CSRF-Token": adam.csrf},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["new"], done.json()["updated"], len(done.json()["rejected"])) == (1, 1, 1)
    after = _customers(sqlite_engine)
    assert after["CRM-1"].name == "Zoë Neu" and after["CRM-2"].email == "max@example.de"
    again = adam.client.post("/api/admin/crm/import", json={"upload": body["upload"]},
                             headers={"X-CSRF-Token": adam.csrf})  # fmt: skip
    assert again.status_code == 404  # the file is gone once imported

    # next month's export: the same columns come up as confirmed (Twitter ignored)
    nxt = _preview(adam, EXPORT.replace("1500", "1600")).json()
    assert nxt["remembered"] is True and nxt["mapping"]["Twitter"] == "-" and nxt["mapping"]["Kundennummer"] == "crm_id"
    assert nxt["would"]["updated"] == 1 and nxt["would"]["new"] == 0
    with session_scope(sqlite_engine) as session:
        trail = session.exec(select(AdminSettingChange).where(AdminSettingChange.key == "crm_columns")).all()
    assert [t.actor for t in trail] == ["Adam"]


def test_api_refuses_agents_and_bad_mappings(browser: Login, seeded: Any) -> None:
    ana = browser("ana@example.com")
    assert _preview(ana, EXPORT).status_code == 403
    adam = browser("adam@example.com")
    moved = _preview(adam, EXPORT, '{"Full Name": "crm_id"}').json()["mapping"]  # the admin's choice wins
    assert (moved["Full Name"], moved["Kundennummer"]) == ("crm_id", "-")
    doubled = _preview(adam, EXPORT, '{"Full Name": "crm_id", "Kundennummer": "crm_id"}')
    assert doubled.status_code == 400 and "more than one column is read as crm_id" in doubled.json()["detail"]
    unknown = _preview(adam, EXPORT, '{"Notes": "shoe_size"}')
    assert unknown.status_code == 400 and "unknown field 'shoe_size'" in unknown.json()["detail"]
    no_id = _preview(adam, "Full Name,Email\nA,a@example.com\n")
    assert no_id.status_code == 400 and "crm_id" in no_id.json()["detail"]


def test_page_upload_preview_change_a_column_and_import(browser: Login, seeded: Any, sqlite_engine: Engine) -> None:
    adam = browser("adam@example.com")
    assert 'href="/admin/crm"' in adam.get("/admin/crm").text
    page = adam.client.post(
        "/admin/crm/preview",
        data={"csrf_token": adam.csrf},
        files={"file": ("export.csv", EXPORT.encode(), "text/csv")},
    )
    assert page.status_code == 200, page.text
    html = page.text
    assert (
        "<strong>1 new</strong>" in html and "<strong>1 updated</strong>" in html and "line 4: crm_id is empty" in html
    )
    assert re.search(r'<option value="x_handle" selected>x_handle</option>', html)
    upload = re.search(r'name="upload" value="([^"]+)"', html)
    assert upload is not None
    # change Notes to the segment and preview again: the page keeps the change
    fields = {f"field_{i}": f for i, f in enumerate(["crm_id", "name", "email", "x_handle", "clv", "segment"])}
    remapped = adam.post("/admin/crm/preview", {"upload": upload.group(1), **fields}).text
    assert re.search(r'id="crm-field-5">\s*(<option[^>]*>[^<]*</option>)*?<option value="segment" selected>', remapped)
    done = adam.post("/admin/crm/import", {"upload": upload.group(1), **fields})
    assert done.status_code == 200 and "1 new customers, 1 updated" in done.text
    assert _customers(sqlite_engine)["CRM-1"].segment == "vip"
    assert "Notes → segment" in adam.get("/admin/crm").text
    assert browser("lea@example.com").get("/admin/crm").status_code == 403
