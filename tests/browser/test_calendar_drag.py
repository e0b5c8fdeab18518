"""The calendar in a real browser: an interaction dragged to the next day in the week's view
is rescheduled there at the same time (the database says so), and an item saved meanwhile
by someone else snaps back with the message instead of overwriting their change."""

from __future__ import annotations

import datetime as dt
import uuid

from helpers import as_admin
from playwright.sync_api import expect


def _week() -> tuple[dt.date, dt.date]:
    """A Monday five weeks ahead (nothing else of the suite is there) and its Wednesday."""
    today = dt.date.today() + dt.timedelta(days=35)
    monday = today - dt.timedelta(days=today.weekday())
    return monday, monday + dt.timedelta(days=2)


def _plan(server, subject: str, day: dt.date) -> int:
    from app.models import Interaction
    from app.services import commands
    from app.services.actor import current_user
    from app.services.clock import to_utc

    with as_admin(server.app):
        interaction = commands.create(Interaction(
            subject=subject, status="planned", responsible=current_user(),
            planned_at=to_utc(dt.datetime.combine(day, dt.time(10, 0)))))
        return interaction.id


def _planned_at(server, pk: int) -> dt.datetime:
    from app.database import db
    from app.models import Interaction
    from app.services.clock import to_local

    with server.app.app_context():
        try:
            return to_local(db.session.get(Interaction, pk).planned_at)
        finally:
            db.session.remove()


def _drag_to(page, pk: int, day: dt.date) -> None:
    item = page.locator(f'.fc-event[data-id="{pk}"]')
    expect(item).to_be_visible()
    box = item.bounding_box()
    column = page.locator(f'td.fc-timegrid-col[data-date="{day.isoformat()}"]').bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 6
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y, steps=4)
    page.mouse.move(column["x"] + column["width"] / 2, y, steps=12)
    page.mouse.up()


def test_an_item_dragged_to_the_next_day_is_rescheduled(logged_in, live_server, shot):
    tag = uuid.uuid4().hex[:6]
    monday, wednesday = _week()
    pk = _plan(live_server, f"Встреча {tag}", wednesday)
    page = logged_in
    page.on("dialog", lambda dialog: dialog.accept())  # someone busy then: move anyway
    page.goto(f"/calendar/?view=timeGridWeek&date={monday.isoformat()}")
    _drag_to(page, pk, wednesday + dt.timedelta(days=1))
    expect(page.locator(".crm-calendar-message.alert-success")).to_be_visible()
    shot("calendar-dragged")
    assert _planned_at(live_server, pk) == dt.datetime.combine(
        wednesday + dt.timedelta(days=1), dt.time(10, 0))


def test_an_item_changed_meanwhile_snaps_back(logged_in, live_server):
    from app.database import db
    from app.models import Interaction
    from app.services import calendar
    from app.services.clock import to_utc

    tag = uuid.uuid4().hex[:6]
    monday, wednesday = _week()
    pk = _plan(live_server, f"Звонок {tag}", wednesday)
    page = logged_in
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"/calendar/?view=timeGridWeek&date={monday.isoformat()}")
    expect(page.locator(f'.fc-event[data-id="{pk}"]')).to_be_visible()
    with as_admin(live_server.app):  # a colleague moves it to 12:00 meanwhile
        interaction = db.session.get(Interaction, pk)
        calendar.reschedule(interaction, to_utc(dt.datetime.combine(wednesday, dt.time(12))),
                            seen_version=interaction.version)
    _drag_to(page, pk, wednesday + dt.timedelta(days=1))
    expect(page.locator(".crm-calendar-message.alert-danger")).to_be_visible()
    assert _planned_at(live_server, pk) == dt.datetime.combine(wednesday, dt.time(12, 0))


def test_an_empty_time_clicked_opens_the_form_with_that_time(logged_in):
    monday, wednesday = _week()
    page = logged_in
    page.goto(f"/calendar/?view=timeGridWeek&date={monday.isoformat()}")
    column = page.locator(f'td.fc-timegrid-col[data-date="{wednesday.isoformat()}"]')
    slot = page.locator('td.fc-timegrid-slot-lane[data-time="15:00:00"]')
    slot.scroll_into_view_if_needed()
    x = column.bounding_box()["x"] + column.bounding_box()["width"] / 2
    y = slot.bounding_box()["y"] + slot.bounding_box()["height"] / 2
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert "/interactionview/add" in page.url
    expect(page.locator("input[name=planned_at]")).to_have_value(
        wednesday.strftime("%d.%m.%Y 15:00"))
    expect(page.locator(".crm-day-load")).to_contain_text("Администратор")
