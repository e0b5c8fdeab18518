"""Custom fields in a real browser: the administrator adds a required list field to
clients on Settings → Custom fields; a manager finds it in the client form, cannot save
without it, saves with it and filters the clients list by it. Labels, help texts and
options holding HTML or script are shown as text on every page that shows them."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, log_in
from tests.factories import valid_inn

PASSWORD = DEMO_PASSWORD
MANAGER = "manager1"
XSS = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=2</script>",
       '"><svg onload="window.__xss=3">', "</option><b id=xss-bold>bold</b>"]


@pytest.fixture
def fields_removed_after(live_server):
    """The fields a test adds go when it ends: other tests save clients without them."""
    yield
    from sqlalchemy import select

    from app.database import db
    from app.models import CustomField
    from app.services import custom_field_definitions
    from tests.helpers import as_admin

    with as_admin(live_server.app):
        for field in db.session.execute(select(CustomField)).scalars().all():
            custom_field_definitions.delete(field)


def _choose_select2(page, field_id: str, label: str) -> None:
    page.locator(f"#{field_id} + .select2-container .select2-selection").click()
    page.locator(".select2-container--open .select2-results__option",
                 has_text=label).first.click()


def _open_filter(page, column: str) -> None:
    """The list's search panel open, with a filter row for `column`."""
    page.locator('a.accordion-toggle[href="#accordion1_href"]').click()
    page.locator("#filter_form .dropdown-toggle").click()
    page.locator(f'#filter_form a.filter[name="{column}"]').click()


def _save(page) -> None:
    with page.expect_navigation():
        page.locator("#model_form button[type=submit]").click()


def test_a_required_list_field_from_settings_to_the_managers_filter(
        page, demo_company, fields_removed_after, translate, shot):
    tag = uuid.uuid4().hex[:6]
    log_in(page)
    page.goto("/customfieldview/add")
    _choose_select2(page, "entity", next(iter(translate("Clients") & {
        page.locator("#entity option[value=client]").inner_text().strip()})))
    _choose_select2(page, "field_type",
                    page.locator("#field_type option[value=list]").inner_text().strip())
    page.fill("#code", f"tier_{tag}")
    page.fill("#label_ru", "Уровень клиента")
    page.fill("#label_en", "Client tier")
    page.fill("#options_text", "gold | Золото | #ffb300\nsilver | Серебро | #90a4ae")
    page.check("#required")
    page.check("#filterable")
    page.check("#show_in_list")
    shot("definition")
    _save(page)
    assert re.search(r"/customfieldview/show/\d+", page.url), page.url
    expect(page.locator(".crm-show-sections")).to_contain_text("Золото")

    page.goto("/logout/")
    log_in(page, MANAGER, PASSWORD)
    page.goto("/clientview/add")
    field = page.locator(f".crm-field-custom_tier_{tag}")
    expect(field).to_contain_text("Уровень клиента")
    name = f"ООО Уровень {tag}"
    page.fill("#name", name)
    page.fill("#inn", valid_inn(int(tag, 16) % 900_000 + 1000))
    _save(page)
    expect(field.locator(".crm-field-error")).to_contain_text("Уровень клиента")
    shot("required")
    _choose_select2(page, f"custom_tier_{tag}", "Золото")
    _save(page)
    assert re.search(r"/clientview/show/\d+", page.url), page.url
    expect(page.locator(f".crm-value-custom\\.tier_{tag}")).to_contain_text("Золото")
    shot("saved")

    page.goto("/clientview/list/")
    _open_filter(page, f"custom.tier_{tag}")
    row = page.locator("#filter_form table.filters tr").last
    row.locator("select.filter_val").select_option("gold")
    with page.expect_navigation():
        page.locator("#filter_form button[type=submit]").click()
    table = page.locator("table.table tbody").last
    expect(table).to_contain_text(name)
    expect(table.locator("tr")).to_have_count(1)
    shot("filtered")
    assert not page.js_errors, page.js_errors


def test_html_in_labels_help_and_options_is_text_everywhere(
        page, demo_company, fields_removed_after, live_server):
    from app.models import Client
    from app.services import commands, custom_field_definitions
    from tests.helpers import as_admin

    with as_admin(live_server.app):
        for n, payload in enumerate(XSS):
            custom_field_definitions.create({
                "entity": "client", "code": f"xss_{n}", "field_type": "list",
                "label_ru": payload, "label_en": payload, "help_ru": payload,
                "options": [{"value": "v", "label": payload}], "show_in_list": True,
                "filterable": True})
        client = commands.create(Client(kind="company", name=f"ООО XSS {uuid.uuid4().hex[:6]}",
                                        custom={f"xss_{n}": "v" for n in range(len(XSS))}))
        pk = client.id
    page.on("dialog", lambda dialog: pytest.fail(f"a script opened a dialog: {dialog.message}"))
    log_in(page)
    for url in ("/clientview/add", f"/clientview/edit/{pk}", f"/clientview/show/{pk}",
                "/clientview/list/", "/customfieldview/list/"):
        page.goto(url)
        if url.endswith("/list/") and url.startswith("/clientview"):
            _open_filter(page, "custom.xss_0")
        for payload in XSS:
            expect(page.locator("body")).to_contain_text(payload)
        assert page.evaluate("window.__xss") is None, url
        assert page.locator("#xss-bold").count() == 0, url
    assert not page.js_errors, page.js_errors


def test_an_interests_form_shows_the_fields_of_the_chosen_pipeline(
        page, live_server, fields_removed_after):
    from app.models import Pipeline, Stage
    from app.services import commands, custom_field_definitions
    from tests.helpers import as_admin

    with as_admin(live_server.app) as default:
        other = commands.create(Pipeline(name=f"Сервис {uuid.uuid4().hex[:4]}", sort=50))
        commands.create(Stage(pipeline=other, name="Заявка", sort=10, kind="open"))
        custom_field_definitions.create({
            "entity": "interest", "code": "sla_hours", "field_type": "integer",
            "label_ru": "Срок реакции, ч", "pipelines": [other.id]})
        other_id, default_id = other.id, default.id
    log_in(page)
    page.goto("/interestview/add")
    block = page.locator(".crm-field-custom_sla_hours")
    page.locator("#pipeline").select_option(str(default_id))
    page.locator("#pipeline").dispatch_event("change")
    expect(block).to_be_hidden()
    page.locator("#pipeline").select_option(str(other_id))
    page.locator("#pipeline").dispatch_event("change")
    expect(block).to_be_visible()
    assert not page.js_errors, page.js_errors


def test_a_card_dragged_to_a_stage_asks_for_the_fields_it_requires(
        logged_in, live_server, fields_removed_after, shot):
    from app.services import custom_field_definitions
    from tests.browser.test_board_drag import _drag, _fill_plan, _make_interests, _stage_of
    from tests.helpers import as_admin

    tag = uuid.uuid4().hex[:6]
    ids = _make_interests(live_server, tag)
    with as_admin(live_server.app):
        custom_field_definitions.create({
            "entity": "interest", "code": "contract_no", "field_type": "string",
            "label_ru": "Номер договора", "label_en": "Contract No.",
            "required_from": [ids["second"]]})
    page = logged_in
    page.goto("/board/?depth=all")
    _drag(page, ids["client"], ids["second"])
    dialog = page.locator(".crm-dialog")
    field = dialog.locator(".crm-field-custom_contract_no")
    expect(field).to_contain_text("Номер договора")
    _fill_plan(page, f"Отправить договор {tag}")
    dialog.locator(".crm-command-submit").click()
    expect(field.locator(".crm-field-error")).to_contain_text("Номер договора")
    shot("asked-in-dialog")
    dialog.locator("#custom_contract_no").fill(f"Д-{tag}")
    with page.expect_navigation():
        dialog.locator(".crm-command-submit").click()
    expect(page.locator(f'.crm-kcol[data-stage="{ids["second"]}"] '
                        f'.crm-kcard[data-id="{ids["client"]}"]')).to_be_visible()
    assert _stage_of(live_server, ids["client"]) == ids["second"]
    assert page.js_errors == [], page.js_errors
