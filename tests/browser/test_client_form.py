"""The client screen in a real browser: log in, add a client with a bad INN and fix it, delete.

Runs against the app served by waitress with CSRF on (see conftest.py). The UI defaults to
Russian; texts are compared with what the app itself says in Russian or in English, so the
tests hold whether or not a message has been translated yet.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

BAD_INN = "7707083894"   # 10 digits, wrong control digit
GOOD_INN = "7707083893"  # the same with the right one

LIST_URL = "/clientview/list/"


def _any_of(texts: set[str]) -> re.Pattern:
    return re.compile("|".join(re.escape(t) for t in sorted(texts)))


def _field_row(page, field_id: str):
    """The block of a field: its label, input and errors (crm/widgets/fields.html)."""
    return page.locator(f"#model_form .crm-field-{field_id}")


def _choose_select2(page, field_id: str, label: str) -> None:
    """Pick a value through the select2 widget as a user does, not the hidden <select>."""
    page.locator(f"#{field_id} + .select2-container .select2-selection").click()
    option = page.locator(".select2-container--open .select2-results__option",
                          has_text=label)
    option.first.click()
    expect(page.locator(f"#select2-{field_id}-container")).to_contain_text(label)


def _open_clients_list(page, translate) -> None:
    page.goto(LIST_URL)
    expect(page.locator(".panel-heading .panel-title").first).to_have_text(
        _any_of(translate("Clients")))


def _client_row(page, name: str):
    return page.locator("table.table tbody tr").filter(has_text=name)


def _add_client(page, translate, name: str, inn: str) -> None:
    page.locator('a.btn-primary[href*="/clientview/add"]').click()
    page.wait_for_url(re.compile(r"/clientview/add"))
    page.fill("#name", name)
    # "Company" is the default: go through "Person" first so that the widget really works.
    person = page.locator("#kind option[value=person]").inner_text().strip()
    company = page.locator("#kind option[value=company]").inner_text().strip()
    assert company in translate("Company"), company
    _choose_select2(page, "kind", person)
    assert page.locator("#kind").input_value() == "person"
    _choose_select2(page, "kind", company)
    assert page.locator("#kind").input_value() == "company"
    page.fill("#inn", inn)


def _save(page) -> None:
    with page.expect_navigation():
        page.locator("#model_form button[type=submit]").click()


def test_add_client_shows_inn_checksum_error_then_saves(logged_in, translate, shot):
    page = logged_in
    shot("logged-in")

    _open_clients_list(page, translate)
    shot("clients-list")

    name = f"ООО Браузерный тест {uuid.uuid4().hex[:6]}"
    _add_client(page, translate, name, BAD_INN)
    shot("add-form-filled-bad-inn")
    _save(page)

    # Refused: still the add form, the INN error sits on the INN field, the input is kept.
    assert "/clientview/add" in page.url
    inn_error = _field_row(page, "inn").locator(".crm-field-error")
    expect(inn_error).to_be_visible()
    expect(inn_error).to_contain_text(_any_of(translate("INN checksum is invalid")))
    expect(page.locator("#model_form .crm-field-error")).to_have_count(1)
    expect(page.locator("#inn")).to_have_value(BAD_INN)
    expect(page.locator("#name")).to_have_value(name)
    shot("inn-checksum-error")

    page.fill("#inn", GOOD_INN)
    _save(page)

    assert "/clientview/add" not in page.url
    expect(page.locator(".alert-success")).to_be_visible()
    _open_clients_list(page, translate)
    row = _client_row(page, name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(GOOD_INN)
    shot("client-in-list")
    assert page.js_errors == [], page.js_errors


def test_delete_client_asks_for_confirmation_and_posts(logged_in, translate, shot):
    page = logged_in
    _open_clients_list(page, translate)
    name = f"ООО На удаление {uuid.uuid4().hex[:6]}"
    _add_client(page, translate, name, GOOD_INN)
    _save(page)
    _open_clients_list(page, translate)
    row = _client_row(page, name)
    expect(row).to_have_count(1)
    shot("before-delete")

    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url)))

    # The trash button only opens a confirmation; nothing is sent yet.
    row.locator("a.crm-delete").click()
    modal = page.locator("#modal-confirm")
    expect(page.locator("#modal-confirm.in")).to_be_visible()  # Bootstrap 3: shown
    page.wait_for_timeout(400)  # let the fade-in end before the screenshot
    expect(modal.locator(".modal-body")).to_contain_text(
        _any_of(translate("Are you sure you want to delete this item?")))
    shot("delete-confirmation")
    assert not [r for r in requests if "/delete/" in r[1]], requests

    # Cancelling keeps the row.
    modal.locator("[data-dismiss=modal]").first.click()
    expect(modal).to_be_hidden()
    expect(_client_row(page, name)).to_have_count(1)

    # Confirming posts the form (with its CSRF token) and the row is gone.
    row.locator("a.crm-delete").click()
    expect(modal).to_be_visible()
    with page.expect_request(lambda r: "/clientview/delete/" in r.url) as sent:
        with page.expect_navigation():
            page.locator("#modal-confirm-ok").click()
    assert sent.value.method == "POST"
    assert "csrf_token=" in (sent.value.post_data or "")
    expect(page.locator(".alert-success")).to_be_visible()
    _open_clients_list(page, translate)
    expect(_client_row(page, name)).to_have_count(0)
    shot("after-delete")
    assert page.js_errors == [], page.js_errors



def test_a_person_client_has_a_birthday_a_company_does_not(logged_in, live_server, shot):
    """The birthday shows when the kind is "person", and is saved with the client."""
    from sqlalchemy import select

    from app.database import db
    from app.models import Client

    page = logged_in
    page.goto("/clientview/add")
    birthday = page.locator(".crm-field-birthday")
    expect(birthday).to_be_hidden()                       # a company, by default
    person = page.locator("#kind option[value=person]").inner_text().strip()
    _choose_select2(page, "kind", person)
    expect(birthday).to_be_visible()
    name = f"Пётр Именинников {uuid.uuid4().hex[:6]}"
    page.fill("#name", name)
    page.fill("#birthday", "29.02.1996")
    page.keyboard.press("Escape")
    shot("person-with-birthday")
    _save(page)
    assert "/clientview/add" not in page.url, page.url
    assert not page.js_errors, page.js_errors
    with live_server.app.app_context():
        saved = db.session.execute(select(Client.birthday, Client.birthday_key)
                                   .where(Client.name == name)).one()
        db.session.remove()
    assert (saved.birthday.isoformat(), saved.birthday_key) == ("1996-02-29", 229)
