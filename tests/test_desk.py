"""The manager's desk, the start page (app.services.desk, app.screens.home): overdue and
today's work with "Done" in place, new inquiries with "Process", my open interests by stage
with count and sum, unread reminders; for a head each manager of the subtree in a row; all
through the access filter, in a number of statements that does not grow with the work."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from helpers import text_of
from sqlalchemy import select
from test_my_tasks import NOW, in_two_days, work_at

from app.models import CrmUser, Inquiry, Interaction, Interest, Notification
from app.services import desk


@pytest.fixture
def frozen():
    with time_machine.travel(NOW.replace(tzinfo=dt.timezone.utc), tick=False):
        yield NOW


def more_of_the_company(dbx, ids, now):
    """An inquiry for the manager and one for manager_b, a second interest with an amount,
    a reminder of the manager's."""
    with dbx.session() as s:
        interest = s.get(Interest, ids["interest"])
        interest.amount = Decimal("1000")
        s.add(Interest(title="Сервис", pipeline_id=interest.pipeline_id,
                       stage_id=interest.stage_id, client_id=ids["client"],
                       responsible_id=ids["manager"], amount=Decimal("250.50")))
        s.add_all([Inquiry(sender_name="Пётр", sender_company="ООО Новый", status="new",
                           manager_id=ids["manager"], received_at=now),
                   Inquiry(sender_name="Олег", status="new", manager_id=ids["other"],
                           received_at=now),
                   Notification(user_id=ids["manager"], kind="no_plan", entity="interest",
                                record_id=ids["interest"], day=now.date(),
                                payload={"title": "Поставка"}, created_at=now)])
        s.commit()


def test_my_desk(dbx, frozen):
    ids = work_at(dbx, NOW)
    more_of_the_company(dbx, ids, NOW)
    with dbx.acting("manager"):
        mine = desk.desk(ids["manager"])
        assert [i.subject for i in mine.overdue] == ["Презентация"]
        assert [i.subject for i in mine.today] == ["Перезвонить"]
        assert mine.last_plans == {ids["last_plan"]}
        assert [i.sender_name for i in mine.inquiries] == ["Пётр"]   # not manager_b's
        assert mine.new_inquiries == 1
        assert [(s.count, s.amount) for s in mine.stages] == [(2, Decimal("1250.50"))]
        assert (mine.open_interests, mine.amount) == (2, Decimal("1250.50"))
        assert mine.unread == 1 and len(mine.reminders) == 1
        assert mine.team == []                                       # not a head


def test_a_heads_desk_has_a_row_per_manager_of_the_subtree(dbx, frozen):
    ids = work_at(dbx, NOW)
    more_of_the_company(dbx, ids, NOW)
    with dbx.acting("supervisor"):
        head = desk.desk(ids["supervisor"])
        rows = {row.name: row for row in head.team}
        # Sales: the supervisor and the manager; manager_b works in Regions.
        assert set(rows) == {"Manager Test", "Supervisor Test"}
        manager = rows["Manager Test"]
        assert (manager.overdue, manager.today, manager.done_today, manager.open_interests,
                manager.amount, manager.new_inquiries) == (1, 1, 0, 2, Decimal("1250.50"), 1)
        total = desk.team_total(head.team)
        assert total.open_interests == 2


def test_the_heads_desk_takes_the_same_statements_for_many_managers(
        app, dbx, frozen, count_queries):
    ids = work_at(dbx, NOW)

    def statements() -> int:
        with dbx.acting("supervisor"):
            desk.desk(ids["supervisor"])                    # rights read and cached
            with count_queries() as counter:
                desk.desk(ids["supervisor"])
            return counter.count

    few = statements()
    sales = dbx.scalar(select(CrmUser.department_id).where(CrmUser.username == "manager"))
    with dbx.session() as s:
        for n in range(30):
            user = CrmUser(username=f"m{n}", first_name=f"M{n}", last_name="Test",
                           email=f"m{n}@test.local", active=True, department_id=sales)
            s.add(user)
            s.flush()
            s.add(Interaction(subject=f"Звонок {n}", responsible_id=user.id,
                              planned_at=NOW - dt.timedelta(hours=1)))
        s.commit()
    many = statements()
    assert many == few, (few, many)
    assert many <= 16


def test_the_start_page_is_the_desk(dbx, manager_client, supervisor_client):
    ids = work_at(dbx, dt.datetime.utcnow().replace(microsecond=0))
    more_of_the_company(dbx, ids, dt.datetime.utcnow())
    body = text_of(manager_client.get("/"))
    assert "Презентация" in body
    assert "/inquiryview/process/" in body                        # "Process" on an inquiry
    reminders = body[body.index("crm-desk-reminders"):]
    assert "Поставка" in reminders                                 # the unread reminder
    assert "crm-team-row" not in body
    head = text_of(supervisor_client.get("/"))
    assert head.count("crm-team-row") == 2


def test_done_in_place_on_the_desk_comes_back_to_the_desk(dbx, manager_client):
    ids = work_at(dbx, dt.datetime.utcnow().replace(microsecond=0))
    typed, when = in_two_days()
    response = manager_client.post(f"/my_tasks/complete/{ids['last_plan']}", data={
        "result": "Показали", "back": "desk", "next_subject": "Договор",
        "next_planned_at": typed})
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert dbx.get(Interaction, ids["last_plan"]).status == "done"
