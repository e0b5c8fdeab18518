"""What the card of an interest shows: its pipeline's stages with the current one, the next
planned interaction, the timeline of interactions and stage changes, the products with
their total, the inquiries it came from, and its colour (R5). Everything owned is read
through the access filter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.database import db
from app.models import Inquiry, Interaction, InterestProduct, Stage, StageChange
from app.services import access
from app.services.clock import local_day_bounds_utc, local_today, utcnow

RED, YELLOW, GREEN = "red", "yellow", "green"


def colour(planned_times: Iterable[Optional[dt.datetime]], now: Optional[dt.datetime] = None,
           end_of_today: Optional[dt.datetime] = None) -> str:
    """R5: red when a planned interaction is overdue, yellow when one is due today (the
    company's day), green otherwise."""
    now = now or utcnow()
    if end_of_today is None:
        _start, end_of_today = local_day_bounds_utc(local_today())
    times = [moment for moment in planned_times if moment is not None]
    if any(moment < now for moment in times):
        return RED
    if any(moment < end_of_today for moment in times):
        return YELLOW
    return GREEN


@dataclass
class TimelineEntry:
    when: dt.datetime
    kind: str                # "interaction" or "stage"
    record: Any


@dataclass
class InterestCard:
    interest: Any
    stages: list[Stage]
    planned: list[Interaction]
    timeline: list[TimelineEntry]
    products: list[InterestProduct]
    inquiries: list[Inquiry]
    stage_since: Optional[dt.datetime]
    colour: str
    total: Decimal = field(default=Decimal("0"))

    @property
    def next_plan(self) -> Optional[Interaction]:
        return self.planned[0] if self.planned else None

    @property
    def days_in_stage(self) -> Optional[int]:
        if self.stage_since is None:
            return None
        return (utcnow() - self.stage_since).days

    @property
    def over_limit(self) -> bool:
        limit = self.interest.stage.days_limit if self.interest.stage else None
        days = self.days_in_stage
        return bool(limit and days is not None and self.interest.is_open and days > limit)


def interest_card(interest) -> InterestCard:
    session = db.session
    interactions = list(session.execute(
        access.readable(Interaction).where(Interaction.interest_id == interest.id)
        .options(selectinload(Interaction.type), selectinload(Interaction.responsible),
                 selectinload(Interaction.contact))
        .order_by(Interaction.planned_at, Interaction.id)).scalars())
    changes = list(session.execute(
        select(StageChange).where(StageChange.interest_id == interest.id)
        .options(selectinload(StageChange.changed_by))
        .order_by(StageChange.changed_at, StageChange.id)).scalars())
    planned = [i for i in interactions if i.status == "planned"]
    timeline = [TimelineEntry(i.done_at or i.planned_at, "interaction", i)
                for i in interactions if i.status != "planned"]
    timeline += [TimelineEntry(change.changed_at, "stage", change) for change in changes]
    timeline.sort(key=lambda entry: entry.when, reverse=True)
    products = list(session.execute(
        access.readable(InterestProduct).where(InterestProduct.interest_id == interest.id)
        .options(selectinload(InterestProduct.product))
        .order_by(InterestProduct.id)).scalars())
    inquiries = list(session.execute(
        access.readable(Inquiry).where(Inquiry.interest_id == interest.id)
        .order_by(Inquiry.received_at)).scalars())
    stages = list(session.execute(
        select(Stage).where(Stage.pipeline_id == interest.pipeline_id)
        .order_by(Stage.sort, Stage.id)).scalars())
    return InterestCard(
        interest=interest, stages=stages, planned=planned, timeline=timeline,
        products=products, inquiries=inquiries,
        stage_since=changes[-1].changed_at if changes else None,
        colour=colour([i.planned_at for i in planned]) if interest.is_open else GREEN,
        total=sum((line.total for line in products), Decimal("0")))
