"""The board "My sales" (DESIGN.md R5, R6): the columns Inquiries, one per open stage of a
pipeline, Won and Lost (closed in the last 30 days); each with its count, sum and weighted
sum over the whole column, and its first cards in the order a manager works them.

Whatever the number of cards, the board is a fixed number of statements: the totals of
every column in one grouped statement, the first cards of every column in one statement
(a part per column, read in its order from the index ix_interest_board by the interest's
kept next_at), and one statement each for what the shown cards need (client, next planned
interaction, time in the stage). Everything is read through the access filter: a manager
sees their own interests, a head of department the subtree's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional

from flask_babel import gettext
from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import selectinload

from app.database import db
from app.models import (
    Inquiry,
    Interaction,
    Interest,
    Pipeline,
    Stage,
    StageChange,
    interest_tag,
)
from app.services import access, custom_fields
from app.services.cards import GREEN, RED, YELLOW
from app.services.clock import local_day_bounds_utc, local_today, utcnow
from app.services.custom_types import is_empty, text_of

# Depth: how far ahead the next interaction of an open interest may be. None: any.
DEPTHS = {"today": 0, "3days": 3, "week": 7, "month": 30, "all": None}
CLOSED_DAYS = 30          # Won and Lost show what was closed in the last 30 days
PAGE = 20                 # cards a column shows at first, and per "show more"
LIST_PAGE = 100           # rows of the list mode at a time
MAX_OFFSET = 1_000_000
INQUIRIES = "inquiries"


@dataclass(frozen=True)
class Filters:
    pipeline_id: Optional[int] = None
    client_id: Optional[int] = None
    service_type_id: Optional[int] = None
    tag_ids: tuple[int, ...] = ()
    manager_id: Optional[int] = None
    depth: str = "all"
    overdue_last: bool = False


@dataclass
class Card:
    id: int
    title: str
    client: str
    client_id: Optional[int]
    amount: Decimal
    currency: str
    next_at: Optional[dt.datetime]
    next_subject: Optional[str]
    color: str
    flagged: bool
    days_in_stage: Optional[int]
    over_limit: bool
    version: int
    kind: str = "interest"           # or "inquiry"
    closed_at: Optional[dt.datetime] = None
    # The custom fields shown on the board's cards: (code, label, value as shown, stored).
    custom: tuple = ()


@dataclass
class Column:
    key: str                          # "inquiries", "stage-<id>"
    title: str
    kind: str                         # "inquiries", "open", "won", "lost"
    stage: Optional[Stage] = None
    count: int = 0
    sum: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    cards: list[Card] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


@dataclass
class Board:
    pipeline: Optional[Pipeline]
    columns: list[Column]
    filters: Filters


# --- Reading -----------------------------------------------------------------------------------


def _within(offset) -> int:
    """An offset a database takes: "show more" never goes past this many cards."""
    return max(0, min(int(offset or 0), MAX_OFFSET))


def pipelines() -> list[Pipeline]:
    return list(db.session.execute(
        select(Pipeline).order_by(Pipeline.sort, Pipeline.id)).scalars())


def _pipeline(pipeline_id: Optional[int]) -> Optional[Pipeline]:
    session = db.session
    if pipeline_id is not None:
        found = session.get(Pipeline, pipeline_id)
        if found is not None:
            return found
    return session.execute(select(Pipeline).order_by(
        Pipeline.is_default.desc(), Pipeline.sort, Pipeline.id).limit(1)).scalar()


def _horizon(depth: str) -> Optional[dt.datetime]:
    days = DEPTHS.get(depth)
    if days is None:
        return None
    _start, end = local_day_bounds_utc(local_today() + dt.timedelta(days=days))
    return end


def _narrowed(query, filters: Filters):
    if filters.client_id is not None:
        query = query.where(Interest.client_id == filters.client_id)
    if filters.service_type_id is not None:
        query = query.where(Interest.service_type_id == filters.service_type_id)
    if filters.manager_id is not None:
        query = query.where(Interest.responsible_id == filters.manager_id)
    for tag in filters.tag_ids:
        query = query.where(Interest.id.in_(
            select(interest_tag.c.interest_id).where(interest_tag.c.tag_id == tag)))
    return query


def _on_board(query, pipeline_id: int, filters: Filters, now: dt.datetime):
    """The interests of the board: open ones (within the depth) and those closed lately."""
    horizon = _horizon(filters.depth)
    open_ones = Interest.closed_at.is_(None)
    if horizon is not None:
        open_ones = and_(open_ones, or_(Interest.next_at.is_(None), Interest.next_at < horizon))
    recent = Interest.closed_at >= now - dt.timedelta(days=CLOSED_DAYS)
    return _narrowed(query.where(Interest.pipeline_id == pipeline_id, or_(open_ones, recent)),
                     filters)


@dataclass
class _Layout:
    """A pipeline's columns: each stage's column, and which column a stage's interests
    are in (a pipeline's several won or lost stages gather in its first won or lost)."""

    columns: list[Column]
    by_stage: dict[int, Column]
    home: dict[int, int]


def _layout(pipeline: Pipeline) -> _Layout:
    stages = list(db.session.execute(select(Stage).where(Stage.pipeline_id == pipeline.id)
                                     .order_by(Stage.sort, Stage.id)).scalars())
    by_stage = {stage.id: Column(f"stage-{stage.id}", stage.name, stage.kind, stage)
                for stage in stages}
    won = next((s for s in stages if s.kind == "won"), None)
    lost = next((s for s in stages if s.kind == "lost"), None)
    home = {s.id: (won.id if s.kind == "won" else lost.id if s.kind == "lost" else s.id)
            for s in stages}
    columns = [by_stage[s.id] for s in stages if s.kind == "open"]
    columns += [by_stage[s.id] for s in (won, lost) if s is not None]
    return _Layout(columns, by_stage, home)


def board(filters: Filters, *, page: int = PAGE) -> Board:
    pipeline = _pipeline(filters.pipeline_id)
    columns = [inquiries_column(filters, page=page)]
    if pipeline is None:
        return Board(None, columns, filters)
    layout = _layout(pipeline)
    _totals(pipeline, filters, layout)
    _first_cards(pipeline, filters, layout, page)
    return Board(pipeline, columns + layout.columns, filters)


def _totals(pipeline, filters, layout: _Layout) -> None:
    query = access.readable(Interest, Interest.stage_id, func.count(),
                            func.coalesce(func.sum(Interest.amount), 0))
    query = _on_board(query, pipeline.id, filters, utcnow()).group_by(Interest.stage_id)
    for stage_id, count, amount in db.session.execute(query):
        column = layout.by_stage.get(layout.home.get(stage_id))
        if column is None:
            continue
        column.count += count
        column.sum += Decimal(amount)
    for column in layout.columns:
        probability = column.stage.probability or 0
        column.weighted = (column.sum * probability / 100).quantize(Decimal("0.01"))


def _order(filters: Filters, column: Column, now):
    """An open column: pinned first, then by the next interaction, nothing planned first
    (R1 is broken there), overdue last in that mode (the index ix_interest_board serves
    the plain order); won and lost: latest closed first."""
    if column.kind != "open":
        return [Interest.closed_at.desc(), Interest.id.desc()]
    keys = [Interest.flagged.desc()]
    if filters.overdue_last:
        keys.append(case((Interest.next_at < now, 1), else_=0))
    return [*keys, Interest.next_at.asc().nullsfirst(), Interest.id]


def _first_cards(pipeline, filters, layout: _Layout, page: int, offset: int = 0,
                 only: Optional[Column] = None) -> None:
    """Cards `offset`+1 … `offset`+`page` of every column (of the `only` one): one statement,
    a part per column, each read in its order from an index and cut at `page`."""
    columns = [only] if only is not None else layout.columns
    if page <= 0 or not columns:  # a pipeline without stages has no cards to show
        return
    offset = _within(offset)
    now = utcnow()
    parts = []
    for column in columns:
        stages = [stage for stage, home in layout.home.items() if home == column.stage.id]
        part = access.readable(Interest, Interest.id.label("id"),
                               literal(column.stage.id).label("column_id"))
        part = _on_board(part, pipeline.id, filters, now).where(Interest.stage_id.in_(stages))
        parts.append(part.order_by(*_order(filters, column, now)).offset(offset).limit(page)
                     .subquery().select())
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    rows = db.session.execute(statement).all()
    cards = interest_cards([row.id for row in rows])
    for row in rows:
        if row.id in cards:
            layout.by_stage[row.column_id].cards.append(cards[row.id])


def interest_cards(ids: list[int]) -> dict[int, Card]:
    """The cards of these interests (already read through the access filter): three
    statements whatever their number."""
    if not ids:
        return {}
    session = db.session
    interests = {i.id: i for i in session.execute(
        access.readable(Interest).where(Interest.id.in_(ids))
        .options(selectinload(Interest.client))).scalars()}
    first_plan = access.readable(
        Interaction, Interaction.interest_id, Interaction.subject,
        func.row_number().over(partition_by=Interaction.interest_id,
                               order_by=(Interaction.planned_at, Interaction.id)).label("n")
    ).where(Interaction.interest_id.in_(ids), Interaction.status == "planned").subquery()
    subjects = dict(session.execute(select(first_plan.c.interest_id, first_plan.c.subject)
                                    .where(first_plan.c.n == 1)).all())
    since = dict(session.execute(
        select(StageChange.interest_id, func.max(StageChange.changed_at))
        .where(StageChange.interest_id.in_(ids)).group_by(StageChange.interest_id)).all())
    now = utcnow()
    _start, end_of_today = local_day_bounds_utc(local_today())
    on_cards = [spec for spec in custom_fields.readable("interest") if spec.show_on_board]
    cards = {}
    for pk in ids:
        interest = interests.get(pk)
        if interest is None:  # gone since the page's first statement
            continue
        next_at = interest.next_at
        entered = since.get(pk)
        days = (now - entered).days if entered is not None else None
        limit = interest.stage.days_limit if interest.stage is not None else None
        cards[pk] = Card(
            id=pk, title=interest.title, client=interest.client_display,
            client_id=interest.client_id, amount=interest.amount, currency=interest.currency,
            next_at=next_at, next_subject=subjects.get(pk),
            color=colour_of(next_at, interest, now, end_of_today),
            flagged=interest.flagged, days_in_stage=days,
            over_limit=bool(limit and days is not None and interest.closed_at is None
                            and days > limit),
            version=interest.version, closed_at=interest.closed_at,
            custom=_custom_on_card(interest, on_cards))
    return cards


def _custom_on_card(interest, specs) -> tuple:
    stored = interest.custom or {}
    return tuple((spec.code, spec.label, text_of(spec, stored[spec.code]), stored[spec.code])
                 for spec in specs
                 if custom_fields.belongs(spec, interest)
                 and not is_empty(spec, stored.get(spec.code)))


def colour_of(next_at, interest, now, end_of_today) -> str:
    """R5 from the first planned time: overdue red, today yellow, else green. An open
    interest with nothing planned is red too: its next step is already late (R1)."""
    if interest.closed_at is not None:
        return GREEN
    if next_at is None or next_at < now:
        return RED
    if next_at < end_of_today:
        return YELLOW
    return GREEN


def more_cards(filters: Filters, column_key: str, offset: int, *, page: int = PAGE
               ) -> Optional[Column]:
    """The next cards of one column ("show more")."""
    if column_key == INQUIRIES:
        return inquiries_column(filters, page=page, offset=offset)
    pipeline = _pipeline(filters.pipeline_id)
    if pipeline is None:
        return None
    layout = _layout(pipeline)
    column = next((c for c in layout.columns if c.key == column_key), None)
    if column is None:
        return None
    _first_cards(pipeline, filters, layout, page, offset, only=column)
    return column


# --- The list mode -------------------------------------------------------------------------


@dataclass
class Listing:
    pipeline: Optional[Pipeline]
    rows: list[tuple[Card, Stage]]
    total: int
    offset: int


def listing(filters: Filters, *, offset: int = 0, page: int = LIST_PAGE) -> Listing:
    """Every open interest of the pipeline in the order of their next interactions."""
    pipeline = _pipeline(filters.pipeline_id)
    if pipeline is None:
        return Listing(None, [], 0, offset)
    now = utcnow()
    horizon = _horizon(filters.depth)
    query = access.readable(Interest, Interest.id, Interest.stage_id)
    query = _narrowed(query.where(Interest.pipeline_id == pipeline.id,
                                  Interest.closed_at.is_(None)), filters)
    if horizon is not None:
        query = query.where(or_(Interest.next_at.is_(None), Interest.next_at < horizon))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar()
    open_column = Column("list", "", "open")
    rows = db.session.execute(query.order_by(*_order(filters, open_column, now))
                              .offset(_within(offset)).limit(page)).all()
    cards = interest_cards([row.id for row in rows])
    stages = {column.stage.id: column.stage for column in _layout(pipeline).by_stage.values()}
    return Listing(pipeline, [(cards[row.id], stages.get(row.stage_id)) for row in rows
                              if row.id in cards], total, offset)


# --- Inquiries ------------------------------------------------------------------------------


def inquiries_column(filters: Filters, *, page: int = PAGE, offset: int = 0) -> Column:
    """My unprocessed inquiries, newest first."""
    column = Column(INQUIRIES, gettext("Inquiries"), INQUIRIES)
    query = access.readable(Inquiry, func.count()).where(Inquiry.status == "new")
    if filters.manager_id is not None:
        query = query.where(Inquiry.manager_id == filters.manager_id)
    column.count = db.session.execute(query).scalar()
    if page:
        rows = db.session.execute(
            access.readable(Inquiry).where(Inquiry.status == "new",
                                           *([Inquiry.manager_id == filters.manager_id]
                                             if filters.manager_id is not None else []))
            .order_by(Inquiry.received_at.desc(), Inquiry.id.desc())
            .offset(_within(offset)).limit(page)).scalars()
        column.cards = [Card(
            id=inquiry.id, title=inquiry.text or str(inquiry),
            client=" · ".join(part for part in (inquiry.sender_company, inquiry.sender_name)
                              if part),
            client_id=inquiry.client_id, amount=Decimal("0"), currency="",
            next_at=inquiry.received_at, next_subject=None, color=YELLOW, flagged=False,
            days_in_stage=None, over_limit=False, version=inquiry.version, kind="inquiry")
            for inquiry in rows]
    return column


# --- A manager's load -----------------------------------------------------------------------


def day_load(user_id: Optional[int], day: dt.date) -> int:
    """How many interactions the user has planned on that day (the company's day), as the
    move dialog shows it when a next plan is chosen (1C:CRM's "load by day")."""
    if user_id is None:
        return 0
    start, end = local_day_bounds_utc(day)
    return db.session.execute(
        access.readable(Interaction, func.count())
        .where(Interaction.responsible_id == user_id, Interaction.status == "planned",
               Interaction.planned_at >= start, Interaction.planned_at < end)).scalar()
