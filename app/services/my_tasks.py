""""My tasks": a user's planned interactions and tasks in four groups (overdue, today,
upcoming, done recently), filtered by type, client, interest and period; the tasks they gave
colleagues with their state ("Given by me"); and the command that gives a task.

A task belongs to no interest: for oneself or for a colleague, with a deadline
(`planned_at`), a subject and a description. Giving one to a colleague makes them its
responsible, so it needs the right to make them responsible for an interaction: the
"reassign" right of interactions with a scope that holds them (the rights matrix). The
giver is kept (`given_by`) and told when it is done (app.services.sales.complete) and when
it becomes overdue (the overdue job, app.services.reminders), once each.

Every read goes through the access filter; each group is one statement, whatever its size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Optional

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from app.database import db
from app.models import Client, CrmUser, DictionaryItem, Interaction, Interest
from app.services import access, actor, calendar, commands, plans
from app.services.clock import (
    UnreadableTime,
    local_day_bounds_utc,
    local_today,
    parse_typed,
    utcnow,
)
from app.services.errors import Forbidden, RecordInvalid
from app.services.principals import principal
from app.services.unit_of_work import unit_of_work

GROUPS = (("overdue", _l("Overdue")), ("today", _l("Today")),
          ("upcoming", _l("Upcoming")), ("done", _l("Done recently")))
GROUP_LABELS = dict(GROUPS)
# How many upcoming items, and how many days and items of done ones, the page lists.
UPCOMING_LIMIT = 100
DONE_DAYS = 7
DONE_LIMIT = 30
# How many tasks given to colleagues "Given by me" lists (open ones first), and how long
# a done one stays there.
GIVEN_LIMIT = 50
GIVEN_DONE_DAYS = 14


@dataclass(frozen=True)
class Filters:
    """What the page is narrowed to: an interaction type, a client, an interest, a period
    of local days [start, end] (planned for, or done on)."""

    type_id: Optional[int] = None
    client_id: Optional[int] = None
    interest_id: Optional[int] = None
    start: Optional[dt.date] = None
    end: Optional[dt.date] = None

    def as_args(self, **changed) -> dict[str, str]:
        """The page's query string for these filters (with `changed` ones, "" dropping
        one): what its links and forms carry, and nothing else of the request."""
        args = {"type": self.type_id, "client": self.client_id,
                "interest": self.interest_id,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None, **changed}
        return {name: str(value) for name, value in args.items()
                if value not in (None, "")}

    @property
    def any(self) -> bool:
        return any(value is not None for value in (self.type_id, self.client_id,
                                                   self.interest_id, self.start, self.end))


def _int(value: Any) -> Optional[int]:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def _date(value: Any) -> Optional[dt.date]:
    """A day as typed (03.12.2026) or in ISO form (2026-12-03)."""
    if value is None:
        return None
    try:
        return parse_typed(str(value).strip(), with_time=False)
    except (UnreadableTime, ValueError):
        return None


def filters_from(args) -> Filters:
    """The filters from a query string (anything unreadable is ignored)."""
    return Filters(type_id=_int(args.get("type")), client_id=_int(args.get("client")),
                   interest_id=_int(args.get("interest")),
                   start=_date(args.get("start")), end=_date(args.get("end")))


@dataclass
class Page:
    """The page's groups (name -> interactions), which planned ones are the last plan of
    their open interest (their ids: completing one asks for the next plan, R1), and how
    many are overdue and due today."""

    groups: dict[str, list[Interaction]]
    last_plans: set[int] = field(default_factory=set)
    more_upcoming: bool = False


def _narrowed(query, filters: Filters, moment):
    if filters.type_id is not None:
        query = query.where(Interaction.type_id == filters.type_id)
    if filters.client_id is not None:
        query = query.where(Interaction.client_id == filters.client_id)
    if filters.interest_id is not None:
        query = query.where(Interaction.interest_id == filters.interest_id)
    if filters.start is not None:
        query = query.where(moment >= local_day_bounds_utc(filters.start)[0])
    if filters.end is not None:
        query = query.where(moment < local_day_bounds_utc(filters.end)[1])
    return query


def _items(user_id: int, filters: Filters, *where, moment=Interaction.planned_at):
    return _narrowed(
        access.readable(Interaction)
        .options(joinedload(Interaction.type), joinedload(Interaction.client),
                 joinedload(Interaction.interest), joinedload(Interaction.given_by))
        .where(Interaction.responsible_id == user_id, *where), filters, moment)


def page(user_id: int, filters: Filters = Filters()) -> Page:
    """The user's work in its groups (five statements)."""
    session = db.session
    now = utcnow()
    _start, end_of_today = local_day_bounds_utc(local_today())
    planned = Interaction.status == "planned"
    groups = {
        "overdue": _items(user_id, filters, planned, Interaction.planned_at < now)
        .order_by(Interaction.planned_at, Interaction.id),
        "today": _items(user_id, filters, planned, Interaction.planned_at >= now,
                        Interaction.planned_at < end_of_today)
        .order_by(Interaction.planned_at, Interaction.id),
        "upcoming": _items(user_id, filters, planned, Interaction.planned_at >= end_of_today)
        .order_by(Interaction.planned_at, Interaction.id).limit(UPCOMING_LIMIT + 1),
        "done": _items(user_id, filters, Interaction.status == "done",
                       Interaction.done_at >= now - dt.timedelta(days=DONE_DAYS),
                       moment=Interaction.done_at)
        .order_by(Interaction.done_at.desc(), Interaction.id.desc()).limit(DONE_LIMIT),
    }
    found = {name: list(session.execute(query).unique().scalars())
             for name, query in groups.items()}
    more = len(found["upcoming"]) > UPCOMING_LIMIT
    found["upcoming"] = found["upcoming"][:UPCOMING_LIMIT]
    planned_items = [item for name in ("overdue", "today", "upcoming") for item in found[name]]
    return Page(groups=found, last_plans=last_plans(planned_items), more_upcoming=more)


def last_plans(items) -> set[int]:
    """Of these planned interactions, those that are the last plan of their open interest
    (one statement)."""
    lonely = plans.lonely_interests({item.interest_id for item in items
                                     if item.interest_id is not None})
    return {item.id for item in items if item.interest_id in lonely}


def counts(session, user_id: int) -> dict[str, int]:
    """How many of the user's planned items are overdue and due today (one statement): the
    menu's badge and the desk's figures."""
    now = utcnow()
    _start, end_of_today = local_day_bounds_utc(local_today())
    overdue, today = session.execute(
        access.readable(
            Interaction,
            func.coalesce(func.sum(case((Interaction.planned_at < now, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Interaction.planned_at >= now, 1), else_=0)), 0))
        .where(Interaction.responsible_id == user_id, Interaction.status == "planned",
               Interaction.planned_at < end_of_today)).one()
    return {"overdue": int(overdue or 0), "today": int(today or 0)}


def given_by_me(user_id: int) -> list[Interaction]:
    """The tasks the user gave colleagues: open ones by deadline, then those done or
    cancelled lately (one statement)."""
    since = utcnow() - dt.timedelta(days=GIVEN_DONE_DAYS)
    return list(db.session.execute(
        access.readable(Interaction)
        .options(joinedload(Interaction.responsible), joinedload(Interaction.client))
        .where(Interaction.given_by_id == user_id,
               Interaction.responsible_id != user_id,
               (Interaction.status == "planned") | and_(
                   Interaction.status != "planned",
                   func.coalesce(Interaction.done_at, Interaction.changed_on) >= since))
        .order_by(case((Interaction.status == "planned", 0), else_=1),
                  Interaction.planned_at, Interaction.id)
        .limit(GIVEN_LIMIT)).unique().scalars())


def state_of(interaction, now: Optional[dt.datetime] = None) -> str:
    """done, cancelled, overdue or planned."""
    if interaction.status != "planned":
        return interaction.status
    return "overdue" if interaction.planned_at < (now or utcnow()) else "planned"


# --- Choices ---------------------------------------------------------------------------------


def interaction_types() -> list[DictionaryItem]:
    return list(db.session.execute(
        select(DictionaryItem).where(DictionaryItem.kind == "interaction_type")
        .order_by(DictionaryItem.sort, DictionaryItem.name)).scalars())


def task_type() -> Optional[DictionaryItem]:
    return db.session.execute(
        select(DictionaryItem).where(DictionaryItem.kind == "interaction_type",
                                     DictionaryItem.code == "task")).scalar()


def colleagues() -> list[CrmUser]:
    """Whom the user may give a task to: themselves, and the active colleagues whose work
    they may reassign."""
    return list(db.session.execute(
        select(CrmUser).where(CrmUser.active.is_(True),
                              access.assignable_users_condition(Interaction))
        .order_by(CrmUser.first_name, CrmUser.last_name, CrmUser.id)).scalars())


def client_named(client_id: Optional[int]) -> Optional[Client]:
    if client_id is None:
        return None
    return db.session.execute(access.readable(Client).where(Client.id == client_id)).scalar()


def interest_named(interest_id: Optional[int]) -> Optional[Interest]:
    if interest_id is None:
        return None
    return db.session.execute(
        access.readable(Interest).where(Interest.id == interest_id)).scalar()


# --- Giving a task ---------------------------------------------------------------------------


def mark_given(interaction) -> None:
    """A new interaction of no interest planned for a colleague is a task given to them:
    its giver is the user who plans it (the API's POST, as give_task does)."""
    me = actor.current_user_id()
    responsible = interaction.responsible.id if interaction.responsible is not None \
        else interaction.responsible_id
    if interaction.interest is None and interaction.interest_id is None \
            and me is not None and responsible is not None and responsible != me:
        interaction.given_by_id = me


def give_task(*, subject: Any, planned_at: Optional[dt.datetime], description: Any = None,
              responsible_id: Any = None, client_id: Any = None,
              planned_minutes: Any = None) -> Interaction:
    """A task of no interest, for the user or for a colleague (whose work the user may
    reassign; the colleague's item then keeps who gave it)."""
    me = actor.current_user_id()
    with unit_of_work():
        errors: dict[str, list[str]] = {}
        subject = str(subject or "").strip()
        if not subject:
            errors["subject"] = [gettext("This field is required.")]
        if planned_at is None:
            errors["planned_at"] = [gettext("This field is required.")]
        to = _int(responsible_id) if responsible_id not in (None, "") else me
        responsible = db.session.get(CrmUser, to) if to is not None else None
        if responsible is None or not responsible.active:
            errors["responsible"] = [gettext("The chosen record does not exist.")]
        client = None
        if client_id not in (None, ""):
            client = client_named(_int(client_id))
            if client is None:
                errors["client"] = [gettext("The chosen record does not exist.")]
        minutes = None
        if planned_minutes not in (None, ""):
            minutes = _int(planned_minutes)
            try:
                calendar.check_length(minutes if minutes is not None else 0)
            except RecordInvalid as refused:
                errors.update(refused.errors)
        if errors:
            raise RecordInvalid(errors)
        if to != me:
            p = principal()
            if not access.user_within_scope(to, p.scope("interaction", "reassign"), p):
                raise Forbidden(gettext(
                    "You may give tasks only to colleagues whose work you may reassign."))
        task = Interaction(subject=subject, planned_at=planned_at, status="planned",
                           description=str(description or "").strip() or None,
                           responsible=responsible, client=client, type=task_type(),
                           planned_minutes=minutes, given_by_id=me if to != me else None)
        commands.create(task)
    return task
