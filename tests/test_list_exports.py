"""Exports of lists and resources (app.services.list_exports): every field and the custom
fields the user may read, typed cells, Cyrillic through openpyxl and Python's csv, formulas
neutralised, the list's filters and order, the count, the history of exports, and the
exports too large to wait for, written in the background with their progress, file and
notification."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
import tracemalloc
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from app.database import db
from app.labels import LABELS
from app.models import Client, ExportRun, Notification
from app.services import list_exports
from app.services.actor import acting_as
from tests.helpers import text_of
from tests.test_custom_fields import add_field, client_body

CLIENTS = "/api/v1/client/"


def last_run(dbx) -> ExportRun:
    with dbx.session() as s:
        run = s.execute(select(ExportRun).order_by(ExportRun.id.desc())).scalars().first()
        s.expunge(run)
        return run


def export_notes(dbx) -> list[Notification]:
    with dbx.session() as s:
        notes = s.execute(select(Notification).where(Notification.kind == "export")
                          ).scalars().all()
        s.expunge_all()
        return notes


def csv_rows(response, delimiter=";") -> list[list[str]]:
    assert response.status_code == 200, text_of(response)[:500]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200, text_of(response)[:500]
    workbook = load_workbook(io.BytesIO(response.data))
    return list(workbook.active.iter_rows(values_only=True))


@pytest.fixture
def shop(api, api_as):
    """Custom fields, one hidden from supervisors, and three clients of the supervisor's
    department with Cyrillic names, a formula in a comment and custom values."""
    add_field(api, code="contract", label={"ru": "Договор", "en": "Contract"})
    add_field(api, code="budget", type="money", label={"ru": "Бюджет", "en": "Budget"})
    add_field(api, code="signed", type="date", label={"ru": "Подписан", "en": "Signed"})
    add_field(api, code="seats", type="integer", label={"ru": "Места", "en": "Seats"})
    add_field(api, code="secret", label={"ru": "Тайна", "en": "Secret"},
              visibility=[{"role": "Supervisor", "access": "hidden"}])
    supervisor = api_as("supervisor")
    made = []
    for n, (name, comment) in enumerate([("ООО «Ёлка»", "=HYPERLINK(\"http://x\")"),
                                         ("Альфа-Строй", "+7 обычный"),
                                         ("Бета", "-скидка")], start=1):
        body = {**client_body(n), "name": name, "comment": comment,
                "custom": {"contract": f"Д-{n}", "budget": {"amount": 1500.5 * n,
                                                             "currency": "RUB"},
                           "signed": f"2026-11-0{n}", "seats": n * 10}}
        response = supervisor.post(CLIENTS, json=body)
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["id"])
    # The secret is written by the administrator (the supervisor cannot see it).
    for pk in made:
        assert api.put(f"{CLIENTS}{pk}", json={"custom": {"secret": "не для всех"}}
                       ).status_code == 200
    return made


def test_xlsx_has_every_field_typed_and_no_hidden_custom_field(shop, supervisor_client):
    rows = sheet_rows(supervisor_client.get("/clientview/export/?format=xlsx"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ("ID", "Наименование", "Вид")
    for label in ("ИНН", "Ответственный", "Договор", "Бюджет", "Бюджет, валюта", "Подписан",
                  "Места"):
        assert label in header, label
    assert "Тайна" not in header and not any("не для всех" in str(v) for r in body for v in r)
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert sorted(by_id) == sorted(shop)
    elka = by_id[shop[0]]
    assert elka["Наименование"] == "ООО «Ёлка»"
    assert elka["Вид"] == "Организация"
    assert elka["Договор"] == "Д-1"
    assert elka["Бюджет"] == 1500.5 and elka["Бюджет, валюта"] == "RUB"
    assert elka["Подписан"] == dt.datetime(2026, 11, 1)
    assert elka["Места"] == 10
    assert elka["Ответственный"] == "Supervisor Test"
    # Formulas neutralised in texts; numbers stay numbers.
    comments = {row["Комментарий"] for row in by_id.values()}
    assert comments == {"'=HYPERLINK(\"http://x\")", "'+7 обычный", "'-скидка"}
    # Sorted as the list: by name.
    assert [row[1] for row in body] == ["Альфа-Строй", "Бета", "ООО «Ёлка»"]


def test_the_administrator_exports_the_hidden_field_too(shop, admin_client):
    header = sheet_rows(admin_client.get("/clientview/export/?format=xlsx"))[0]
    assert "Тайна" in header


def test_csv_speaks_the_users_language(shop, supervisor_client):
    rows = csv_rows(supervisor_client.get("/clientview/export/?format=csv"))
    header = rows[0]
    elka = dict(zip(header, rows[3], strict=True))
    assert elka["Наименование"] == "ООО «Ёлка»"
    assert elka["Бюджет"] == "1500,50" and elka["Подписан"] == "01.11.2026"
    supervisor_client.get("/lang/en")
    rows = csv_rows(supervisor_client.get("/clientview/export/?format=csv"), delimiter=",")
    header = rows[0]
    assert header[:3] == ["ID", "Name", "Kind"]
    elka = dict(zip(header, rows[3], strict=True))
    assert elka["Budget"] == "1500.50" and elka["Signed"] == "2026-11-01"
    assert elka["Kind"] == "Company"


def test_export_follows_the_lists_filters_and_order_and_counts_as_it(shop, supervisor_client):
    listed = text_of(supervisor_client.get("/clientview/list/?_flt_0_name=Б"))
    count = re.search(r'crm-record-count">\s*<strong>[^<]*</strong>\s*(\d+)', listed)
    response = supervisor_client.get("/clientview/export/?format=csv&_flt_0_name=Б")
    rows = csv_rows(response)
    assert [row[1] for row in rows[1:]] == ["Бета"]
    assert response.headers["X-Total-Count"] == "1"
    assert count and count.group(1) == "1"
    # In the order the list is sorted by.
    response = supervisor_client.get(
        "/clientview/export/?format=csv&_oc_ClientView=name&_od_ClientView=desc")
    assert [row[1] for row in csv_rows(response)[1:]] == ["ООО «Ёлка»", "Бета", "Альфа-Строй"]


def test_the_list_offers_export_to_those_with_the_right(shop, supervisor_client,
                                                        manager_client):
    page = text_of(supervisor_client.get("/clientview/list/?_flt_0_name=Б"))
    assert "/clientview/export/?_flt_0_name=%D0%91&amp;format=xlsx" in page
    assert "/clientview/export/?" not in text_of(manager_client.get("/clientview/list/"))
    assert manager_client.get("/clientview/export/?format=csv").status_code == 403


def test_an_unknown_format_is_refused_with_a_message(shop, supervisor_client, api_as):
    response = supervisor_client.get("/clientview/export/?format=pdf", follow_redirects=True)
    assert "CSV" in text_of(response) or "csv" in text_of(response)
    response = api_as("supervisor").get(f"{CLIENTS}?format=pdf")
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid"


def test_api_lists_export_with_their_filters(shop, api_as):
    api = api_as("supervisor")
    response = api.get(f"{CLIENTS}?format=csv&q=(filters:!((col:name,opr:sw,value:'Альфа')))")
    rows = csv_rows(response)
    assert [row[1] for row in rows[1:]] == ["Альфа-Строй"]
    assert "attachment" in response.headers["Content-Disposition"]
    rows = sheet_rows(api.get(f"{CLIENTS}?format=xlsx"))
    assert len(rows) == 4
    assert api_as("manager").get(f"{CLIENTS}?format=csv").status_code == 403


def test_every_export_is_in_the_history(shop, supervisor_client, admin_client, dbx):
    supervisor_client.get("/clientview/export/?format=csv&_flt_0_name=Б")
    run = last_run(dbx)
    assert (run.user_id, run.source, run.format, run.rows, run.total, run.status) == \
        (dbx.user_id("supervisor"), "screen:ClientView", "csv", 1, 1, "done")
    assert run.arguments == {"_flt_0_name": ["Б"]}
    page = text_of(supervisor_client.get("/exports/"))
    assert f'id="export-{run.id}"' in page and "Клиенты" in page
    # Everyone's exports, for those who read the settings; the file is its owner's.
    assert f'id="export-{run.id}"' in text_of(admin_client.get("/exports/?who=all"))
    assert admin_client.get(f"/exports/{run.id}/download").status_code == 404
    assert supervisor_client.get(f"/exports/{run.id}/download").status_code == 200


def test_an_export_too_large_to_wait_for_is_written_in_the_background(
        app, shop, supervisor_client, api_as, dbx, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_EXPORT_INLINE_ROWS", 2)
    response = supervisor_client.get("/clientview/export/?format=xlsx")
    assert response.status_code == 302 and "/exports/" in response.headers["Location"]
    run = last_run(dbx)
    assert (run.status, run.total, run.background) == ("queued", 3, True)
    assert supervisor_client.get(f"/exports/{run.id}/status").get_json()["status"] == "queued"
    assert supervisor_client.get(f"/exports/{run.id}/download").status_code == 404

    with app.app_context():
        assert list_exports.run_pending() == 1
        db.session.remove()
    state = supervisor_client.get(f"/exports/{run.id}/status").get_json()
    assert (state["status"], state["rows"], state["total"]) == ("done", 3, 3)
    rows = sheet_rows(supervisor_client.get(state["download_url"]))
    assert sorted(row[0] for row in rows[1:]) == sorted(shop)
    assert "Тайна" not in rows[0]  # written as its user, with the user's fields
    (note,) = export_notes(dbx)
    assert (note.record_id, note.user_id, note.payload["rows"]) == (run.id, run.user_id, 3)
    bell = text_of(supervisor_client.get("/notifications/"))
    assert "готова" in bell or "ready" in bell

    # Through the API: 202, the export to follow, its file.
    api = api_as("supervisor")
    response = api.get(f"{CLIENTS}?format=csv")
    assert response.status_code == 202
    location = response.headers["Location"]
    assert api.get(location).get_json()["result"]["status"] == "queued"
    with app.app_context():
        assert list_exports.run_pending() == 1
        db.session.remove()
    done = api.get(location).get_json()["result"]
    assert (done["status"], done["rows"]) == ("done", 3)
    assert len(csv_rows(api.get(done["download_url"]))) == 4
    assert api_as("manager").get(location).status_code == 404


def test_a_background_export_left_by_a_stopped_process_is_written_again(
        app, shop, supervisor_client, dbx, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_EXPORT_INLINE_ROWS", 2)
    supervisor_client.get("/clientview/export/?format=csv")
    run_id = last_run(dbx).id
    long_ago = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=1)
    with dbx.session() as s:
        s.execute(update(ExportRun).where(ExportRun.id == run_id).values(
            status="running", rows=1, heartbeat_at=long_ago))
        s.commit()
    with app.app_context():
        assert list_exports.run_pending() == 1
        db.session.remove()
    run = last_run(dbx)
    assert (run.id, run.status, run.rows) == (run_id, "done", 3)


def test_a_failed_background_export_says_so(app, shop, supervisor_client, dbx, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_EXPORT_INLINE_ROWS", 2)
    supervisor_client.get("/clientview/export/?format=csv")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(list_exports, "write", broken)
    with app.app_context():
        assert list_exports.run_pending() == 1
        db.session.remove()
    run = last_run(dbx)
    assert run.status == "failed" and "disk full" in run.error
    (note,) = export_notes(dbx)
    assert note.payload["status"] == "failed"


def test_rows_are_read_with_flat_memory(app, dbx):
    """Streaming forty thousand clients takes a fraction of what holding them takes: a
    few batches at a time (the one being made into rows, and those read ahead)."""
    admin = dbx.user_id("admin")
    dbx.insert(Client, [
        {"name": f"Клиент {n:05d}", "name_search": f"клиент {n:05d}", "kind": "company",
         "responsible_id": admin, "version": 1} for n in range(40_000)])

    def peak(keep: bool) -> int:
        with app.test_request_context(), acting_as(admin):
            query = list_exports.restricted(Client, db.session.query(Client)
                                            .order_by(Client.id))
            fields = list_exports.fields_of(Client, LABELS)
            tracemalloc.start()
            read = list_exports.rows(Client, query, fields)
            count = len(list(read)) if keep else sum(1 for _ in read)
            _size, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            db.session.remove()
        assert count == 40_000
        return top

    streamed, held = peak(keep=False), peak(keep=True)
    assert streamed < held / 3, (streamed, held)


def test_money_and_products_are_numbers(api, admin_client):
    group = api.post("/api/v1/product_group/", json={"name": "Услуги"}).get_json()["id"]
    response = api.post("/api/v1/product/", json={"name": "Внедрение", "group": group,
                                                  "price": 125000.5, "currency": "RUB"})
    assert response.status_code == 201, response.get_json()
    rows = sheet_rows(admin_client.get("/productview/export/?format=xlsx"))
    product = dict(zip(rows[0], rows[1], strict=True))
    assert product["Цена"] == Decimal("125000.5") or product["Цена"] == 125000.5
    assert product["Группа"] == "Услуги"


def test_a_web_process_starts_writing_a_large_export_at_once(app, shop, supervisor_client,
                                                              dbx, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_EXPORT_INLINE_ROWS", 2)
    monkeypatch.setitem(app.config, "CRM_EXPORT_THREADS", True)
    supervisor_client.get("/clientview/export/?format=xlsx")
    run_id = last_run(dbx).id
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = supervisor_client.get(f"/exports/{run_id}/status").get_json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert (state["status"], state["rows"]) == ("done", 3)
    with app.app_context():
        assert list_exports.run_pending() == 0  # nothing left for the job
        db.session.remove()


def test_a_background_export_keeps_the_lists_filters_and_order(app, shop, supervisor_client,
                                                                api_as, dbx, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_EXPORT_INLINE_ROWS", 0)
    supervisor_client.get("/clientview/export/?format=csv&_flt_0_name=Б")
    api_as("supervisor").get(
        f"{CLIENTS}?format=csv&q=(order_column:name,order_direction:desc)")
    with app.app_context():
        assert list_exports.run_pending() == 2
        db.session.remove()
    with dbx.session() as s:
        screen, api = s.execute(select(ExportRun).order_by(ExportRun.id)).scalars().all()[-2:]
        assert (screen.status, screen.rows, api.status, api.rows) == ("done", 1, "done", 3)
    names = [row[1] for row in csv_rows(api_as("supervisor").get(
        f"/api/v1/export/{api.id}/download"))[1:]]
    assert names == ["ООО «Ёлка»", "Бета", "Альфа-Строй"]


def test_a_background_export_whose_right_was_taken_away_fails_instead_of_writing_nothing(
        app, shop, supervisor_client, dbx, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_EXPORT_INLINE_ROWS", 2)
    supervisor_client.get("/clientview/export/?format=csv")
    monkeypatch.setattr(list_exports.access, "can", lambda entity, action, user=None: False)
    with app.app_context():
        assert list_exports.run_pending() == 1
        db.session.remove()
    run = last_run(dbx)
    assert (run.status, run.rows, run.file_key is not None) == ("failed", 0, True)
    assert "may not export" in run.error or "выгружать" in run.error
    (note,) = export_notes(dbx)
    assert note.payload["status"] == "failed"
