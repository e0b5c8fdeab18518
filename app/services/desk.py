"""The manager's desk (1C:CRM's "Рабочий стол"), the start page: today's and overdue
interactions and tasks (done in place, as on "My tasks"), new inquiries to process, my open
interests by stage with their count and sum (the board in brief), my unread reminders; and
for a head of department the same figures for each manager of the subtree, one row each.

Everything is read through the access filter, in a fixed number of statements whatever the
number of items or managers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional

from sqlalchemy import case, func, select

from app.database import db
from app.models import CrmUser, Inquiry, Interaction, Interest, Notification, Stage
from app.services import access, my_tasks, notifications
from app.services.clock import local_day_bounds_utc, local_today, utcnow
from app.services.principals import OWN, principal

# How many of each the desk lists (the rest are a link away).
ITEMS = 30
INQUIRIES = 8
REMINDERS = 6


@dataclass(frozen=True)
class StageFigure:
    stage_id: int
    name: str
    color: Optional[str]
    count: int
    amount: Decimal


@dataclass(frozen=True)
class ManagerFigures:
    user_id: int
    name: str
    overdue: int = 0
    today: int = 0
    done_today: int = 0
    open_interests: int = 0
    amount: Decimal = Decimal(0)
    new_inquiries: int = 0


@dataclass
class Desk:
    overdue: list[Interaction]
    today: list[Interaction]
    last_plans: set[int]
    inquiries: list[Inquiry]
    new_inquiries: int
    stages: list[StageFigure]
    reminders: list[Notification]
    unread: int
    team: list[ManagerFigures] = field(default_factory=list)

    @property
    def open_interests(self) -> int:
        return sum(stage.count for stage in self.stages)

    @property
    def amount(self) -> Decimal:
        return sum((stage.amount for stage in self.stages), Decimal(0))


def desk(user_id: int) -> Desk:
    session = db.session
    now = utcnow()
    _start, end_of_today = local_day_bounds_utc(local_today())
    planned = Interaction.status == "planned"
    nothing = my_tasks.Filters()
    overdue = list(session.execute(
        my_tasks._items(user_id, nothing, planned, Interaction.planned_at < now)
        .order_by(Interaction.planned_at, Interaction.id).limit(ITEMS)).unique().scalars())
    today = list(session.execute(
        my_tasks._items(user_id, nothing, planned, Interaction.planned_at >= now,
                        Interaction.planned_at < end_of_today)
        .order_by(Interaction.planned_at, Interaction.id).limit(ITEMS)).unique().scalars())
    new = Inquiry.status == "new"
    inquiries = list(session.execute(
        access.readable(Inquiry).where(new)
        .order_by(Inquiry.received_at.desc(), Inquiry.id.desc()).limit(INQUIRIES)).scalars())
    new_count = session.execute(access.readable(Inquiry, func.count()).where(new)).scalar()
    stages = [StageFigure(row.id, row.name, row.color, row.count, Decimal(row.amount or 0))
              for row in session.execute(
                  access.readable(Interest, Stage.id, Stage.name, Stage.color,
                                  func.count().label("count"),
                                  func.sum(Interest.amount).label("amount"))
                  .join(Stage, Stage.id == Interest.stage_id)
                  .where(Interest.responsible_id == user_id, Interest.closed_at.is_(None))
                  .group_by(Stage.id, Stage.name, Stage.color, Stage.pipeline_id, Stage.sort)
                  .order_by(Stage.pipeline_id, Stage.sort, Stage.id))]
    reminders = list(session.execute(
        notifications.mine(unread_only=True).limit(REMINDERS)).scalars())
    unread = notifications.unread_count(user_id)
    return Desk(overdue=overdue, today=today,
                last_plans=my_tasks.last_plans(overdue + today), inquiries=inquiries,
                new_inquiries=new_count or 0, stages=stages, reminders=reminders,
                unread=unread, team=team(user_id) if heads_a_team() else [])


def heads_a_team() -> bool:
    """Does the user see more than their own interactions (a head of department)?"""
    return principal().scope("interaction", "read") > OWN


def team(user_id: int) -> list[ManagerFigures]:
    """Each manager the user sees: overdue, due today, done today, open interests with
    their sum, new inquiries (four statements whatever their number)."""
    session = db.session
    now = utcnow()
    start, end_of_today = local_day_bounds_utc(local_today())
    owners = access.readable_owners(Interaction)
    if owners is None:
        return []
    users = select(CrmUser.id, CrmUser.first_name, CrmUser.last_name) \
        .where(CrmUser.active.is_(True))
    if owners is not access.EVERY_OWNER:
        users = users.where(CrmUser.id.in_(sorted(owners)))
    people = session.execute(users.order_by(CrmUser.first_name, CrmUser.last_name,
                                            CrmUser.id)).all()
    ids = [row.id for row in people]
    if not ids:
        return []
    planned = Interaction.status == "planned"
    work = {row.responsible_id: row for row in session.execute(
        access.readable(
            Interaction, Interaction.responsible_id,
            func.sum(case(((planned & (Interaction.planned_at < now)), 1), else_=0))
            .label("overdue"),
            func.sum(case(((planned & (Interaction.planned_at >= now)
                            & (Interaction.planned_at < end_of_today)), 1), else_=0))
            .label("today"),
            func.sum(case(((Interaction.status == "done") & (Interaction.done_at >= start)
                           & (Interaction.done_at < end_of_today), 1), else_=0))
            .label("done_today"))
        .where(Interaction.responsible_id.in_(ids),
               (planned & (Interaction.planned_at < end_of_today))
               | ((Interaction.status == "done") & (Interaction.done_at >= start)))
        .group_by(Interaction.responsible_id))}
    interests = {row.responsible_id: row for row in session.execute(
        access.readable(Interest, Interest.responsible_id, func.count().label("count"),
                        func.sum(Interest.amount).label("amount"))
        .where(Interest.responsible_id.in_(ids), Interest.closed_at.is_(None))
        .group_by(Interest.responsible_id))}
    inquiries = dict(session.execute(
        access.readable(Inquiry, Inquiry.manager_id, func.count())
        .where(Inquiry.manager_id.in_(ids), Inquiry.status == "new")
        .group_by(Inquiry.manager_id)).all())
    rows = []
    for person in people:
        done = work.get(person.id)
        held = interests.get(person.id)
        rows.append(ManagerFigures(
            user_id=person.id,
            name=f"{person.first_name or ''} {person.last_name or ''}".strip(),
            overdue=int(done.overdue or 0) if done else 0,
            today=int(done.today or 0) if done else 0,
            done_today=int(done.done_today or 0) if done else 0,
            open_interests=int(held.count) if held else 0,
            amount=Decimal(held.amount or 0) if held else Decimal(0),
            new_inquiries=int(inquiries.get(person.id, 0))))
    return rows


def team_total(rows: list[ManagerFigures]) -> ManagerFigures:
    return ManagerFigures(
        user_id=0, name="", overdue=sum(r.overdue for r in rows),
        today=sum(r.today for r in rows), done_today=sum(r.done_today for r in rows),
        open_interests=sum(r.open_interests for r in rows),
        amount=sum((r.amount for r in rows), Decimal(0)),
        new_inquiries=sum(r.new_inquiries for r in rows))
