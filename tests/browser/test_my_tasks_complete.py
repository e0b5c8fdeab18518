""""My tasks" in a real browser: the last plan of an open interest is completed in place,
its dialog asks for the next plan (R1), and the database has the result, the time spent and
the new plan."""

from __future__ import annotations

import datetime as dt
import uuid

from helpers import as_admin
from playwright.sync_api import expect


def _interest_with_one_plan(server, tag: str) -> tuple[int, int]:
    from app.models import Interest
    from app.services import sales
    from app.services.actor import current_user
    from app.services.clock import utcnow

    with as_admin(server.app):
        interest = sales.create_interest(
            Interest(title=f"Поставка {tag}", potential_name=f"Пётр {tag}",
                     responsible=current_user()),
            sales.Plan(subject=f"Звонок {tag}", planned_at=utcnow() - dt.timedelta(hours=1)))
        (plan,) = [i for i in interest.interactions if i.status == "planned"]
        return interest.id, plan.id


def _interactions(server, interest_id: int) -> list:
    from sqlalchemy import select

    from app.database import db
    from app.models import Interaction

    with server.app.app_context():
        try:
            return [(i.subject, i.status, i.result, i.spent_minutes) for i in db.session.execute(
                select(Interaction).where(Interaction.interest_id == interest_id)
                .order_by(Interaction.id)).scalars()]
        finally:
            db.session.remove()


def test_complete_the_last_plan_with_the_next_from_my_tasks(logged_in, live_server, shot):
    tag = uuid.uuid4().hex[:6]
    interest_id, plan_id = _interest_with_one_plan(live_server, tag)
    page = logged_in
    page.goto("/my_tasks/")
    item = page.locator(f"#task-{plan_id}")
    expect(item).to_be_visible()
    # The menu's badge: at least this overdue call.
    expect(page.locator(".navbar .crm-menu-overdue")).to_have_count(1)
    item.locator("summary").click()
    form = item.locator("form.crm-done-form")
    expect(form.locator("legend")).to_contain_text(f"Поставка {tag}")
    form.locator("textarea[name=result]").fill("Договорились о встрече")
    form.locator("input[name=spent_minutes]").fill("25")
    form.locator("input[name=next_subject]").fill(f"Встреча {tag}")
    shot("my-tasks-done-dialog")
    form.locator("button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    assert _interactions(live_server, interest_id) == [
        (f"Звонок {tag}", "done", "Договорились о встрече", 25),
        (f"Встреча {tag}", "planned", None, None)]
