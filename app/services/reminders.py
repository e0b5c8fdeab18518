"""What the reminder jobs find (app.jobs): each function makes one kind of notification
for every user it concerns and answers how many it made.

Each job first reads its candidates for every user at once, leaving out the reminders
already made (one statement, what raw SQL would read), then keeps of each user's
candidates those the access filter gives that user (a manager who can no longer see a
client hears nothing of it), and makes each user's reminders in a transaction of their
own: a run cut short leaves whole users done, and the next run does the rest, since a
reminder already made is never made again (app.services.notifications). A run that finds
nothing new costs its one read.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Iterable, Optional

from sqlalchemy import and_, exists, func, select

from app.database import db
from app.models import (
    Client,
    Contact,
    CrmUser,
    Department,
    Inquiry,
    Interaction,
    Interest,
    Notification,
    Stage,
)
from app.rules.validation import birthday_key
from app.services import access, company_settings, mail, notifications
from app.services.actor import acting_as
from app.services.clock import local_day_bounds_utc, to_local
from app.services.principals import ALL, principal, subtree

# An interaction that became overdue longer ago than this is left to the digest and the
# head's summary: after a long pause the bell does not fill with old news.
OVERDUE_LOOKBACK = dt.timedelta(days=7)
# How many of today's items the digest lists by name.
DIGEST_ITEMS = 20
# Stale inquiries whose reminders (to every person told of each) one transaction makes.
INQUIRIES_PER_TRANSACTION = 500


def _active_users() -> list[int]:
    return list(db.session.execute(
        select(CrmUser.id).where(CrmUser.active.is_(True)).order_by(CrmUser.id)).scalars())


def _not_made(kind: str, entity: str, record_column, user_column=None, day=None):
    """No notification of this kind about the row exists yet (for that user, that day)."""
    made = select(Notification.id).where(
        Notification.kind == kind, Notification.entity == entity,
        Notification.record_id == record_column)
    if user_column is not None:
        made = made.where(Notification.user_id == user_column)
    if day is not None:
        made = made.where(Notification.day == day)
    return ~exists(made)


# Ids per statement when the access filter is asked about candidates (SQLite's limit of
# bound values is far above).
_CHUNK = 5000


def _readable(model, ids) -> set[int]:
    """Of these records of `model`, those the acting user may read."""
    ids = sorted(set(ids))
    found: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        found.update(db.session.execute(access.readable(model, model.id).where(
            model.id.in_(ids[start:start + _CHUNK]))).scalars())
    return found


def _by_user(rows, user_of) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        user_id = user_of(row)
        if user_id is not None:
            grouped.setdefault(user_id, []).append(row)
    return grouped


def _for_candidates(kind: str, model, candidates: dict[int, list], make) -> int:
    """Each active user's candidates (records of `model`, whose id is a row's first
    value) that the access filter gives them, as notifications (`make(user_id, row)`), one
    transaction per user. Answers how many were made."""
    active = set(_active_users())
    users = sorted(user for user in candidates if user in active)

    def rows_of(user_id: int) -> list[dict]:
        mine = candidates[user_id]
        readable = _readable(model, [row[0] for row in mine])
        return [make(user_id, row) for row in mine if row[0] in readable]

    return _for_users(kind, users, rows_of)


def _for_users(kind: str, users: Iterable[int], rows_of) -> int:
    """For each user who has not turned `kind` off: their rows (`rows_of(user_id)`, read
    acting as them), made in one transaction. Answers how many notifications were made."""
    users = list(users)
    off = notifications.disabled_kinds(users)
    made = 0
    for user_id in users:
        if kind in off.get(user_id, ()):
            continue
        with acting_as(user_id):
            rows = rows_of(user_id)
        if rows:
            made += len(notifications.add(rows))
    return made


# --- Overdue ------------------------------------------------------------------------------


def overdue(now: dt.datetime) -> int:
    """Interactions and tasks that became overdue: to their responsible, each once; and
    once a day to each head of department, the overdue work of the subtree by manager."""
    since = now - OVERDUE_LOOKBACK
    found = db.session.execute(
        select(Interaction.id, Interaction.responsible_id, Interaction.subject,
               Interaction.planned_at, Client.name)
        .outerjoin(Client, Client.id == Interaction.client_id)
        .where(Interaction.status == "planned", Interaction.planned_at >= since,
               Interaction.planned_at < now, Interaction.responsible_id.is_not(None),
               _not_made("overdue", "interaction", Interaction.id,
                         Interaction.responsible_id))).all()

    def make(user_id: int, row) -> dict:
        return {"user_id": user_id, "kind": "overdue", "entity": "interaction",
                "record_id": row.id, "day": to_local(row.planned_at).date(),
                "payload": {"subject": row.subject, "planned_at": row.planned_at.isoformat(),
                            "client": row.name}}

    made = _for_candidates("overdue", Interaction,
                           _by_user(found, lambda row: row.responsible_id), make)
    made += _overdue_for_givers(now, since)
    made += _overdue_for_heads(now, set(_active_users()))
    mail.send_at_once(now)
    return made


def _overdue_for_givers(now: dt.datetime, since: dt.datetime) -> int:
    """Tasks given to a colleague that became overdue: to who gave each, once."""
    found = db.session.execute(
        select(Interaction.id, Interaction.given_by_id, Interaction.subject,
               Interaction.planned_at,
               func.coalesce(CrmUser.first_name, "") + " " +
               func.coalesce(CrmUser.last_name, ""))
        .outerjoin(CrmUser, CrmUser.id == Interaction.responsible_id)
        .where(Interaction.status == "planned", Interaction.planned_at >= since,
               Interaction.planned_at < now, Interaction.given_by_id.is_not(None),
               Interaction.given_by_id != Interaction.responsible_id,
               _not_made("given_overdue", "interaction", Interaction.id,
                         Interaction.given_by_id))).all()

    def make(user_id: int, row) -> dict:
        return {"user_id": user_id, "kind": "given_overdue", "entity": "interaction",
                "record_id": row.id, "day": to_local(row.planned_at).date(),
                "payload": {"subject": row.subject, "planned_at": row.planned_at.isoformat(),
                            "responsible": (row[4] or "").strip()}}

    return _for_candidates("given_overdue", Interaction,
                           _by_user(found, lambda row: row.given_by_id), make)


def _overdue_for_heads(now: dt.datetime, active: set[int]) -> int:
    today = to_local(now).date()
    departments = db.session.execute(
        select(Department.id, Department.name, Department.head_id)
        .where(Department.head_id.is_not(None)).order_by(Department.id)).all()
    made = 0
    for department_id, name, head_id in departments:
        if head_id not in active:
            continue

        def rows_of(user_id: int, department_id=department_id, name=name) -> list[dict]:
            if not _not_made_yet("overdue_team", "department", department_id, user_id, today):
                return []
            members = select(CrmUser.id).where(
                CrmUser.department_id.in_(sorted(subtree(department_id))))
            counts = db.session.execute(
                access.readable(Interaction, Interaction.responsible_id, func.count())
                .where(Interaction.status == "planned", Interaction.planned_at < now,
                       Interaction.responsible_id.in_(members))
                .group_by(Interaction.responsible_id)).all()
            if not counts:
                return []
            names = dict(db.session.execute(
                select(CrmUser.id, CrmUser.first_name + " " + CrmUser.last_name)
                .where(CrmUser.id.in_([user for user, _n in counts]))).all())
            managers = sorted(([names.get(user, "").strip(), n] for user, n in counts),
                              key=lambda pair: (-pair[1], pair[0]))
            return [{"user_id": user_id, "kind": "overdue_team", "entity": "department",
                     "record_id": department_id, "day": today,
                     "payload": {"department": name, "total": sum(n for _u, n in counts),
                                 "managers": managers}}]

        made += _for_users("overdue_team", [head_id], rows_of)
    return made


def _not_made_yet(kind: str, entity: str, record_id: int, user_id: int, day) -> bool:
    return db.session.execute(select(Notification.id).where(
        Notification.kind == kind, Notification.entity == entity,
        Notification.record_id == record_id, Notification.user_id == user_id,
        Notification.day == day)).first() is None


# --- The morning digest -------------------------------------------------------------------


def digest(now: dt.datetime) -> int:
    """Each user's interactions and tasks of the day, and how many are overdue; to users
    who have any. E-mailed to everyone who has not turned the digest off."""
    today = to_local(now).date()
    start, end = local_day_bounds_utc(today)

    def rows_of(user_id: int) -> list[dict]:
        if not _not_made_yet("digest", "user", user_id, user_id, today):
            return []
        mine = and_(Interaction.responsible_id == user_id, Interaction.status == "planned")
        items = db.session.execute(
            access.readable(Interaction, Interaction.id, Interaction.subject,
                            Interaction.planned_at, Client.name)
            .outerjoin(Client, Client.id == Interaction.client_id)
            .where(mine, Interaction.planned_at >= start, Interaction.planned_at < end)
            .order_by(Interaction.planned_at, Interaction.id)).all()
        overdue_count = db.session.execute(
            access.readable(Interaction, func.count())
            .where(mine, Interaction.planned_at < start)).scalar()
        if not items and not overdue_count:
            return []
        return [{"user_id": user_id, "kind": "digest", "entity": "user", "record_id": user_id,
                 "day": today,
                 "payload": {"today_count": len(items), "overdue_count": overdue_count,
                             "today": [{"id": row.id, "subject": row.subject,
                                        "planned_at": row.planned_at.isoformat(),
                                        "client": row.name}
                                       for row in items[:DIGEST_ITEMS]]}}]

    made = _for_users("digest", _active_users(), rows_of)
    mail.send_digests(today, now)
    return made


# --- Interests without a plan (R1 broken) --------------------------------------------------


def no_plan(now: dt.datetime) -> int:
    """Open interests with no planned interaction or task, to their responsible, once a
    day while it lasts. Read from the interactions themselves, not from the interest's
    kept next date, which a repair or an import may have left wrong."""
    today = to_local(now).date()
    planned = exists(select(Interaction.id).where(Interaction.interest_id == Interest.id,
                                                  Interaction.status == "planned"))
    found = db.session.execute(
        select(Interest.id, Interest.responsible_id, Interest.title, Client.name,
               Interest.potential_company, Interest.potential_name)
        .outerjoin(Client, Client.id == Interest.client_id)
        .where(Interest.closed_at.is_(None),
               Interest.stage_id.in_(select(Stage.id).where(Stage.kind == "open")), ~planned,
               _not_made("no_plan", "interest", Interest.id, Interest.responsible_id,
                         today))).all()

    def make(user_id: int, row) -> dict:
        return {"user_id": user_id, "kind": "no_plan", "entity": "interest",
                "record_id": row.id, "day": today,
                "payload": {"title": row.title,
                            "client": row.name or row.potential_company or row.potential_name}}

    return _for_candidates("no_plan", Interest,
                           _by_user(found, lambda row: row.responsible_id), make)


# --- Birthdays ----------------------------------------------------------------------------


def birthday_days(today: dt.date, ahead: int) -> dict[int, dt.date]:
    """Birthday key -> the day it is celebrated, for today and the `ahead` days after it;
    29 February falls on 28 February in a year without it."""
    days: dict[int, dt.date] = {}
    for offset in range(ahead + 1):
        day = today + dt.timedelta(days=offset)
        days.setdefault(birthday_key(day), day)
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            days.setdefault(229, day)
    return days


def birthdays(now: dt.datetime) -> int:
    """Birthdays of contacts and of clients who are persons, in the coming days (the
    setting), to the responsible (a contact without one: its client's), once a year."""
    today = to_local(now).date()
    days = birthday_days(today, company_settings.value("birthday_days_ahead"))
    keys = sorted(days)
    # The birthdays of those days, by their owner (one read of the birthday index); then
    # each owner's, through the access filter as that owner.
    contact_owner = func.coalesce(Contact.responsible_id, Client.responsible_id)

    def announced(entity: str, record_id):
        """Announced already for this year's day (its day is not past yet)."""
        return exists(select(Notification.id).where(
            Notification.kind == "birthday", Notification.entity == entity,
            Notification.record_id == record_id, Notification.day >= today))

    candidates: dict[int, list[tuple]] = {}
    for row in db.session.execute(
            select(Contact.id, Contact.name, Contact.birthday_key, Client.name, contact_owner)
            .join(Client, Client.id == Contact.client_id)
            .where(Contact.birthday_key.in_(keys), ~announced("contact", Contact.id))):
        candidates.setdefault(row[4], []).append(("contact", *row[:4]))
    for row in db.session.execute(
            select(Client.id, Client.name, Client.birthday_key, Client.responsible_id)
            .where(Client.kind == "person", Client.birthday_key.in_(keys),
                   ~announced("client", Client.id))):
        candidates.setdefault(row[3], []).append(("client", row[0], row[1], row[2], None))

    def rows_of(user_id: int) -> list[dict]:
        mine = candidates[user_id]
        readable = {(entity, id_) for entity, model in (("contact", Contact), ("client", Client))
                    for id_ in _readable(model, [c[1] for c in mine if c[0] == entity])}
        return [{"user_id": user_id, "kind": "birthday", "entity": entity, "record_id": id_,
                 "day": days[key],
                 "payload": {"name": name, "date": days[key].isoformat(), "client": client}}
                for entity, id_, name, key, client in mine if (entity, id_) in readable]

    owners = set(candidates) & set(_active_users())
    return _for_users("birthday", sorted(owners), rows_of)


# --- Inquiries nobody processed -----------------------------------------------------------


def stale_inquiries(now: dt.datetime) -> int:
    """Inquiries still new after the set number of hours: to their manager and to the head
    of the manager's department (or, for the manager who heads it, of the department
    above); unassigned ones to the heads of the top departments and to whoever may change
    every inquiry. Once a day each, as far as each may read it; an inquiry's reminders to
    all its people are made in one transaction."""
    today = to_local(now).date()
    cutoff = now - dt.timedelta(hours=company_settings.value("inquiry_stale_hours"))
    found = db.session.execute(
        select(Inquiry.id, Inquiry.manager_id, Inquiry.sender_company, Inquiry.sender_name,
               Inquiry.received_at)
        .where(Inquiry.status == "new", Inquiry.received_at < cutoff,
               _not_made("stale_inquiry", "inquiry", Inquiry.id, day=today))).all()
    if not found:
        return 0
    # Ordered here: ordered by the database, SQLite would walk the whole table by its key
    # instead of the (status, received) index.
    found.sort(key=lambda row: row.id)
    heads = _heads_of({row.manager_id for row in found})
    active = set(_active_users())
    people: dict[int, list] = {}
    for row in found:
        for user_id in {row.manager_id, *heads.get(row.manager_id, ())} & active:
            people.setdefault(user_id, []).append(row)
    off = notifications.disabled_kinds(people)
    told: dict[int, list[int]] = {}     # inquiry -> the users who may read it
    for user_id, rows in people.items():
        if "stale_inquiry" in off.get(user_id, ()):
            continue
        with acting_as(user_id):
            for inquiry_id in _readable(Inquiry, [row.id for row in rows]):
                told.setdefault(inquiry_id, []).append(user_id)
    made = 0
    for start in range(0, len(found), INQUIRIES_PER_TRANSACTION):
        rows = [{"user_id": user_id, "kind": "stale_inquiry", "entity": "inquiry",
                 "record_id": row.id, "day": today,
                 "payload": {"sender": row.sender_company or row.sender_name or f"#{row.id}",
                             "received_at": row.received_at.isoformat()}}
                for row in found[start:start + INQUIRIES_PER_TRANSACTION]
                for user_id in sorted(told.get(row.id, ()))]
        if rows:
            made += len(notifications.add(rows))
    return made


def _heads_of(managers: set) -> dict[Optional[int], list[int]]:
    """Manager (None: nobody) -> the heads who hear of their stale inquiries."""
    departments = {row.id: row for row in db.session.execute(
        select(Department.id, Department.parent_id, Department.head_id)).all()}
    of_user = dict(db.session.execute(
        select(CrmUser.id, CrmUser.department_id)
        .where(CrmUser.id.in_(sorted(m for m in managers if m is not None)))).all())
    heads: dict[Optional[int], list[int]] = {}
    for manager in managers:
        if manager is None:
            found = [d.head_id for d in departments.values()
                     if d.parent_id is None and d.head_id is not None]
            found += _handing_out_inquiries()
        else:
            found = [_head_above(manager, of_user.get(manager), departments)]
        heads[manager] = [head for head in found if head is not None and head != manager]
    return heads


def _handing_out_inquiries() -> list[int]:
    """The active users who may change every inquiry: those who hand out the unassigned."""
    users = db.session.execute(select(CrmUser).where(CrmUser.active.is_(True))).scalars()
    return [user.id for user in users
            if principal(user).is_admin or principal(user).scope("inquiry", "edit") == ALL]


def _head_above(manager: int, department_id: Optional[int], departments: dict) -> Optional[int]:
    """The head of the manager's department; for its own head, of the nearest department
    above with another head."""
    seen = set()
    while department_id is not None and department_id not in seen:
        seen.add(department_id)
        department = departments.get(department_id)
        if department is None:
            return None
        if department.head_id is not None and department.head_id != manager:
            return department.head_id
        department_id = department.parent_id
    return None
