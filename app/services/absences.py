"""Absences: an employee away between two dates, with a deputy.

From the absence's first day (company time) the absent employee's planned interactions
and tasks, open interests and new inquiries are the deputy's, and the deputy reads and
edits the absent employee's other records as their own (app.services.access, through the
principal's `stands_in_for`). After its last day whatever of that work is still open and
still with the deputy returns, with the plans the deputy made for the returned interests;
what the deputy completed stays completed, and theirs. The `absences` job begins and ends
them; an absence that begins today begins as it is planned, one cancelled while under way
ends at once.

Who may plan an absence follows the rights matrix: the "reassign" right over both the
absent employee and the deputy, for interactions, interests and inquiries alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Optional

from flask_babel import gettext
from sqlalchemy import and_, func, or_, select

from app.database import db
from app.models import Absence, AbsenceItem, CrmUser
from app.services import access, handover, notifications, records
from app.services.clock import local_today
from app.services.errors import NotFound, RecordInvalid
from app.services.principals import principal, scope_departments
from app.services.unit_of_work import unit_of_work

# What an absence hands to the deputy (app.services.handover's kinds of open work), and
# what each is called in the absence's list of what was handed.
WORK = handover.WORK
KINDS = tuple(handover.ENTITY[kind] for kind in WORK)
LIVE = ("planned", "active")


# --- Reading --------------------------------------------------------------------------------


def visible():
    """The absences the user may see: their own, those they stand in for, and those of
    the employees whose work they may reassign."""
    p = principal()
    if p.user_id is None:
        return select(Absence).where(False)
    query = select(Absence)
    if p.is_admin:
        return query
    mine = or_(Absence.user_id == p.user_id, Absence.deputy_id == p.user_id)
    scope = handover.reassign_scope(p)
    if scope == access.ALL:
        return query
    if scope == access.NONE:
        return query.where(mine)
    departments = scope_departments(p, scope, "reassign")
    if not departments:
        return query.where(mine)
    return query.where(mine | Absence.user_id.in_(
        select(CrmUser.id).where(CrmUser.department_id.in_(sorted(departments)))))


def employees() -> list[CrmUser]:
    """The active employees the user may plan absences for, and choose as deputies (an
    absence hands over their work): none when the user may not plan absences at all."""
    return handover.employees(active_only=True)


def one(absence_id: int) -> Absence:
    absence = db.session.execute(
        visible().where(Absence.id == absence_id)).scalar_one_or_none()
    if absence is None:
        raise NotFound(gettext("There is no such absence."))
    return absence


def handed_counts(absence_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """How many records of each kind each absence handed to its deputy, in one statement."""
    ids = sorted(set(absence_ids))
    counts: dict[int, dict[str, int]] = {}
    if not ids:
        return counts
    for absence_id, kind, count in db.session.execute(
            select(AbsenceItem.absence_id, AbsenceItem.kind, func.count())
            .where(AbsenceItem.absence_id.in_(ids))
            .group_by(AbsenceItem.absence_id, AbsenceItem.kind)):
        counts.setdefault(absence_id, {})[kind] = count
    return counts


# --- Commands -------------------------------------------------------------------------------


def plan(user_id: Any, deputy_id: Any, starts_on: Any, ends_on: Any,
         note: Optional[str] = None) -> Absence:
    """Plan an absence; one that begins today or earlier begins at once."""
    with unit_of_work():
        absence = Absence(status="planned")
        _fill(absence, user_id, deputy_id, starts_on, ends_on, note)
        if absence.ends_on < local_today():
            raise RecordInvalid({"ends_on": [gettext(
                "The absence would already be over: its last day is in the past.")]})
        db.session.add(absence)
        db.session.flush()
        if absence.starts_on <= local_today():
            _begin(absence)
    return absence


def change(absence: Absence, *, deputy_id: Any = None, starts_on: Any = None,
           ends_on: Any = None, note: Optional[str] = None, seen_version: Any = None) -> Absence:
    """Change a planned absence; of one under way, only its last day and its note (a
    last day before today ends it now)."""
    with unit_of_work():
        records.check_version(absence, seen_version)
        if absence.status not in LIVE:
            raise RecordInvalid({"status": [gettext(
                "This absence is over or cancelled; plan a new one.")]})
        if absence.status == "active":
            if deputy_id not in (None, absence.deputy_id) or \
                    (starts_on is not None and _date(starts_on, "starts_on") != absence.starts_on):
                raise RecordInvalid({"deputy": [gettext(
                    "The absence is under way: only its last day and note can change. "
                    "End it and plan a new one to change the deputy or the first day.")]})
        _fill(absence, absence.user_id,
              absence.deputy_id if deputy_id is None else deputy_id,
              absence.starts_on if starts_on is None else starts_on,
              absence.ends_on if ends_on is None else ends_on,
              absence.note if note is None else note, changing=absence)
        today = local_today()
        if absence.status == "planned" and absence.starts_on <= today:
            _begin(absence)
        if absence.status == "active" and absence.ends_on < today:
            _end(absence, "ended")
        db.session.flush()
    return absence


def cancel(absence: Absence, seen_version: Any = None) -> Absence:
    """Cancel a planned absence, or end one under way now (its work returns today)."""
    with unit_of_work():
        records.check_version(absence, seen_version)
        _authorize(absence.user_id, absence.deputy_id)
        if absence.status == "planned":
            absence.status = "cancelled"
        elif absence.status == "active":
            _end(absence, "ended")
            absence.ends_on = max(absence.starts_on, local_today() - dt.timedelta(days=1))
        else:
            raise RecordInvalid({"status": [gettext("This absence is already over.")]})
        db.session.flush()
    return absence


def run_due(_now: dt.datetime) -> int:
    """The `absences` job: begin those whose first day has come, end those whose last day
    has passed. Answers how many it began or ended."""
    today = local_today()
    due = db.session.execute(
        select(Absence).where(or_(
            and_(Absence.status == "planned", Absence.starts_on <= today),
            and_(Absence.status == "active", Absence.ends_on < today)))
        .order_by(Absence.starts_on, Absence.id)).scalars().all()
    with unit_of_work():
        for absence in due:
            if absence.status == "planned" and absence.ends_on < today:
                absence.status = "ended"  # wholly missed while the job was off
            elif absence.status == "planned":
                _begin(absence)
            else:
                _end(absence, "ended")
    return len(due)


# --- The rules ------------------------------------------------------------------------------


def _date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        raise RecordInvalid({field: [gettext("A date is expected, such as 2026-12-01.")]}) \
            from None


def _employee(value: Any, field: str) -> CrmUser:
    user = handover.employee(value, field)
    if not user.active:
        raise RecordInvalid({field: [gettext("%(name)s is no longer active.", name=user)]})
    return user


def _authorize(user_id: int, deputy_id: int) -> None:
    """An absence hands the employee's open work to the deputy: the handover's rights."""
    handover.authorize(user_id, deputy_id, WORK)


def _fill(absence: Absence, user_id: Any, deputy_id: Any, starts_on: Any, ends_on: Any,
          note: Optional[str], changing: Optional[Absence] = None) -> None:
    user = _employee(user_id, "user")
    deputy = _employee(deputy_id, "deputy")
    first, last = _date(starts_on, "starts_on"), _date(ends_on, "ends_on")
    if deputy.id == user.id:
        raise RecordInvalid({"deputy": [gettext("The deputy must be someone else.")]})
    if last < first:
        raise RecordInvalid({"ends_on": [gettext(
            "The last day cannot be before the first.")]})
    _authorize(user.id, deputy.id)
    _refuse_overlaps(user.id, deputy.id, first, last, changing)
    absence.user_id, absence.deputy_id = user.id, deputy.id
    absence.starts_on, absence.ends_on = first, last
    absence.note = (note or "").strip()[:255] or None


def _refuse_overlaps(user_id: int, deputy_id: int, first: dt.date, last: dt.date,
                     changing: Optional[Absence]) -> None:
    """One absence at a time per employee, and nobody away stands in for another."""
    overlapping = select(Absence).where(
        Absence.status.in_(LIVE), Absence.starts_on <= last, Absence.ends_on >= first)
    if changing is not None and changing.id is not None:
        overlapping = overlapping.where(Absence.id != changing.id)
    found = db.session.execute(overlapping.where(or_(
        Absence.user_id.in_((user_id, deputy_id)), Absence.deputy_id == user_id))
        .limit(1)).scalar_one_or_none()
    if found is None:
        return
    when = {"first": found.starts_on.strftime("%d.%m.%Y"),
            "last": found.ends_on.strftime("%d.%m.%Y")}
    if found.user_id == user_id:
        message = gettext("%(name)s is already away from %(first)s to %(last)s.",
                          name=found.user, **when)
        field = "starts_on"
    elif found.user_id == deputy_id:
        message = gettext("The deputy %(name)s is away from %(first)s to %(last)s.",
                          name=found.user, **when)
        field = "deputy"
    else:
        message = gettext("%(name)s stands in for %(other)s from %(first)s to %(last)s; "
                          "choose another deputy for %(other)s first.",
                          name=found.deputy, other=found.user, **when)
        field = "starts_on"
    raise RecordInvalid({field: [message]})


def _begin(absence: Absence) -> None:
    moved = handover.move(absence.user_id, absence.deputy_id, WORK)
    rows = [{"absence_id": absence.id, "kind": handover.ENTITY[kind], "record_id": pk}
            for kind in WORK for pk in moved.get(kind, ())]
    if rows:
        db.session.execute(AbsenceItem.__table__.insert(), rows)
    absence.status = "active"
    _tell(absence, absence.deputy_id, "begun", moved)


def _end(absence: Absence, status: str) -> None:
    """Return what is still open and still with the deputy, and the plans the deputy made
    for the interests that return (they go along with their interests)."""
    handed = {kind: select(AbsenceItem.record_id).where(
        AbsenceItem.absence_id == absence.id, AbsenceItem.kind == handover.ENTITY[kind])
        for kind in WORK}
    # Work does not return to an employee deactivated meanwhile: it stays with the deputy.
    moved = handover.move(absence.deputy_id, absence.user_id, WORK, ids=handed) \
        if absence.user.active else {}
    absence.status = status
    _tell(absence, absence.user_id, "ended", moved)


def _tell(absence: Absence, user_id: int, event: str, moved: dict[str, list[int]]) -> None:
    counts = {handover.ENTITY[kind]: len(moved.get(kind, ())) for kind in WORK}
    notifications.add([{
        "user_id": user_id, "kind": "absence", "entity": "absence", "record_id": absence.id,
        "day": local_today(),
        "payload": {"event": event, "user": str(absence.user), "deputy": str(absence.deputy),
                    "starts_on": absence.starts_on.isoformat(),
                    "ends_on": absence.ends_on.isoformat(), **counts}}])
