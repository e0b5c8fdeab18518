"""Reminders for users: made by the jobs (app.services.reminders), read by their user alone.

A notification says what it is about (its kind and record) and keeps the values its text
is made of; the text itself is written when it is read, in the reader's language. Each is
made once: (kind, record, user, day) is unique, and `add` skips the ones that exist, so a
job run twice, in two processes at once or after an interruption, never repeats one.

A user turns kinds off for themselves and chooses how e-mails come: one morning digest,
or each notice at once (app.services.mail sends them, when SMTP is configured).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Optional

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.database import db
from app.models import NOTIFICATION_DELIVERIES, Notification, NotificationSetting, utcnow
from app.services import access, actor, request_scope
from app.services.clock import format_local, to_local
from app.services.errors import NotFound, RecordInvalid
from app.services.unit_of_work import unit_of_work


@dataclass(frozen=True)
class Kind:
    code: str
    label: object
    help: object
    emailed: bool = False  # also sent by e-mail, when SMTP is configured


KINDS = (
    Kind("overdue", _l("Overdue interactions and tasks"),
         _l("An interaction or a task of yours is past its time and not done."),
         emailed=True),
    Kind("overdue_team", _l("Overdue in my department"),
         _l("Once a day, to a head of department: the overdue work of the department "
            "and its sub-departments, by manager."), emailed=True),
    Kind("digest", _l("Morning digest"),
         _l("Every morning: today's interactions and tasks, and what is overdue."),
         emailed=True),
    Kind("no_plan", _l("Interests without a plan"),
         _l("An open interest of yours has no planned interaction or task.")),
    Kind("birthday", _l("Birthdays"),
         _l("A contact or a client who is a person has a birthday soon.")),
    Kind("stale_inquiry", _l("Unprocessed inquiries"),
         _l("An inquiry has waited too long to be processed.")),
    Kind("export", _l("Exports"),
         _l("An export too large to wait for is ready to download, or has failed.")),
    Kind("absence", _l("Absences"),
         _l("You stand in for an absent colleague and have their work, or you are back "
            "and your work has returned to you."), emailed=True),
    Kind("given_done", _l("Tasks I gave are done"),
         _l("A task you gave a colleague is done, with its result.")),
    Kind("given_overdue", _l("Tasks I gave are overdue"),
         _l("A task you gave a colleague is past its deadline and not done."), emailed=True),
    Kind("handover", _l("Work handed to me"),
         _l("A colleague's planned interactions, interests, inquiries or clients have been "
            "handed over to you."), emailed=True),
)
BY_CODE = {kind.code: kind for kind in KINDS}


# --- Making them ----------------------------------------------------------------------------


def disabled_kinds(user_ids: Iterable[int]) -> dict[int, set[str]]:
    """The kinds each of these users has turned off (only users who turned some off)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(NotificationSetting.user_id, NotificationSetting.disabled)
        .where(NotificationSetting.user_id.in_(ids))).all()
    return {user_id: set(disabled or ()) for user_id, disabled in rows if disabled}


def _insert():
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(Notification).on_conflict_do_nothing(
        index_elements=["kind", "entity", "record_id", "user_id", "day"])


def add(rows: list[dict]) -> list[int]:
    """Make the notifications `rows` describe (user_id, kind, entity, record_id, day and
    payload), leaving out those their user turned off and those made before. Answers the
    ids of the new ones. Joins the caller's unit of work; commits when there is none."""
    off = disabled_kinds(row["user_id"] for row in rows)
    wanted = [{**row, "created_at": utcnow()} for row in rows
              if row["kind"] not in off.get(row["user_id"], ())]
    if not wanted:
        return []
    with unit_of_work():
        return list(db.session.execute(_insert().returning(Notification.id),
                                       wanted).scalars())


def giver_row(interaction, event: str, *, responsible: str = "") -> Optional[dict]:
    """The notification that tells who gave a task that it is done or overdue (`event`);
    None for work nobody gave, or that its giver does themselves."""
    giver = interaction.given_by_id
    if giver is None or giver == interaction.responsible_id:
        return None
    moment = interaction.done_at if event == "done" else interaction.planned_at
    if event == "done" and giver == actor.current_user_id():
        return None
    return {"user_id": giver, "kind": f"given_{event}", "entity": "interaction",
            "record_id": interaction.id, "day": to_local(moment or utcnow()).date(),
            "payload": {"subject": interaction.subject,
                        "planned_at": interaction.planned_at.isoformat()
                        if interaction.planned_at else None,
                        "responsible": responsible or str(interaction.responsible or ""),
                        "result": (interaction.result or "")[:200]
                        if event == "done" else None}}


def tell_giver(interaction, event: str) -> None:
    """Tell whoever gave the task that it is done (in the caller's unit of work)."""
    row = giver_row(interaction, event)
    if row is not None:
        add([row])


# Read notifications older than this are deleted by the nightly clean-up; unread ones stay.
KEEP_READ = dt.timedelta(days=90)
PURGE_BATCH = 10_000


def purge_read(now: dt.datetime) -> int:
    """Delete the notifications read and made more than KEEP_READ ago, a batch per
    transaction; answers how many. A reminder that old is never made again: every job
    looks at days far more recent."""
    before = now - KEEP_READ
    purged = 0
    while True:
        batch = select(Notification.id).where(
            Notification.created_at < before, Notification.read_at.is_not(None)
        ).order_by(Notification.created_at).limit(PURGE_BATCH)
        with unit_of_work():
            deleted = db.session.execute(
                delete(Notification).where(Notification.id.in_(batch.scalar_subquery()))
            ).rowcount or 0
        purged += deleted
        if deleted < PURGE_BATCH:
            return purged


# --- Reading them ---------------------------------------------------------------------------


# The bell counts up to this many unread notifications ("99+" beyond): its statement
# then reads at most this many index entries, however many are unread.
BELL_CAP = 100


def _unread(user_id, cap: Optional[int] = BELL_CAP):
    unread = select(Notification.id).where(Notification.user_id == user_id,
                                           Notification.read_at.is_(None))
    if cap is not None:
        unread = unread.limit(cap)
    return select(func.count()).select_from(unread.subquery())


def unread_column(user_id):
    """The bell's number as a scalar subquery on the (user, read) index, read with the
    request's user (app.fab.security), so that the bell costs no statement of its own."""
    return _unread(user_id).scalar_subquery()


def remember_unread(count: Optional[int]) -> None:
    store = request_scope.request_store()
    if store is not None:
        store["unread"] = count


def unread_count(user_id: Optional[int]) -> int:
    """The bell's number, at most BELL_CAP: read with the request's user when it was,
    else one statement on the (user, read) index."""
    if user_id is None:
        return 0
    store = request_scope.request_store()
    if store is not None and store.get("unread") is not None and \
            actor.current_user_id() == user_id:
        return store["unread"]
    return db.session.execute(_unread(user_id)).scalar()


def unread_total(user_id: int) -> int:
    """Every unread notification of the user, counted."""
    return db.session.execute(_unread(user_id, cap=None)).scalar()


def mine(unread_only: bool = False, kind: Optional[str] = None):
    """A SELECT of the current user's notifications, newest first."""
    query = access.readable(Notification)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if kind:
        query = query.where(Notification.kind == kind)
    return query.order_by(Notification.id.desc())


def one(notification_id: int) -> Notification:
    found = db.session.execute(
        access.readable(Notification).where(Notification.id == notification_id)).scalar()
    if found is None:
        raise NotFound(gettext("The notification does not exist."))
    return found


def mark_read(notification_id: int) -> Notification:
    with unit_of_work():
        notification = one(notification_id)
        if notification.read_at is None:
            notification.read_at = utcnow()
    remember_unread(None)
    return notification


def mark_all_read() -> int:
    """Mark every unread notification of the current user read; answers how many."""
    user_id = actor.current_user_id()
    if user_id is None:
        return 0
    with unit_of_work():
        result = db.session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow()))
    remember_unread(None)
    return result.rowcount or 0


# --- What they say --------------------------------------------------------------------------


def _when(value: Optional[str]) -> str:
    return format_local(dt.datetime.fromisoformat(value)) if value else ""


def _day(value: Optional[str]) -> str:
    return dt.date.fromisoformat(value).strftime("%d.%m") if value else ""


def title(notification: Notification) -> str:
    """One line: what the reminder is about, in the current language."""
    p = notification.payload or {}
    kind = notification.kind
    if kind == "overdue":
        return gettext("Overdue: %(subject)s", subject=p.get("subject", ""))
    if kind == "overdue_team":
        total = p.get("total", 0)
        return ngettext("%(num)d overdue item in %(department)s",
                        "%(num)d overdue items in %(department)s", total,
                        department=p.get("department", ""))
    if kind == "digest":
        return ngettext("Today: %(num)d interaction or task", "Today: %(num)d interactions and tasks",
                        p.get("today_count", 0))
    if kind == "no_plan":
        return gettext("No plan for the interest %(title)s", title=p.get("title", ""))
    if kind == "birthday":
        return gettext("Birthday of %(name)s on %(day)s", name=p.get("name", ""),
                       day=_day(p.get("date")))
    if kind == "stale_inquiry":
        return gettext("Inquiry %(sender)s is still unprocessed", sender=p.get("sender", ""))
    if kind == "export":
        if p.get("status") == "done":
            return gettext("The export %(title)s is ready", title=p.get("title", ""))
        return gettext("The export %(title)s failed", title=p.get("title", ""))
    if kind == "absence":
        if p.get("event") == "begun":
            return gettext("You stand in for %(name)s until %(day)s", name=p.get("user", ""),
                           day=_day(p.get("ends_on")))
        return gettext("Your work has returned from %(name)s", name=p.get("deputy", ""))
    if kind == "handover":
        return gettext("%(name)s's work is handed over to you", name=p.get("from", ""))
    if kind == "given_done":
        return gettext("%(name)s has done your task: %(subject)s",
                       name=p.get("responsible", ""), subject=p.get("subject", ""))
    if kind == "given_overdue":
        return gettext("Your task to %(name)s is overdue: %(subject)s",
                       name=p.get("responsible", ""), subject=p.get("subject", ""))
    return kind


def details(notification: Notification) -> str:
    """The line under the title."""
    p = notification.payload or {}
    kind = notification.kind
    if kind == "overdue":
        parts = [gettext("Planned for %(when)s", when=_when(p.get("planned_at")))]
        if p.get("client"):
            parts.append(p["client"])
        return " · ".join(parts)
    if kind == "overdue_team":
        return ", ".join(f"{name}: {count}" for name, count in p.get("managers", []))
    if kind == "digest":
        overdue = p.get("overdue_count", 0)
        lines = [f"{_when(item.get('planned_at'))[-5:]} {item.get('subject', '')}"
                 for item in p.get("today", [])[:5]]
        if overdue:
            lines.append(ngettext("%(num)d overdue", "%(num)d overdue", overdue))
        return " · ".join(lines)
    if kind == "no_plan":
        return gettext("Plan the next interaction or task: every open interest needs one.")
    if kind == "birthday":
        return p.get("client", "")
    if kind == "stale_inquiry":
        return gettext("Received %(when)s", when=_when(p.get("received_at")))
    if kind == "export":
        if p.get("status") == "done":
            return ngettext("%(num)d row, %(format)s", "%(num)d rows, %(format)s",
                            p.get("rows", 0), format=str(p.get("format", "")).upper())
        return gettext("Try again, or ask the administrator to look at the exports' history.")
    if kind == "absence":
        return handed_text(p) or gettext("Nothing was open.")
    if kind == "given_done":
        return p.get("result") or ""
    if kind == "given_overdue":
        return gettext("Deadline %(when)s", when=_when(p.get("planned_at")))
    if kind == "handover":
        text = handed_text(p)
        return gettext("%(what)s, by %(who)s", what=text, who=p["by"]) \
            if p.get("by") and text else text
    return ""


def handed_text(counts: dict) -> str:
    """What a handover or an absence handed over or returned, of counts by kind: "3
    interactions and tasks, 1 open interest, 2 clients"."""
    parts = []
    if counts.get("interaction"):
        parts.append(ngettext("%(num)d interaction or task", "%(num)d interactions and tasks",
                              counts["interaction"]))
    if counts.get("interest"):
        parts.append(ngettext("%(num)d open interest", "%(num)d open interests",
                              counts["interest"]))
    if counts.get("inquiry"):
        parts.append(ngettext("%(num)d unprocessed inquiry", "%(num)d unprocessed inquiries",
                              counts["inquiry"]))
    if counts.get("client"):
        parts.append(ngettext("%(num)d client", "%(num)d clients", counts["client"]))
    if counts.get("contact"):
        parts.append(ngettext("%(num)d contact", "%(num)d contacts", counts["contact"]))
    return ", ".join(parts)


# --- The user's choice ----------------------------------------------------------------------


def preferences(user_id: Optional[int] = None) -> dict:
    """{"disabled": [...], "delivery": "digest" | "instant", "language": ...} of a user
    (the current one by default)."""
    user_id = user_id or actor.current_user_id()
    row = db.session.get(NotificationSetting, user_id) if user_id else None
    return {"disabled": sorted(row.disabled or []) if row else [],
            "delivery": row.delivery if row else "digest",
            "language": row.language if row else None}


def change_preferences(disabled: Iterable[str], delivery: str,
                       language: Optional[str] = None) -> dict:
    """Keep the current user's choice: the kinds turned off, how e-mails come, and the
    language of e-mails (None: the company's default)."""
    from flask import current_app

    user_id = actor.current_user_id()
    if user_id is None:
        raise NotFound(gettext("The notification does not exist."))
    disabled = sorted(set(disabled))
    errors: dict[str, list[str]] = {}
    unknown = [code for code in disabled if code not in BY_CODE]
    if unknown:
        errors["disabled"] = [gettext("Unknown kinds: %(kinds)s", kinds=", ".join(unknown))]
    if delivery not in NOTIFICATION_DELIVERIES:
        errors["delivery"] = [gettext("Choose %(choices)s.",
                                      choices=", ".join(NOTIFICATION_DELIVERIES))]
    if language and language not in current_app.config.get("LANGUAGES", {}):
        errors["language"] = [gettext("Choose %(choices)s.",
                                      choices=", ".join(current_app.config["LANGUAGES"]))]
    if errors:
        raise RecordInvalid(errors)
    with unit_of_work():
        row = db.session.get(NotificationSetting, user_id)
        if row is None:
            row = NotificationSetting(user_id=user_id)
            db.session.add(row)
        row.disabled, row.delivery, row.language = disabled, delivery, language or None
    return preferences(user_id)
