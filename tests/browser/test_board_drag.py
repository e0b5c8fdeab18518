"""The board "My sales" in a real browser: a card dragged to the next stage opens the move
dialog, and after the result and the next plan it is in its new column, green; a card of a
potential client dragged to a stage that needs a registered client is refused in the
dialog, the client is created from there, and the move goes through; a dialog closed
without saving puts the card back."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from helpers import as_admin
from playwright.sync_api import expect


def _make_interests(server, tag: str) -> dict:
    from app.models import Client, Interest
    from app.services import commands, sales
    from app.services.clock import utcnow

    with as_admin(server.app) as pipeline:
        stages = [s for s in pipeline.stages if s.kind == "open"]
        client = commands.create(Client(kind="company", name=f"ООО Доска {tag}"))
        soon = utcnow() + dt.timedelta(hours=1)
        with_client = sales.create_interest(
            Interest(title=f"Сделка {tag}", pipeline=pipeline, stage=stages[0],
                     client=client, amount=1000), sales.Plan("Звонок", soon))
        potential = sales.create_interest(
            Interest(title=f"Лид {tag}", pipeline=pipeline, stage=stages[0],
                     potential_company=f"ООО Лид {tag}", potential_name="Анна",
                     amount=500), sales.Plan("Звонок", soon))
        return {"client": with_client.id, "potential": potential.id,
                "second": stages[1].id,
                "contract": next(s.id for s in stages if s.requires_client)}


def _stage_of(server, pk: int) -> int:
    from app.database import db
    from app.models import Interest

    with server.app.app_context():
        try:
            return db.session.get(Interest, pk).stage_id
        finally:
            db.session.remove()


def _drag(page, pk: int, stage: int) -> None:
    card = page.locator(f'.crm-kcard[data-id="{pk}"]')
    target = page.locator(f'.crm-kcol[data-stage="{stage}"] .crm-kcol-cards')
    card.drag_to(target)
    expect(page.locator(".crm-dialog form.crm-command-form")).to_be_visible()


def _fill_plan(page, subject: str) -> None:
    dialog = page.locator(".crm-dialog")
    dialog.locator("#result").fill("Клиент заинтересован")
    dialog.locator("#next_subject").fill(subject)
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).strftime("%d.%m.%Y")
    dialog.locator("#next_planned_at").fill(f"{tomorrow} 11:00")
    dialog.locator(".modal-title").click()  # closes the calendar


def test_a_card_dragged_to_the_next_stage_moves_with_its_result_and_plan(logged_in,
                                                                      live_server, shot):
    tag = uuid.uuid4().hex[:6]
    ids = _make_interests(live_server, tag)
    page = logged_in
    page.goto("/board/?depth=all")
    expect(page.locator(f'.crm-kcard[data-id="{ids["client"]}"]')).to_have_class(
        re.compile("crm-kcard-yellow|crm-kcard-green"))
    _drag(page, ids["client"], ids["second"])
    expect(page.locator(".crm-dialog .crm-day-load")).to_be_attached()
    _fill_plan(page, f"Отправить предложение {tag}")
    shot("move-dialog")
    with page.expect_navigation():
        page.locator(".crm-dialog .crm-command-submit").click()
    moved = page.locator(f'.crm-kcol[data-stage="{ids["second"]}"] '
                         f'.crm-kcard[data-id="{ids["client"]}"]')
    expect(moved).to_be_visible()
    expect(moved).to_have_class(re.compile("crm-kcard-green"))
    expect(moved).to_contain_text(f"Отправить предложение {tag}")
    assert _stage_of(live_server, ids["client"]) == ids["second"]
    shot("moved")
    assert page.js_errors == [], page.js_errors


def test_a_stage_needing_a_client_is_refused_in_the_dialog_and_the_client_made_there(
        logged_in, live_server, shot):
    tag = uuid.uuid4().hex[:6]
    ids = _make_interests(live_server, tag)
    page = logged_in
    page.goto("/board/?depth=all")
    _drag(page, ids["potential"], ids["contract"])
    _fill_plan(page, f"Подготовить договор {tag}")
    page.locator(".crm-dialog .crm-command-submit").click()
    offers = page.locator(".crm-dialog .crm-offers")
    expect(offers).to_be_visible()
    expect(page.locator(".crm-dialog .crm-refusal")).to_contain_text("Заключение договора")
    shot("refused-in-dialog")
    offers.locator(".crm-offer-create-client").click()
    # The client is made; the move is asked again, in the same dialog.
    expect(page.locator(".crm-dialog .crm-offers")).to_have_count(0)
    expect(page.locator(".crm-dialog form.crm-command-form")).to_be_visible()
    _fill_plan(page, f"Подготовить договор {tag}")
    with page.expect_navigation():
        page.locator(".crm-dialog .crm-command-submit").click()
    expect(page.locator(f'.crm-kcol[data-stage="{ids["contract"]}"] '
                        f'.crm-kcard[data-id="{ids["potential"]}"]')).to_contain_text(
        f"ООО Лид {tag}")
    assert _stage_of(live_server, ids["potential"]) == ids["contract"]
    assert page.js_errors == [], page.js_errors


def test_a_dialog_closed_without_saving_puts_the_card_back(logged_in, live_server):
    tag = uuid.uuid4().hex[:6]
    ids = _make_interests(live_server, tag)
    page = logged_in
    page.goto("/board/?depth=all")
    first = page.locator(f'.crm-kcard[data-id="{ids["client"]}"]').locator(
        "xpath=ancestor::section[1]").get_attribute("data-key")
    _drag(page, ids["client"], ids["second"])
    page.locator(".crm-dialog .crm-command-cancel").click()
    expect(page.locator(".crm-dialog")).to_be_hidden()
    expect(page.locator(f'.crm-kcol[data-key="{first}"] '
                        f'.crm-kcard[data-id="{ids["client"]}"]')).to_be_visible()
    assert _stage_of(live_server, ids["client"]) != ids["second"]


def _make_inquiry(server, tag: str) -> dict:
    from sqlalchemy import select

    from app.database import db
    from app.models import Client, CrmUser, Inquiry, Pipeline
    from app.services import commands
    from app.services.actor import acting_as

    with server.app.app_context():
        try:
            admin = db.session.execute(select(CrmUser).where(CrmUser.username == "admin")
                                       ).scalar_one()
            pipeline = db.session.execute(select(Pipeline).where(
                Pipeline.is_default.is_(True))).scalar_one()
            stage = [s for s in pipeline.stages if s.kind == "open"][1]
            digits = f"{int(tag, 16) % 10_000_000:07d}"
            with acting_as(admin):
                client = commands.create(Client(
                    kind="company", name=f"ООО Звонящий {tag}",
                    phone=f"+7 916 {digits[:3]}-{digits[3:5]}-{digits[5:]}"))
                inquiry = commands.create(Inquiry(
                    channel="call", text=f"Нужен сервер {tag}", sender_name="Олег",
                    sender_phone=f"8 916 {digits[:3]} {digits[3:5]} {digits[5:]}",
                    manager=admin))
            return {"client": client.id, "inquiry": inquiry.id, "stage": stage.id}
        finally:
            db.session.remove()


def test_an_inquiry_dropped_on_a_stage_goes_through_the_wizard(logged_in, live_server,
                                                               shot):
    from app.database import db
    from app.models import Inquiry, Interest

    tag = uuid.uuid4().hex[:6]
    ids = _make_inquiry(live_server, tag)
    page = logged_in
    page.goto("/board/?depth=all")
    card = page.locator(f'.crm-kcard-inquiry[data-id="{ids["inquiry"]}"]')
    with page.expect_navigation():
        card.drag_to(page.locator(f'.crm-kcol[data-stage="{ids["stage"]}"] .crm-kcol-cards'))
    assert f"/inquiryview/process/{ids['inquiry']}" in page.url
    found = page.locator(f'.crm-found[data-client="{ids["client"]}"]')
    expect(found).to_contain_text(f"ООО Звонящий {tag}")  # found by the sender's phone
    shot("wizard-found-by-phone")
    with page.expect_navigation():
        found.locator(".crm-intake-for-client").click()
    assert page.locator("#stage").input_value() == str(ids["stage"])
    page.fill("#next_subject", f"Подобрать сервер {tag}")
    with page.expect_navigation():
        page.locator(".crm-command-submit").click()
    assert "/interestview/show/" in page.url
    with live_server.app.app_context():
        try:
            inquiry = db.session.get(Inquiry, ids["inquiry"])
            interest = db.session.get(Interest, inquiry.interest_id)
            assert inquiry.status == "converted"
            assert (interest.client_id, interest.stage_id) == (ids["client"], ids["stage"])
        finally:
            db.session.remove()
    assert page.js_errors == [], page.js_errors


def test_the_board_narrowed_to_a_client_picked_in_the_toolbar(logged_in, live_server):
    page = logged_in
    tag = uuid.uuid4().hex[:8]
    _make_interests(live_server, tag)
    page.goto("/board/?depth=all")
    expect(page.locator(".crm-kcard", has_text=f"Лид {tag}")).to_have_count(1)
    page.locator(".crm-board-client .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").type(f"Доска {tag}")
    option = page.locator(".select2-results__option", has_text=f"ООО Доска {tag}")
    with page.expect_navigation():
        option.click()
    assert "client=" in page.url
    expect(page.locator(".crm-kcard", has_text=f"Сделка {tag}")).to_have_count(1)
    expect(page.locator(".crm-kcard", has_text=f"Лид {tag}")).to_have_count(0)
    assert not page.js_errors, page.js_errors
