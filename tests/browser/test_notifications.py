"""The bell and the notifications page in a real browser: a manager of the demo company
sees the number of unread reminders in the navbar, opens the list, marks one read, opens
another's record, marks the rest read, and turns a kind of reminder off."""

from __future__ import annotations

import re

from conftest import DEMO_PASSWORD, log_in
from playwright.sync_api import expect


def _reminders_for(server, username: str) -> int:
    """Run the overdue and digest jobs; how many unread notifications the user has."""
    from sqlalchemy import func, select

    from app.database import db
    from app.jobs import BY_ID, runner
    from app.models import CrmUser, Notification, utcnow

    with server.app.app_context():
        for job_id in ("reminders_overdue", "reminders_digest"):
            runner.run(BY_ID[job_id], utcnow(), "manual")
        user_id = db.session.execute(
            select(CrmUser.id).where(CrmUser.username == username)).scalar()
        count = db.session.execute(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None))).scalar()
        db.session.remove()
    return count


def _bell_count(page):
    return page.locator("li.crm-bell .crm-bell-count")


def test_a_manager_reads_their_reminders_from_the_bell(page, demo_company, shot):
    unread = _reminders_for(demo_company, "manager1")
    assert unread >= 3, "the demo company gives manager1 overdue work and a digest"
    log_in(page, "manager1", DEMO_PASSWORD)
    expect(_bell_count(page)).to_have_text(str(unread))
    shot("bell")

    page.locator("li.crm-bell a").click()
    page.wait_for_url(re.compile(r"/notifications/"))
    items = page.locator(".crm-notification.crm-unread")
    expect(items).to_have_count(unread)
    expect(page.locator(".crm-notification-title").first).not_to_be_empty()
    shot("list")

    items.first.locator(".crm-notification-read button").click()
    expect(_bell_count(page)).to_have_text(str(unread - 1))
    expect(page.locator(".crm-notification.crm-unread")).to_have_count(unread - 1)

    overdue = page.locator(".crm-notification.crm-kind-overdue .crm-notification-title").first
    with page.expect_navigation():
        overdue.click()
    assert re.search(r"/interactionview/show/\d+$", page.url), page.url
    expect(_bell_count(page)).to_have_text(str(unread - 2))

    page.goto("/notifications/")
    with page.expect_navigation():
        page.locator("form[action$='/notifications/read_all'] button").click()
    expect(_bell_count(page)).to_be_hidden()
    expect(page.locator(".crm-empty")).to_be_visible()
    page.locator(".crm-notification-tabs a", has_text=re.compile("Все|All")).click()
    expect(page.locator(".crm-notification")).to_have_count(unread)
    shot("all-read")
    assert not page.js_errors, page.js_errors


def test_a_manager_turns_a_kind_of_reminder_off(page, demo_company, shot):
    from sqlalchemy import select

    from app.database import db
    from app.models import CrmUser, NotificationSetting

    log_in(page, "manager2", DEMO_PASSWORD)
    page.locator(".navbar-right .dropdown-toggle").last.click()
    page.locator(".navbar-right a[href$='/notifications/settings']").click()
    page.wait_for_url(re.compile(r"/notifications/settings"))
    page.locator("input[name=kind_birthday]").uncheck()
    page.locator("input[name=delivery][value=instant]").check()
    shot("settings")
    with page.expect_navigation():
        page.locator(".crm-notification-settings button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("input[name=kind_birthday]")).not_to_be_checked()
    with demo_company.app.app_context():
        user_id = db.session.execute(
            select(CrmUser.id).where(CrmUser.username == "manager2")).scalar()
        row = db.session.get(NotificationSetting, user_id)
        assert (row.disabled, row.delivery) == (["birthday"], "instant")
        db.session.remove()
    assert not page.js_errors, page.js_errors
