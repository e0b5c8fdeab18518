"""The work a user is shown on the start page ("3 overdue"), each defined once: the tile
counts it and the list behind the tile (`/interactionview/list/?worklist=overdue`) shows
exactly those rows. Every worklist reads through the access filter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func

from app.models import Inquiry, Interaction, Interest
from app.services import access
from app.services.clock import local_day_bounds_utc, local_today, utcnow


@dataclass(frozen=True)
class Worklist:
    name: str
    model: type
    label: object
    # (user id, now, end of the local day) -> the SQL condition of the worklist's rows
    where: Callable


def _planned(user_id):
    return and_(Interaction.responsible_id == user_id, Interaction.status == "planned")


WORKLISTS = {w.name: w for w in [
    Worklist("overdue", Interaction, _l("Overdue interactions"),
             lambda user_id, now, end: and_(_planned(user_id), Interaction.planned_at < now)),
    Worklist("today", Interaction, _l("Due today"),
             lambda user_id, now, end: and_(_planned(user_id), Interaction.planned_at >= now,
                                            Interaction.planned_at < end)),
    Worklist("my_open_interests", Interest, _l("My open interests"),
             lambda user_id, now, end: and_(Interest.responsible_id == user_id,
                                            Interest.closed_at.is_(None))),
    Worklist("new_inquiries", Inquiry, _l("New inquiries"),
             lambda user_id, now, end: Inquiry.status == "new"),
]}


def find(name: Optional[str], model=None) -> Optional[Worklist]:
    """The worklist of that name (over `model`, when given), or None."""
    worklist = WORKLISTS.get(name or "")
    if worklist is None or (model is not None and worklist.model is not model):
        return None
    return worklist


def condition(worklist: Worklist, user_id: int):
    """Which rows belong to the worklist for the user (the access filter not included)."""
    now = utcnow()
    _start, end = local_day_bounds_utc(local_today())
    return worklist.where(user_id, now, end)


def counts(session, user_id: int) -> dict[str, int]:
    """How many rows each worklist holds for the user (the start page's tiles)."""
    return {name: session.execute(access.readable(w.model, func.count())
                                  .where(condition(w, user_id))).scalar()
            for name, w in WORKLISTS.items()}


def interaction_row_class(interaction, now=None, end_of_today=None) -> str:
    """How a row of interactions is highlighted: overdue, due later today, or not at all."""
    if interaction.status != "planned" or interaction.planned_at is None:
        return ""
    if now is None:
        now = utcnow()
    if end_of_today is None:
        _start, end_of_today = local_day_bounds_utc(local_today())
    if interaction.planned_at < now:
        return "crm-row-overdue"
    if interaction.planned_at < end_of_today:
        return "crm-row-today"
    return ""
