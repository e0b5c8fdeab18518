"""What the cards of an interest and of a client show.

An interest's: its pipeline's stages with the current one, the next planned interaction,
the timeline of interactions and stage changes, the products with their total, the
inquiries it came from, and its colour (R5). A client's: its contact persons, its open and
closed interests with their stages and colours, what is planned with it and the timeline
of what was done, each list bounded, with the count of the whole. Everything owned is read
through the access filter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.database import db
from app.models import (
    Contact,
    Inquiry,
    Interaction,
    Interest,
    InterestProduct,
    Stage,
    StageChange,
)
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


# How many of each list a client's card shows; "all N" opens the whole list.
CARD_CONTACTS, CARD_OPEN, CARD_CLOSED, CARD_PLANNED, CARD_TIMELINE = 50, 50, 10, 20, 30


@dataclass
class Bounded:
    """The first rows of a list and how many it holds in all."""

    rows: list
    total: int

    @property
    def more(self) -> bool:
        return self.total > len(self.rows)


@dataclass
class Totals:
    """Interests counted and summed in one currency."""

    currency: str
    count: int
    amount: Decimal


@dataclass
class ClientCard:
    client: Any
    contacts: Bounded
    open_interests: Bounded
    closed_interests: Bounded
    planned: Bounded
    timeline: Bounded
    open_totals: list[Totals]
    won_totals: list[Totals]
    colours: dict[int, str]          # an open interest's id -> its colour (R5)
    now: dt.datetime

    def is_overdue(self, interaction) -> bool:
        return interaction.planned_at < self.now

    @property
    def overdue(self) -> int:
        return sum(1 for item in self.planned.rows if self.is_overdue(item))


def _bounded(statement, limit: int, *, loading=()) -> Bounded:
    """The first `limit` rows of `statement` (with the relations `loading` names); the
    whole count only when there are more."""
    rows = list(db.session.execute(statement.options(*loading).limit(limit)).scalars())
    if len(rows) < limit:
        return Bounded(rows, len(rows))
    counted = statement.order_by(None).with_only_columns(func.count())
    return Bounded(rows, db.session.execute(counted).scalar_one())


def _totals(condition) -> list[Totals]:
    rows = db.session.execute(
        access.readable(Interest, Interest.currency, func.count(), func.sum(Interest.amount))
        .join(Stage, Stage.id == Interest.stage_id).where(condition)
        .group_by(Interest.currency).order_by(Interest.currency))
    return [Totals(currency, count, amount or Decimal("0")) for currency, count, amount in rows]


def client_card(client) -> ClientCard:
    """Bounded in statements whatever the client holds: one per list, a count where a list
    is longer than the card shows, and the totals."""
    of_client = Interest.client_id == client.id
    is_open = (Stage.kind == "open") & Interest.closed_at.is_(None)
    interests = access.readable(Interest).join(Stage, Stage.id == Interest.stage_id) \
        .where(of_client)
    interest_loading = (selectinload(Interest.stage), selectinload(Interest.pipeline),
                        selectinload(Interest.responsible))
    open_interests = _bounded(
        interests.where(is_open)
        .order_by(Interest.flagged.desc(), Interest.next_at.is_(None), Interest.next_at,
                  Interest.id), CARD_OPEN, loading=interest_loading)
    closed_interests = _bounded(
        interests.where(~is_open).order_by(Interest.closed_at.desc(), Interest.id.desc()),
        CARD_CLOSED, loading=interest_loading)
    contacts = _bounded(
        access.readable(Contact).where(Contact.client_id == client.id)
        .order_by(Contact.is_key.desc(), Contact.name, Contact.id), CARD_CONTACTS)
    interactions = access.readable(Interaction).where(Interaction.client_id == client.id)
    interaction_loading = (selectinload(Interaction.type), selectinload(Interaction.responsible),
                           selectinload(Interaction.contact), selectinload(Interaction.interest))
    planned = _bounded(interactions.where(Interaction.status == "planned")
                       .order_by(Interaction.planned_at, Interaction.id), CARD_PLANNED,
                       loading=interaction_loading)
    happened = func.coalesce(Interaction.done_at, Interaction.planned_at)
    timeline = _bounded(interactions.where(Interaction.status != "planned")
                        .order_by(happened.desc(), Interaction.id.desc()), CARD_TIMELINE,
                        loading=interaction_loading)
    _start, end_of_today = local_day_bounds_utc(local_today())
    now = utcnow()
    return ClientCard(
        client=client, contacts=contacts, open_interests=open_interests,
        closed_interests=closed_interests, planned=planned, timeline=timeline,
        open_totals=_totals(of_client & is_open),
        won_totals=_totals(of_client & (Stage.kind == "won")),
        colours={interest.id: colour([interest.next_at], now, end_of_today)
                 for interest in open_interests.rows}, now=now)
