"""Hand over work in a real browser: the administrator chooses whose work (the page shows it
at once), sees the counts, ticks what goes, chooses to whom, confirms the dialog, and the
page says what moved; the records are the receiver's."""

from __future__ import annotations

import datetime as dt
import uuid

from helpers import as_admin
from playwright.sync_api import expect


def _two_employees(server, tag: str) -> dict:
    """A leaving manager with an interest (and its plan), a task and a client; a newcomer."""
    from sqlalchemy import select

    from app.database import db
    from app.models import Client, CrmUser, Interaction, Interest
    from app.services import commands, sales
    from app.services.clock import utcnow

    with as_admin(server.app) as pipeline:
        sm = server.app.appbuilder.sm
        role = sm.find_role("Manager")
        ids = {}
        for key, first in (("leaving", "Уходящий"), ("newcomer", "Новичок")):
            user = sm.add_user(username=f"{key}-{tag}", first_name=first, last_name=tag,
                               email=f"{key}-{tag}@test.local", role=role,
                               password="Handover-Pass-1")
            ids[key] = user.id
        leaving = db.session.execute(
            select(CrmUser).where(CrmUser.id == ids["leaving"])).scalar_one()
        soon = utcnow() + dt.timedelta(days=1)
        client = commands.create(Client(kind="company", name=f"ООО Передача {tag}",
                                        responsible=leaving))
        interest = sales.create_interest(
            Interest(title=f"Сделка {tag}", pipeline=pipeline,
                     stage=[s for s in pipeline.stages if s.kind == "open"][0],
                     client=client, amount=1000, responsible=leaving),
            sales.Plan("Звонок", soon))
        task = commands.create(Interaction(subject=f"Задача {tag}", planned_at=soon,
                                           responsible=leaving))
        ids.update(client=client.id, interest=interest.id, task=task.id)
        return ids


def _responsible(server, model_name: str, pk: int) -> int:
    from sqlalchemy import select

    from app import models
    from app.database import db

    model = getattr(models, model_name)
    with server.app.app_context():
        try:
            return db.session.execute(
                select(model.responsible_id).where(model.id == pk)).scalar()
        finally:
            db.session.remove()


def test_the_work_of_a_leaving_manager_is_handed_to_a_newcomer(logged_in, live_server, shot):
    page = logged_in
    ids = _two_employees(live_server, uuid.uuid4().hex[:6])
    page.goto("/handover/")
    with page.expect_navigation():
        page.select_option("#crm-handover-from", str(ids["leaving"]))
    kinds = page.locator(".crm-handover-kind")
    expect(kinds.locator(".badge")).to_have_text(["2", "1", "0", "1"])
    expect(page.locator("input[value=clients]")).not_to_be_checked()
    page.check("input[value=clients]")
    page.select_option("#crm-handover-to", str(ids["newcomer"]))
    shot("chosen")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator(".crm-handover-form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    shot("handed")
    for model, key in (("Interest", "interest"), ("Interaction", "task"), ("Client", "client")):
        assert _responsible(live_server, model, ids[key]) == ids["newcomer"], key
    # Nothing is left to hand over.
    expect(kinds.locator(".badge")).to_have_text(["0", "0", "0", "0"])


def test_a_dismissed_confirmation_hands_nothing_over(logged_in, live_server):
    page = logged_in
    ids = _two_employees(live_server, uuid.uuid4().hex[:6])
    page.goto(f"/handover/?from_user={ids['leaving']}")
    page.select_option("#crm-handover-to", str(ids["newcomer"]))
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator(".crm-handover-form button[type=submit]").click()
    page.wait_for_timeout(300)
    assert _responsible(live_server, "Interaction", ids["task"]) == ids["leaving"]
