"""A manager's first hour, through the screens exactly as a person clicks and types.

manager1 of the demo company, in Russian and in English: an inquiry saved with its
prefilled date untouched → a new client → an interest started from the client's card
(client filled in, only the default pipeline's stages, money typed the Russian way) → a call added
from the interest's tab, its time picked in the calendar → the call's time typed by hand and
the call marked done → the interest moved to the next stage and won → its history in words →
an overdue call, found through the start page's tile and highlighted in the list.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, log_in
from tests.factories import valid_inn

PASSWORD = DEMO_PASSWORD
MANAGER = "manager1"


@pytest.fixture
def manager(page, demo_company, request):
    """The page, logged in as manager1 through the login form, in the test's language."""
    log_in(page, MANAGER, PASSWORD)
    page.goto(f"/lang/{request.param}")
    return page


def _db(server, fn):
    """fn(session) run in the app, for checking what the screens stored."""
    from app.database import db

    with server.app.app_context():
        try:
            return fn(db.session)
        finally:
            db.session.remove()


def _save(page) -> None:
    with page.expect_navigation():
        page.locator("#model_form button[type=submit]").click()


def _show_pk(page, view: str) -> int:
    """After saving, the page is the saved record's own page: /<view>/show/<pk>."""
    match = re.search(rf"/{view}/show/(\d+)", page.url)
    assert match, f"expected the {view} record's page after saving, got {page.url}"
    return int(match.group(1))


def _choose_select2(page, field_id: str, label: str) -> None:
    page.locator(f"#{field_id} + .select2-container .select2-selection").click()
    page.locator(".select2-container--open .select2-results__option",
                 has_text=label).first.click()
    expect(page.locator(f"#select2-{field_id}-container")).to_contain_text(label)


def _related_add(page, view: str) -> None:
    """Open the record page's tab of <view> (e.g. InterestView) and click its Add button."""
    page.locator(f'a[data-toggle="tab"][href="#{view}"]').click()
    add = page.locator(f'#{view} a[href*="/{view.lower()}/add"]').first
    with page.expect_navigation():
        add.click()
    assert f"/{view.lower()}/add" in page.url


_MARK_DAY = """([id, y, m, d]) => {
    for (const el of document.getElementById(id)._flatpickr.calendarContainer
                              .querySelectorAll('.flatpickr-day')) {
        el.removeAttribute('data-test-day');
        const t = el.dateObj;
        if (t.getFullYear() === y && t.getMonth() === m - 1 && t.getDate() === d &&
                !el.classList.contains('prevMonthDay') && !el.classList.contains('nextMonthDay')) {
            el.setAttribute('data-test-day', '1');
            return true;
        }
    }
    return false;
}"""


def _pick_in_calendar(page, field_id: str, day: dt.date, hour: int, minute: int) -> None:
    """Open the field's calendar, click the day, set the time with the picker's own inputs."""
    page.locator(f"#{field_id}").click()
    calendar = page.locator(".flatpickr-calendar.open")
    expect(calendar).to_be_visible()
    where = [field_id, day.year, day.month, day.day]
    if not page.evaluate(_MARK_DAY, where):  # the day is in the next month
        calendar.locator(".flatpickr-next-month").click()
        assert page.evaluate(_MARK_DAY, where)
    calendar.locator("[data-test-day]").click()
    calendar.locator("input.flatpickr-hour").fill(str(hour))
    calendar.locator("input.flatpickr-minute").fill(f"{minute:02d}")
    calendar.locator("input.flatpickr-minute").press("Enter")
    page.keyboard.press("Escape")


@pytest.mark.parametrize("manager", ["ru", "en"], indirect=True)
def test_inquiry_client_interest_call_won_overdue(manager, demo_company, shot):
    from app.models import Inquiry, Interaction, Interest, Pipeline
    from app.services.clock import local_today, to_local

    page = manager
    server = demo_company
    tag = uuid.uuid4().hex[:6]

    # An inquiry, its prefilled "received" time left as it is.
    page.goto("/inquiryview/add")
    prefilled = page.locator("#received_at").input_value()
    assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", prefilled), prefilled
    page.fill("#sender_name", f"Пётр Звонков {tag}")
    page.fill("#sender_phone", "+7 916 555-12-34")
    page.fill("#text", "Нужны ноутбуки для отдела")
    shot("inquiry-form")
    _save(page)
    inquiry_id = _show_pk(page, "inquiryview")
    received = _db(server, lambda s: s.get(Inquiry, inquiry_id).received_at)
    assert to_local(received).strftime("%d.%m.%Y %H:%M") == prefilled

    # A client.
    page.goto("/clientview/add")
    client_name = f"ООО Петров и партнёры {tag}"
    page.fill("#name", client_name)
    page.fill("#inn", valid_inn(int(tag, 16) % 10_000_000))
    _save(page)
    client_id = _show_pk(page, "clientview")
    shot("client-page")

    # An interest started from the client's card: the client is filled in, the stages are
    # the default pipeline's only, the amount is typed as the lists show money.
    with page.expect_navigation():
        page.locator(".crm-client-card .crm-cmd-new-interest").click()
    assert "/interestview/add" in page.url
    expect(page.locator("#select2-client-container")).to_contain_text(client_name)
    default = _db(server, lambda s: s.query(Pipeline).filter_by(is_default=True).one())
    stage_ids = _db(server, lambda s: {str(st.id) for st in
                                       s.get(Pipeline, default.id).stages})
    offered = {v for v in page.locator("#stage option").evaluate_all(
        "options => options.filter(o => !o.hidden && !o.disabled && o.value)"
        ".map(o => o.value)")}
    assert offered and offered <= stage_ids, (offered, stage_ids)
    page.fill("#title", f"Ноутбуки {tag}")
    page.fill("#amount", "1 200 000,00")
    # Its first plan (R1): the time starts at tomorrow 10:00.
    page.fill("#next_subject", f"Первый звонок {tag}")
    expect(page.locator("#next_planned_at")).to_have_value(re.compile(r"\d{2}\.\d{2}\.\d{4} 10:00"))
    shot("interest-form")
    _save(page)
    interest_id = _show_pk(page, "interestview")
    interest = _db(server, lambda s: s.get(Interest, interest_id))
    assert interest.client_id == client_id
    assert interest.amount == Decimal("1200000.00")

    # A call from the interest's tab, its time picked in the calendar: tomorrow 14:30.
    _related_add(page, "InteractionView")
    expect(page.locator("#select2-interest-container")).to_contain_text(f"Ноутбуки {tag}")
    expect(page.locator("#select2-client-container")).to_contain_text(client_name)
    page.fill("#subject", f"Созвон о конфигурации {tag}")
    tomorrow = local_today() + dt.timedelta(days=1)
    _pick_in_calendar(page, "planned_at", tomorrow, 14, 30)
    expect(page.locator("#planned_at")).to_have_value(
        f"{tomorrow:%d.%m.%Y} 14:30")
    shot("call-form-picked")
    _save(page)
    call_id = _show_pk(page, "interactionview")
    call = _db(server, lambda s: s.get(Interaction, call_id))
    assert (call.interest_id, call.client_id) == (interest_id, client_id)
    assert to_local(call.planned_at) == dt.datetime.combine(tomorrow, dt.time(14, 30))

    # The time typed by hand the Russian way, and the call marked done.
    page.goto(f"/interactionview/edit/{call_id}")
    page.fill("#planned_at", f"{tomorrow:%d.%m.%Y} 9:05")
    page.keyboard.press("Escape")
    page.locator("#model_form legend").first.click()  # the calendar closes, as a user sees it
    expect(page.locator(".flatpickr-calendar.open")).to_have_count(0)
    done_label = page.locator("#status option[value=done]").inner_text().strip()
    _choose_select2(page, "status", done_label)
    page.fill("#result", "Согласовали конфигурацию, ждут предложение")
    _save(page)
    assert _show_pk(page, "interactionview") == call_id
    call = _db(server, lambda s: s.get(Interaction, call_id))
    assert to_local(call.planned_at) == dt.datetime.combine(tomorrow, dt.time(9, 5))
    assert call.status == "done" and call.done_at is not None

    # The next stage from the card's stage bar: the result of the first call and the next
    # plan; then won, with its result.
    page.goto(f"/interestview/show/{interest_id}")
    with page.expect_navigation():
        page.locator(".crm-stagebar a", has_text="Обсуждение условий").click()
    page.fill("#result", "Клиент подтвердил интерес")
    page.fill("#next_subject", f"Отправить предложение {tag}")
    shot("interest-move")
    with page.expect_navigation():
        page.locator(".crm-command-submit").click()
    assert _show_pk(page, "interestview") == interest_id
    with page.expect_navigation():
        page.locator(".crm-stagebar a", has_text="Успешно реализовано").click()
    page.fill("#result", "Договор подписан")
    with page.expect_navigation():
        page.locator(".crm-command-submit").click()
    assert _show_pk(page, "interestview") == interest_id
    kind, closed_at = _db(server, lambda s: (s.get(Interest, interest_id).stage.kind,
                                             s.get(Interest, interest_id).closed_at))
    assert kind == "won" and closed_at is not None

    # The history says it in words, with local times and names.
    # The saved interest opens on its details, with its history under them.
    history = page.locator("table.crm-history")
    expect(history).to_be_visible()
    expect(history).to_contain_text("Успешно реализовано")
    expect(history).not_to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"))
    shot("interest-history")

    # An overdue call, typed for yesterday, is on the start page's tile and highlighted.
    page.goto(f"/interactionview/add?_flt_0_client={client_id}")
    page.fill("#subject", f"Перезвонить {tag}")
    yesterday = local_today() - dt.timedelta(days=1)
    page.fill("#planned_at", f"{yesterday:%d.%m.%Y} 10:00")
    page.keyboard.press("Escape")
    _save(page)
    overdue_id = _show_pk(page, "interactionview")
    page.goto("/")
    tile = page.locator("a.crm-tile-overdue")
    expect(tile).to_contain_text(re.compile("Overdue interactions|Просроченные"))
    figure = int(tile.locator(".crm-figure").inner_text())
    assert figure >= 1
    with page.expect_navigation():
        tile.click()
    rows = page.locator("table.table tbody tr")
    expect(rows.filter(has_text=f"Перезвонить {tag}")).to_have_count(1)
    assert rows.count() == figure
    assert page.locator("table.table tbody tr.crm-row-overdue").count() == figure
    expect(page.locator(".crm-worklist-chip")).to_be_visible()
    shot("overdue-list")
    overdue = _db(server, lambda s: s.get(Interaction, overdue_id))
    assert to_local(overdue.planned_at) == dt.datetime.combine(yesterday, dt.time(10, 0))
    assert page.js_errors == [], page.js_errors
