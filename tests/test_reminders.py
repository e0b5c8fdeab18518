"""The reminder jobs (app.services.reminders) on a fixed company at a frozen clock: exactly
which notifications each user gets, never twice, through the access filter as that user,
in the company's time zone (Europe/Moscow, UTC+3)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from sqlalchemy import select, update

from app.models import (
    Client,
    Contact,
    Inquiry,
    Interaction,
    Interest,
    Notification,
    RoleRight,
    Stage,
)
from app.services import notifications, reminders

# Friday 4 December 2026, 12:00 in Moscow.
NOW = dt.datetime(2026, 12, 4, 9, 0)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW.replace(tzinfo=dt.timezone.utc), tick=False):
        yield NOW


def client_of(dbx, name="ООО «Ромашка»", owner="manager", **values) -> int:
    with dbx.session() as s:
        client = Client(name=name, kind=values.pop("kind", "company"),
                        responsible_id=dbx.user_id(owner), **values)
        s.add(client)
        s.commit()
        return client.id


def interaction(dbx, owner: str, planned_at: dt.datetime, subject="Звонок", status="planned",
                client_id=None, interest_id=None) -> int:
    with dbx.session() as s:
        row = Interaction(subject=subject, planned_at=planned_at, status=status,
                          responsible_id=dbx.user_id(owner), client_id=client_id,
                          interest_id=interest_id)
        s.add(row)
        s.commit()
        return row.id


def made(dbx, kind=None) -> set[tuple]:
    """(kind, entity, record, user, day) of every notification."""
    from app.models import CrmUser

    with dbx.session() as s:
        names = dict(s.execute(select(CrmUser.id, CrmUser.username)).all())
        query = select(Notification)
        if kind:
            query = query.where(Notification.kind == kind)
        return {(n.kind, n.entity, n.record_id, names[n.user_id], n.day)
                for n in s.execute(query).scalars()}


def run(app, work, now=NOW) -> int:
    from app.database import db

    with app.app_context():
        try:
            return work(now)
        finally:
            db.session.remove()


def test_overdue_to_the_responsible_once_and_the_head_once_a_day(app, dbx, frozen):
    client = client_of(dbx)
    late = interaction(dbx, "manager", NOW - dt.timedelta(hours=1), "Перезвонить",
                       client_id=client)
    old = interaction(dbx, "manager", NOW - dt.timedelta(days=10), "Давний звонок")
    interaction(dbx, "manager", NOW + dt.timedelta(hours=2), "Позже сегодня")
    interaction(dbx, "manager", NOW - dt.timedelta(hours=3), "Сделано", status="done")
    other = interaction(dbx, "manager_b", NOW - dt.timedelta(minutes=5), "Регион")

    assert run(app, reminders.overdue) == 3
    assert made(dbx) == {
        ("overdue", "interaction", late, "manager", dt.date(2026, 12, 4)),
        ("overdue", "interaction", other, "manager_b", dt.date(2026, 12, 4)),
        # The head of Sales hears of the whole subtree's overdue work, the old call too;
        # Regions has no head, and is not under Sales.
        ("overdue_team", "department", dept_id(dbx, "Sales"), "supervisor",
         dt.date(2026, 12, 4)),
    }
    assert old not in {record for _k, _e, record, _u, _d in made(dbx)}
    with dbx.session() as s:
        team = s.execute(select(Notification).where(Notification.kind == "overdue_team")).scalar()
        assert team.payload["total"] == 2
        assert team.payload["managers"] == [["Manager Test", 2]]
        note = s.execute(select(Notification).where(Notification.record_id == late)).scalar()
        assert note.payload["client"] == "ООО «Ромашка»"

    assert run(app, reminders.overdue) == 0                         # never twice
    later = NOW + dt.timedelta(hours=5)
    assert run(app, reminders.overdue, later) == 1                  # the 14:00 call is late now
    assert len(made(dbx, "overdue_team")) == 1                      # the head: once a day


def dept_id(dbx, name: str) -> int:
    from app.models import Department

    return dbx.scalar(select(Department.id).where(Department.name == name))


def test_in_two_threads_at_once_each_reminder_is_made_once(app, dbx, frozen):
    for hours in range(1, 21):
        interaction(dbx, "manager", NOW - dt.timedelta(hours=hours))
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def work():
        barrier.wait()
        counts.append(run(app, reminders.overdue))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert dbx.count(Notification, Notification.kind == "overdue") == 20
    assert sum(counts) == 21        # 20 notices and the head's summary, whichever thread


def test_overdue_day_and_today_are_the_company_s_around_midnight(app, dbx):
    # 00:30 in Moscow on Saturday 5 December is 21:30 UTC on Friday 4 December.
    just_after_midnight = dt.datetime(2026, 12, 4, 21, 30)
    before = interaction(dbx, "manager", dt.datetime(2026, 12, 4, 20, 50))  # 23:50 local
    after = interaction(dbx, "manager", dt.datetime(2026, 12, 4, 21, 45))   # 00:45 local
    with time_machine.travel(just_after_midnight.replace(tzinfo=dt.timezone.utc), tick=False):
        run(app, reminders.overdue, just_after_midnight)
        run(app, reminders.digest, just_after_midnight)
    assert ("overdue", "interaction", before, "manager", dt.date(2026, 12, 4)) in made(dbx)
    with dbx.session() as s:
        digest = s.execute(select(Notification).where(Notification.kind == "digest")).scalar()
    assert digest.day == dt.date(2026, 12, 5)
    assert [item["id"] for item in digest.payload["today"]] == [after]
    assert digest.payload["overdue_count"] == 1


def test_digest_lists_today_and_counts_overdue_for_users_with_work(app, dbx, frozen):
    today = [interaction(dbx, "manager", NOW + dt.timedelta(hours=h), f"Дело {h}")
             for h in (3, 1)]
    interaction(dbx, "manager", NOW - dt.timedelta(days=2))
    interaction(dbx, "manager", NOW + dt.timedelta(days=1))         # tomorrow: not today
    assert run(app, reminders.digest) == 1
    with dbx.session() as s:
        digest = s.execute(select(Notification)).scalar()
    assert (digest.user_id, digest.day) == (dbx.user_id("manager"), dt.date(2026, 12, 4))
    assert [item["id"] for item in digest.payload["today"]] == today[::-1]
    assert (digest.payload["today_count"], digest.payload["overdue_count"]) == (2, 1)
    assert run(app, reminders.digest) == 0


def test_open_interests_without_a_plan(app, dbx, frozen):
    from tests.factories import INTEREST

    planned = INTEREST.create(dbx, n=1)
    broken = INTEREST.create(dbx, n=2)
    closed = INTEREST.create(dbx, n=3)
    for interest in (planned, broken, closed):
        interaction(dbx, "manager", NOW + dt.timedelta(days=1), interest_id=interest)
    with dbx.session() as s:
        # R1 broken behind the application's back (an import, a repair).
        s.execute(update(Interaction).where(Interaction.interest_id.in_([broken, closed]))
                  .values(status="done"))
        lost = s.execute(select(Stage.id).where(Stage.kind == "lost")).scalars().first()
        s.execute(update(Interest).where(Interest.id == closed)
                  .values(stage_id=lost, closed_at=NOW))
        owner = s.get(Interest, broken).responsible_id
        s.commit()
    assert run(app, reminders.no_plan) == 1
    (note,) = made(dbx)
    assert note[:3] == ("no_plan", "interest", broken)
    assert note[3] == {v: k for k, v in usernames(dbx).items()}[owner]
    assert planned not in {n[2] for n in made(dbx)}
    assert run(app, reminders.no_plan) == 0
    tomorrow = NOW + dt.timedelta(days=1)
    assert run(app, reminders.no_plan, tomorrow) == 1               # daily while it lasts


def usernames(dbx) -> dict[str, int]:
    from app.models import CrmUser

    with dbx.session() as s:
        return dict(s.execute(select(CrmUser.username, CrmUser.id)).all())


def contact(dbx, client_id: int, name: str, birthday: dt.date, owner=None) -> int:
    with dbx.session() as s:
        row = Contact(client_id=client_id, name=name, birthday=birthday,
                      responsible_id=dbx.user_id(owner) if owner else None)
        s.add(row)
        s.commit()
        return row.id


def test_birthdays_ahead_across_the_year_end(app, dbx):
    client = client_of(dbx)
    new_year = contact(dbx, client, "Январский", dt.date(1980, 1, 1))          # the client's owner
    eve = contact(dbx, client, "Канун", dt.date(1975, 12, 31), owner="manager_b")
    passed = contact(dbx, client, "Прошедший", dt.date(1990, 12, 29))
    far = contact(dbx, client, "Нескоро", dt.date(1990, 1, 5))
    person = client_of(dbx, "Иван Петров", kind="person", birthday=dt.date(1970, 1, 2))
    moment = dt.datetime(2026, 12, 30, 6, 0)
    with time_machine.travel(moment.replace(tzinfo=dt.timezone.utc), tick=False):
        run(app, reminders.birthdays, moment)                        # 3 days ahead: to 2 Jan
        assert run(app, reminders.birthdays, moment) == 0
    assert made(dbx) == {
        ("birthday", "contact", new_year, "manager", dt.date(2027, 1, 1)),
        ("birthday", "contact", eve, "manager_b", dt.date(2026, 12, 31)),
        ("birthday", "client", person, "manager", dt.date(2027, 1, 2)),
    }
    assert not {passed, far} & {n[2] for n in made(dbx)}


@pytest.mark.parametrize("today,ahead,expected", [
    (dt.date(2027, 2, 27), 1, dt.date(2027, 2, 28)),   # no 29th in 2027: the 28th
    (dt.date(2027, 2, 28), 0, dt.date(2027, 2, 28)),
    (dt.date(2028, 2, 28), 0, None),                    # 2028 has its 29th
    (dt.date(2028, 2, 28), 1, dt.date(2028, 2, 29)),
])
def test_birthdays_on_29_february(app, dbx, today, ahead, expected):
    client = client_of(dbx)
    leap = contact(dbx, client, "Високосный", dt.date(1996, 2, 29))
    moment = dt.datetime.combine(today, dt.time(6, 0))
    set_setting(dbx, "birthday_days_ahead", ahead)
    with time_machine.travel(moment.replace(tzinfo=dt.timezone.utc), tick=False):
        run(app, reminders.birthdays, moment)
    days = {n[4] for n in made(dbx) if n[2] == leap}
    assert days == ({expected} if expected else set())


def set_setting(dbx, key: str, value: int) -> None:
    from app.models import Setting

    with dbx.session() as s:
        s.merge(Setting(key=key, value=value))
        s.commit()


def inquiry(dbx, received: dt.datetime, manager=None, status="new", sender="ООО «Клён»") -> int:
    with dbx.session() as s:
        row = Inquiry(channel="call", sender_company=sender, received_at=received,
                      status=status, manager_id=dbx.user_id(manager) if manager else None)
        s.add(row)
        s.commit()
        return row.id


def test_stale_inquiries_to_the_manager_and_their_head(app, dbx, frozen):
    set_setting(dbx, "inquiry_stale_hours", 4)
    mine = inquiry(dbx, NOW - dt.timedelta(hours=5), "manager")
    regional = inquiry(dbx, NOW - dt.timedelta(hours=6), "manager_b")
    nobody = inquiry(dbx, NOW - dt.timedelta(hours=9))
    inquiry(dbx, NOW - dt.timedelta(hours=2), "manager")                   # not yet
    inquiry(dbx, NOW - dt.timedelta(hours=8), "manager", status="processed")
    run(app, reminders.stale_inquiries)
    day = dt.date(2026, 12, 4)
    assert made(dbx) == {
        ("stale_inquiry", "inquiry", mine, "manager", day),
        ("stale_inquiry", "inquiry", mine, "supervisor", day),     # the head of Sales
        ("stale_inquiry", "inquiry", regional, "manager_b", day),  # Regions has no head
        # Unassigned: to whoever reads every inquiry (the head of Sales may not read it).
        ("stale_inquiry", "inquiry", nobody, "admin", day),
    }
    assert run(app, reminders.stale_inquiries) == 0


def test_a_kind_turned_off_is_not_made(app, dbx, frozen):
    interaction(dbx, "manager", NOW - dt.timedelta(hours=1))
    with dbx.acting("manager"):
        notifications.change_preferences(["overdue"], "instant")
    run(app, reminders.overdue)
    assert {n[3] for n in made(dbx, "overdue")} == set()
    assert len(made(dbx, "overdue_team")) == 1


def test_reminders_read_through_the_access_filter_as_the_user(app, dbx, frozen):
    """Without the right to read interactions a manager hears of none, even their own."""
    from flask_appbuilder.security.sqla.models import Role

    interaction(dbx, "manager", NOW - dt.timedelta(hours=1))
    with dbx.session() as s:
        manager_role = s.execute(select(Role.id).where(Role.name == "Manager")).scalar()
        s.execute(update(RoleRight).where(RoleRight.role_id == manager_role,
                                          RoleRight.entity == "interaction",
                                          RoleRight.action == "read").values(scope=0))
        s.commit()
    run(app, reminders.overdue)
    assert made(dbx, "overdue") == set()
    assert len(made(dbx, "overdue_team")) == 1                     # the head still may
