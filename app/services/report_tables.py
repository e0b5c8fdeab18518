"""The report tables: facts computed from the live records by the jobs, so that a report's
grid reads a small table instead of scanning interests and interactions on every click.

- crm_report_funnel (FunnelFact): each interest's stage now and the furthest open stage it
  entered; crm_report_funnel_stay (FunnelStay): its time in each stage it has left;
  crm_report_funnel_month (FunnelMonth): both added up per month, pipeline, stage and
  responsible, for the stages each interest reached.
- crm_report_activity (ActivityFact): each manager's done interactions and points per day.
- crm_report_client (ClientFact), crm_report_client_summary (ClientSummary): each client's
  indicators of the supervisor's control, and their sums per responsible.
- crm_report_abc (AbcFact): each client's revenue of twelve months and its ABC/XYZ class.

A refresh folds in what changed since the last one (the interests and interactions changed
after its watermark, less a margin for transactions that committed late); a rebuild
computes a table whole, as "recompute now" and the nightly job do, which also takes in
changes the refresh cannot see (a stage moved in its pipeline, a type's points changed,
an interaction deleted). Each run is one transaction: a grid reads the old figures or the
new, never half of them. crm_report_state says when each table was computed. On PostgreSQL
the tables are unlogged: a crash empties them, and the next run computes them whole.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from decimal import Decimal
from typing import Callable, Iterable

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ClauseElement, Executable

from app.database import db
from app.models import (
    AbcFact,
    ActivityFact,
    Client,
    ClientFact,
    ClientSummary,
    Contact,
    DictionaryItem,
    FunnelFact,
    FunnelMonth,
    FunnelStay,
    Interaction,
    Interest,
    ReportState,
    Stage,
    StageChange,
)
from app.rules.abcxyz import classify
from app.services.clock import company_tz, local_today, to_local_many, utcnow
from app.services.unit_of_work import unit_of_work

# A transaction that stamped its changes before a refresh began may commit after it read:
# the next refresh looks this far behind its watermark again.
LATE_COMMIT_MARGIN = dt.timedelta(minutes=5)
# Changed records are recomputed this many at a time (a statement's parameters are few).
CHUNK = 5000


# --- the funnel ------------------------------------------------------------------------------


def _seconds_between(start, end):
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", end - start), BigInteger)
    return cast(func.round((func.julianday(end) - func.julianday(start)) * 86400), BigInteger)


def _among(column, interests):
    """`column` among the ids `interests` (a SELECT) gives; None: of every interest."""
    return true() if interests is None else column.in_(interests)


def _stays(interests):
    """SELECT each entering of a stage by the interests whose ids `interests` gives (None:
    every one): the interest, the stage, when it entered and when it left (None: it is
    there still)."""
    return select(
        StageChange.interest_id, StageChange.to_stage_id.label("stage_id"),
        StageChange.changed_at.label("entered"),
        func.lead(StageChange.changed_at).over(
            partition_by=StageChange.interest_id,
            order_by=(StageChange.changed_at, StageChange.id)).label("left"),
    ).where(_among(StageChange.interest_id, interests)).subquery("stays")


def _funnel_rows(interests):
    """SELECT the facts (FUNNEL_COLUMNS) of the interests whose ids `interests` gives
    (None: every one)."""
    entered = aliased(Stage)
    depth = select(
        StageChange.interest_id, func.max(entered.sort).label("sort"),
    ).join(entered, entered.id == StageChange.to_stage_id).join(
        Interest, and_(Interest.id == StageChange.interest_id,
                       Interest.pipeline_id == entered.pipeline_id),
    ).where(entered.kind == "open", _among(StageChange.interest_id, interests)).group_by(
        StageChange.interest_id).subquery("depth")
    current = aliased(Stage)
    return select(
        Interest.id.label("interest_id"), Interest.pipeline_id, Interest.stage_id,
        depth.c.sort.label("depth"), Interest.responsible_id,
        Interest.created_on.label("started_at"), Interest.amount,
        case((current.kind == "won", True), else_=False).label("won"), Interest.closed_at,
    ).select_from(Interest).join(current, current.id == Interest.stage_id).outerjoin(
        depth, depth.c.interest_id == Interest.id).where(_among(Interest.id, interests))


def _stay_rows(interests):
    """SELECT the time in each stage (STAY_COLUMNS) of the interests `interests` gives,
    over their stays there that have ended."""
    stays = _stays(interests)
    return select(
        stays.c.interest_id, stays.c.stage_id,
        func.sum(_seconds_between(stays.c.entered, stays.c.left)).label("seconds"),
    ).where(stays.c.left.is_not(None)).group_by(stays.c.interest_id, stays.c.stage_id)


FUNNEL_COLUMNS = ("interest_id", "pipeline_id", "stage_id", "depth", "responsible_id",
                  "started_at", "amount", "won", "closed_at")
STAY_COLUMNS = ("interest_id", "stage_id", "seconds")


def _write_funnel(interests, among=None) -> int:
    """The facts and stays of the interests `interests` (a SELECT of ids; None: every one)
    gives written again, after those of the ids `among` (a list; by default, the same)
    are deleted."""
    for model in (FunnelFact, FunnelStay):
        db.session.execute(delete(model).where(model.interest_id.in_(
            interests if among is None else among)))
    whole = interests is None
    _insert_selected(FunnelStay, STAY_COLUMNS, _stay_rows(interests), whole)
    return _insert_selected(FunnelFact, FUNNEL_COLUMNS, _funnel_rows(interests), whole)


def reached(stage, fact=FunnelFact):
    """The condition that the interest of `fact` reached `stage` (aliases of Stage and
    FunnelFact, or anything with their columns): its stage now, or an open stage up to
    the furthest it entered, or any open stage once it is won."""
    return and_(stage.pipeline_id == fact.pipeline_id, or_(
        stage.id == fact.stage_id,
        and_(stage.kind == "open", or_(fact.won, stage.sort <= fact.depth))))


@contextmanager
def _indexes_built_after(model):
    """A table written whole gets its indexes after its rows on SQLite, where building
    one at once is several times cheaper than keeping it in order row by row, and readers
    see the table as it was until the transaction ends. (On PostgreSQL dropping an index
    would lock them out until then.)"""
    if db.session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = db.session.connection()
    indexes = sorted(model.__table__.indexes, key=lambda index: index.name)
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)


class _TemporaryTableAs(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, name: str, query):
        self.name, self.query = name, query


@compiles(_TemporaryTableAs)
def _temporary_table_as(element, compiler, **kw):
    return f"CREATE TEMPORARY TABLE {element.name} AS {compiler.process(element.query, **kw)}"


def _insert_selected(model, columns, query, whole: bool = False) -> int:
    """INSERT INTO `model` (`columns`) the rows of `query`; how many. A table computed
    `whole` on PostgreSQL takes them by way of a temporary table: PostgreSQL runs the
    SELECT of an INSERT alone, that of a CREATE TABLE … AS with its parallel workers."""
    if not whole or db.session.get_bind().dialect.name != "postgresql":
        return db.session.execute(insert(model).from_select(columns, query)).rowcount or 0
    db.session.execute(_TemporaryTableAs("report_rows", query))
    written = db.session.execute(insert(model).from_select(
        columns, select(literal_column("*")).select_from(text("report_rows")))).rowcount
    db.session.execute(text("DROP TABLE report_rows"))
    return written or 0


def rebuild_funnel(_since=None) -> int:
    db.session.execute(delete(FunnelFact))
    db.session.execute(delete(FunnelStay))
    with _indexes_built_after(FunnelFact):
        written = _write_funnel(None, among=[])
    db.session.execute(delete(FunnelMonth))
    for kind, column in MONTH_MOMENTS.items():
        first, last = db.session.execute(select(func.min(column), func.max(column))).one()
        if first is not None:
            _write_months(kind, _local_date(first).replace(day=1),
                          _local_date(last).replace(day=1), every=True)
    return written


def refresh_funnel(since: dt.datetime) -> int:
    """The facts of the interests changed since `since` computed again, those of deleted
    ones dropped (SQLite keeps no cascade), and the months either fell in added up anew."""
    changed = list(db.session.execute(select(Interest.id).where(
        Interest.changed_on >= since - LATE_COMMIT_MARGIN)).scalars())
    gone = list(db.session.execute(select(FunnelFact.interest_id).distinct().where(
        ~exists().where(Interest.id == FunnelFact.interest_id))).scalars())
    months: dict[str, set[dt.date]] = {kind: set() for kind in MONTH_MOMENTS}
    written, ids = 0, changed + gone
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for kind, touched in _months_of(FunnelFact.interest_id.in_(chunk)).items():
            months[kind] |= touched
        written += _write_funnel(select(Interest.id).where(Interest.id.in_(chunk)),
                                 among=chunk)
        for kind, touched in _months_of(FunnelFact.interest_id.in_(chunk)).items():
            months[kind] |= touched
    for kind, touched in months.items():
        for first, last in _month_ranges(touched):
            _write_months(kind, first, last)
    return written


# The moment that puts an interest's facts in a month, of each kind of FunnelMonth row.
MONTH_MOMENTS = {"started": FunnelFact.started_at, "closed": FunnelFact.closed_at}


def _months_of(condition) -> dict[str, set[dt.date]]:
    """The local months the facts meeting `condition` fall in, of each kind."""
    localise = to_local_many()
    months: dict[str, set[dt.date]] = {}
    for kind, column in MONTH_MOMENTS.items():
        moments = db.session.execute(select(column).where(condition, column.is_not(None))
                                     .distinct()).scalars()
        months[kind] = {localise(moment).date().replace(day=1) for moment in moments}
    return months


def _month_ranges(months: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive months joined: [(first, last), ...], each a month's first day."""
    ranges: list[list[dt.date]] = []
    for month in sorted(months):
        if ranges and month_after(ranges[-1][1].year, ranges[-1][1].month) == month:
            ranges[-1][1] = month
        else:
            ranges.append([month, month])
    return [(first, last) for first, last in ranges]


def _local_month(column, minutes: int):
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc(
            "month", column + literal_column(f"interval '{minutes} minutes'")), db.Date)
    return func.date(column, f"{minutes:+d} minutes", "start of month")


def of_pipeline(pipeline_id: int | None = None):
    """The facts of a pipeline (of every one by default), said so that the planner reads
    them along their index by pipeline and time."""
    if pipeline_id is None:
        return FunnelFact.pipeline_id.in_(select(Stage.pipeline_id).distinct())
    return FunnelFact.pipeline_id == pipeline_id


def funnel_sums(kind: str, condition, month=None, facts=FunnelFact, stays=FunnelStay,
                few: bool = False) -> list:
    """SELECTs of the FunnelMonth columns (but the month, unless `month`, an expression
    of the facts, gives it), named as there, added up per key from the facts meeting
    `condition` (`few` of them: a few days' or months'): their rows add up to the sums.
    The facts and stays are the report tables', or any SELECTs of their columns."""
    fact, stay, stage = _columns(facts), _columns(stays), aliased(Stage)
    months = [] if month is None else [month.label("month")]
    zero, nothing = literal(0), cast(literal_column("NULL"), BigInteger)
    if kind == "closed":
        keys = [fact.pipeline_id, fact.stage_id, fact.responsible_id]
        return [select(*months, *keys, *_named(
            func.count(), func.sum(fact.amount), nothing, zero, zero, zero, zero))
            .select_from(facts).where(condition, fact.won).group_by(*months, *keys)]
    # The interests alike (started in one month, in one stage now, as far, as won) taken
    # together first: the stages each group reached are then few rows to spread them over.
    inner = [*months, fact.pipeline_id, fact.responsible_id, fact.stage_id, fact.depth,
             fact.won]
    alike = select(*inner, func.count().label("interests"),
                   func.sum(fact.amount).label("amount")).select_from(facts).where(
        condition).group_by(*inner).subquery("alike")
    now = stage.id == alike.c.stage_id
    keys = [*([alike.c.month] if months else []), alike.c.pipeline_id, stage.id,
            alike.c.responsible_id]
    reaching = select(*_keys(keys), *_named(
        func.sum(alike.c.interests), func.sum(alike.c.amount), nothing, zero,
        func.sum(case((now, alike.c.interests), else_=0)),
        func.sum(case((now, alike.c.amount), else_=0)),
        func.sum(case((and_(now, alike.c.won), alike.c.interests), else_=0)),
    )).select_from(alike).join(stage, reached(stage, alike.c)).group_by(*keys)
    # The time in each stage reached, of the interests that have left it: a stage it
    # entered it reached if the stage is open or its stage now.
    if few and db.session.get_bind().dialect.name == "postgresql":
        # Each of a few facts' stays looked up along their key: PostgreSQL would rather
        # read every stay and match them to the facts, several times slower for a few.
        # (OFFSET 0 keeps it from merging the subquery into the join, as it would.)
        own = select(stay.stage_id, stay.seconds).where(
            stay.interest_id == fact.interest_id).offset(0).lateral("own_stays")
        keys = [*months, fact.pipeline_id, stage.id, fact.responsible_id]
        staying = select(*_keys(keys), *_named(
            zero, zero, func.sum(own.c.seconds), func.count(), zero, zero, zero,
        )).select_from(facts).join(own, true()).join(stage, and_(
            stage.id == own.c.stage_id, stage.pipeline_id == fact.pipeline_id,
            or_(stage.kind == "open", stage.id == fact.stage_id)))
    else:
        entered = select(stay.interest_id, stay.seconds, stage.id.label("stage_id"),
                         stage.pipeline_id, stage.kind).select_from(stays).join(
            stage, stage.id == stay.stage_id).subquery("entered")
        keys = [*months, fact.pipeline_id, entered.c.stage_id, fact.responsible_id]
        staying = select(*keys, *_named(
            zero, zero, func.sum(entered.c.seconds), func.count(), zero, zero, zero,
        )).select_from(entered).join(facts, and_(
            fact.interest_id == entered.c.interest_id,
            _not_along_an_index(fact.pipeline_id) == entered.c.pipeline_id,
            or_(entered.c.kind == "open", entered.c.stage_id == fact.stage_id)))
    return [reaching, staying.where(condition).group_by(*keys)]


def _not_along_an_index(column):
    """`column` as SQLite cannot look it up along an index: it would walk the facts of
    each stage's pipeline along theirs, once per stage, instead of the stays once.
    (PostgreSQL's planner makes its own choice well, and misjudges the expression.)"""
    return column + 0 if db.session.get_bind().dialect.name == "sqlite" else column


def _columns(source):
    """The columns of a model, or of a SELECT made a table (its `c`)."""
    return getattr(source, "c", source)


def _keys(keys: list) -> list:
    """The keys as FunnelMonth names them (the stage's id is its stage_id)."""
    return [key.label("stage_id") if key.name == "id" else key for key in keys]


def _named(*sums) -> list:
    return [value.label(name) for name, value in zip(MONTH_SUMS, sums, strict=True)]


MONTH_SUMS = ["reached", "amount", "seconds", "stays", "current", "current_amount",
              "current_won"]
MONTH_KEYS = ["pipeline_id", "stage_id", "responsible_id"]


def _write_months(kind: str, first: dt.date, last: dt.date, every: bool = False) -> None:
    """The months from `first` to `last` (first days) added up again from the facts: one
    INSERT … SELECT per stretch of one UTC offset, each fact in the local month of its
    moment."""
    column = MONTH_MOMENTS[kind]
    following = month_after(last.year, last.month)
    db.session.execute(delete(FunnelMonth).where(
        FunnelMonth.kind == kind, FunnelMonth.month >= first, FunnelMonth.month <= last))
    start, end = utc_bounds(first, following - dt.timedelta(days=1))
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    bounds = (first.isoformat(), last.isoformat()) if sqlite else (first, last)
    second = dt.timedelta(seconds=1)
    segments = offset_segments(start, end)
    for index, (low, high, minutes) in enumerate(segments):
        # The outer ends widened by a second and the months keeping to their own: on SQLite
        # a time written without its microseconds sorts before the same time with them.
        low = low - second if index == 0 else low
        high = high + second if index == len(segments) - 1 else high
        month = _local_month(column, minutes)
        # A few months are read along an index, every month in one pass over the table
        # (and where one offset holds all along, without conditions the planner would
        # take for narrowing the facts down to a few).
        condition = and_(column >= low, column < high, month.between(*bounds))
        if not every:
            condition = and_(of_pipeline(), condition)
        elif len(segments) == 1:
            condition = column.is_not(None)
        for query in funnel_sums(kind, condition, month, few=not every):
            _insert_selected(FunnelMonth, ["month", *MONTH_KEYS, *MONTH_SUMS, "kind"],
                             query.add_columns(literal_column(f"'{kind}'")), every)


# --- the auto-motivator ---------------------------------------------------------------------


def offset_segments(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime,
                                                                          dt.datetime, int]]:
    """[start, end) in naive UTC cut where the company's clocks change: (from, to, the
    offset in minutes that holds between them). Found day by day, then to the minute."""
    zone = company_tz()

    def offset(moment: dt.datetime) -> int:
        local = moment.replace(tzinfo=dt.timezone.utc).astimezone(zone)
        return int(local.utcoffset().total_seconds() // 60)

    segments, begin, current = [], start, offset(start)
    moment = start
    while moment < end:
        # Clocks change at most once a day: a day whose end keeps the offset has no change.
        following = min(moment + dt.timedelta(days=1), end)
        probe = following if following < end else end - dt.timedelta(seconds=1)
        if probe > moment and offset(probe) != current:
            low, high = moment, probe  # the clocks change in (low, high]
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) / 2
                if offset(middle) == current:
                    low = middle
                else:
                    high = middle
            change = high.replace(second=0, microsecond=0)
            segments.append((begin, change, current))
            begin, current = change, offset(change)
        moment = following
    segments.append((begin, end, current))
    return segments


def _local_day(column, minutes: int):
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(column + literal_column(f"interval '{minutes} minutes'"), db.Date)
    return func.date(column, f"{minutes:+d} minutes")


def _done_per_day(low: dt.datetime, high: dt.datetime, minutes: int):
    """SELECT (local day, user, done, points) of the interactions done in [low, high), whose
    clocks are `minutes` ahead of UTC all along."""
    day = _local_day(Interaction.done_at, minutes).label("day")
    return day, select(
        day, Interaction.responsible_id, func.count(),
        func.coalesce(func.sum(DictionaryItem.points), 0),
    ).outerjoin(DictionaryItem, DictionaryItem.id == Interaction.type_id).where(
        Interaction.status == "done", Interaction.responsible_id.is_not(None),
        Interaction.done_at >= low, Interaction.done_at < high,
    ).group_by(day, Interaction.responsible_id)


def _activity(start: dt.datetime, end: dt.datetime) -> dict[tuple[dt.date, int], list[int]]:
    """(local day, user) -> [done, points] of the interactions done in [start, end)."""
    totals: dict[tuple[dt.date, int], list[int]] = {}
    for low, high, minutes in offset_segments(start, end):
        for local_day, user_id, done, points in db.session.execute(
                _done_per_day(low, high, minutes)[1]):
            if isinstance(local_day, str):
                local_day = dt.date.fromisoformat(local_day)
            cell = totals.setdefault((local_day, user_id), [0, 0])
            cell[0] += done
            cell[1] += int(points)
    return totals


def utc_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = company_tz()

    def utc(day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time.min).replace(tzinfo=zone)
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)

    return utc(first), utc(last + dt.timedelta(days=1))


def _write_activity(first: dt.date, last: dt.date, whole: bool = False) -> int:
    """The days from `first` to `last` computed again. Each stretch of one UTC offset is
    one INSERT … SELECT; a day the clocks change on spans two and is added up apart."""
    db.session.execute(delete(ActivityFact).where(ActivityFact.day >= first,
                                                  ActivityFact.day <= last))
    segments = offset_segments(*utc_bounds(first, last))
    seams = sorted({_local_date(low) for low, _high, _minutes in segments[1:]})
    as_stored = [day.isoformat() for day in seams] \
        if db.session.get_bind().dialect.name == "sqlite" else seams
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    bounds = (first.isoformat(), last.isoformat()) if sqlite else (first, last)
    written = 0
    second = dt.timedelta(seconds=1)
    for low, high, minutes in segments:
        # The days bound it, the times only narrow it down: on SQLite a time written
        # without its microseconds ("…21:00:00") sorts before the same time with them.
        day, query = _done_per_day(low - second, high + second, minutes)
        query = query.where(day.between(*bounds))
        if seams:
            query = query.where(day.not_in(as_stored))
        written += _insert_selected(ActivityFact, ["day", "user_id", "done", "points"],
                                    query, whole)
    for seam in seams:
        start, end = utc_bounds(seam, seam)
        rows = [{"day": day, "user_id": user_id, "done": done, "points": points}
                for (day, user_id), (done, points) in _activity(start - second,
                                                                end + second).items()
                if day == seam]
        if rows:
            db.session.execute(insert(ActivityFact), rows)
        written += len(rows)
    return written


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(company_tz()).date()


def rebuild_activity(_since=None) -> int:
    db.session.execute(delete(ActivityFact))
    first, last = db.session.execute(
        select(func.min(Interaction.done_at), func.max(Interaction.done_at))
        .where(Interaction.status == "done")).one()
    if first is None:
        return 0
    return _write_activity(_local_date(first), _local_date(last), whole=True)


def _ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days joined: [(first, last), ...]."""
    ranges: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day - ranges[-1][1] == dt.timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(first, last) for first, last in ranges]


def refresh_activity(since: dt.datetime) -> int:
    """Recompute the days of the interactions done or changed since `since`."""
    # Found along the index of when they changed (asked for done ones or distinct times,
    # SQLite's planner would rather walk every done interaction in order).
    moments = set(db.session.execute(select(Interaction.done_at).where(
        Interaction.changed_on >= since - LATE_COMMIT_MARGIN)).scalars())
    days = {_local_date(moment) for moment in moments if moment is not None}
    return sum(_write_activity(first, last) for first, last in _ranges(days))


# --- the clients' control and quality --------------------------------------------------------


def _blank(column):
    return func.coalesce(func.trim(column), "") == ""


def _flag(condition):
    return case((condition, True), else_=False)


def _client_rows(clients, now: dt.datetime):
    """SELECT the indicators of the clients whose ids `clients` gives, as of `now`.

    R12: red when the client has no open interest or an overdue interaction; yellow when
    its portrait (a company's industry, size, contact type and source; a person's contact
    type and source) or its contacts' information (each contact with a phone or an e-mail,
    and one at least; a person's own) is missing; green when all four hold."""
    interests = select(Interest.client_id, func.count().label("n")).join(
        Stage, Stage.id == Interest.stage_id).where(
        Stage.kind == "open", Interest.closed_at.is_(None),
        Interest.client_id.in_(clients)).group_by(Interest.client_id).subquery("interests")
    plans = select(
        Interaction.client_id,
        func.sum(case((Interaction.planned_at < now, 1), else_=0)).label("overdue"),
        func.sum(case((Interaction.planned_at >= now, 1), else_=0)).label("planned"),
    ).where(Interaction.status == "planned", Interaction.client_id.in_(clients)).group_by(
        Interaction.client_id).subquery("plans")
    people = select(
        Contact.client_id, func.count().label("n"),
        func.sum(case((and_(_blank(Contact.phone), _blank(Contact.email)), 1),
                      else_=0)).label("bare"),
    ).where(Contact.client_id.in_(clients)).group_by(Contact.client_id).subquery("people")
    other = aliased(Client)
    duplicate = or_(*(and_(column.is_not(None), column != "", exists().where(
        getattr(other, column.key) == column, other.id != Client.id))
        for column in (Client.inn, Client.phone_normalized, Client.email_normalized)))
    open_count = func.coalesce(interests.c.n, 0)
    overdue = func.coalesce(plans.c.overdue, 0)
    portrait = and_(Client.contact_type_id.is_not(None), Client.source_id.is_not(None),
                    or_(Client.kind == "person",
                        and_(Client.industry_id.is_not(None), Client.size_id.is_not(None))))
    contacts, bare = func.coalesce(people.c.n, 0), func.coalesce(people.c.bare, 0)
    reachable = or_(
        and_(Client.kind == "person", or_(~_blank(Client.phone), ~_blank(Client.email))),
        and_(Client.kind != "person", contacts > 0, bare == 0))
    colour = case((or_(open_count == 0, overdue > 0), "red"),
                  (or_(~portrait, ~reachable), "yellow"), else_="green")
    return select(
        Client.id, Client.responsible_id, open_count, overdue,
        func.coalesce(plans.c.planned, 0), contacts, bare, _flag(portrait), _flag(reachable),
        _flag(duplicate), colour,
    ).select_from(Client).outerjoin(interests, interests.c.client_id == Client.id).outerjoin(
        plans, plans.c.client_id == Client.id).outerjoin(
        people, people.c.client_id == Client.id).where(Client.id.in_(clients))


CLIENT_COLUMNS = ("client_id", "responsible_id", "open_interests", "overdue", "planned",
                  "contacts", "bare_contacts", "portrait", "reachable", "duplicate", "colour")


def _summarise(owners=None) -> None:
    """The per-responsible sums, of every responsible or of `owners` (a set; None stands
    for the clients nobody is responsible for)."""
    def where(column):
        if owners is None:
            return True
        ids = sorted(o for o in owners if o is not None)
        condition = column.in_(ids)
        return or_(condition, column.is_(None)) if None in owners else condition

    def count(condition):
        return func.sum(case((condition, 1), else_=0))

    db.session.execute(delete(ClientSummary).where(where(ClientSummary.responsible_id)))
    fact = ClientFact
    db.session.execute(insert(ClientSummary).from_select(
        ["responsible_id", "clients", "green", "yellow", "red", "warm", "with_overdue",
         "no_portrait", "unreachable", "duplicates", "open_interests", "overdue", "planned",
         "contacts", "bare_contacts"],
        select(fact.responsible_id, func.count(), count(fact.colour == "green"),
               count(fact.colour == "yellow"), count(fact.colour == "red"),
               count(fact.open_interests > 0), count(fact.overdue > 0),
               count(fact.portrait.is_(False)), count(fact.reachable.is_(False)),
               count(fact.duplicate.is_(True)), func.sum(fact.open_interests),
               func.sum(fact.overdue), func.sum(fact.planned), func.sum(fact.contacts),
               func.sum(fact.bare_contacts))
        .where(where(fact.responsible_id)).group_by(fact.responsible_id)))


def rebuild_clients(_since=None) -> int:
    db.session.execute(delete(ClientFact))
    with _indexes_built_after(ClientFact):
        written = _insert_selected(ClientFact, CLIENT_COLUMNS,
                                   _client_rows(select(Client.id), utcnow()), whole=True)
    _summarise()
    return written


def refresh_clients(since: dt.datetime) -> int:
    """The clients whose record, interests, interactions or contacts changed since `since`,
    and those with a plan that has become overdue since."""
    now, after = utcnow(), since - LATE_COMMIT_MARGIN
    changed = union(
        select(Client.id).where(Client.changed_on >= after),
        select(Interest.client_id).where(Interest.changed_on >= after),
        select(Interaction.client_id).where(Interaction.changed_on >= after),
        select(Interaction.client_id).where(Interaction.status == "planned",
                                            Interaction.planned_at >= after,
                                            Interaction.planned_at < now),
        select(Contact.client_id).where(Contact.changed_on >= after),
    ).subquery()
    ids = sorted(i for i in db.session.execute(select(changed.c[0])).scalars()
                 if i is not None)
    gone = select(ClientFact.client_id).where(~exists().where(Client.id == ClientFact.client_id))
    ids += list(db.session.execute(gone).scalars())
    if not ids:
        return 0
    owners, written = set(), 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]

        def responsibles(chunk=chunk):
            return set(db.session.execute(select(ClientFact.responsible_id).where(
                ClientFact.client_id.in_(chunk)).distinct()).scalars())

        owners |= responsibles()
        db.session.execute(delete(ClientFact).where(ClientFact.client_id.in_(chunk)))
        written += db.session.execute(insert(ClientFact).from_select(
            CLIENT_COLUMNS, _client_rows(select(Client.id).where(Client.id.in_(chunk)), now)
        )).rowcount or 0
        owners |= responsibles()
    _summarise(owners)
    return written


# --- ABC/XYZ ---------------------------------------------------------------------------------

MONTHS = 12


def abc_window(today: dt.date) -> list[tuple[int, int]]:
    """The twelve full months before this one, oldest first: [(year, month)]."""
    months, year, month = [], today.year, today.month
    for _ in range(MONTHS):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        months.append((year, month))
    return list(reversed(months))


def rebuild_abc(_since=None) -> int:
    """Every client with won interests in the window classed afresh, its class written on
    the client where it changed; the others lose theirs."""
    window = abc_window(local_today())
    first, following = dt.date(*window[0], 1), month_after(*window[-1])
    start, end = utc_bounds(first, first)[0], utc_bounds(following, following)[0]
    place = {month: index for index, month in enumerate(window)}
    localise = to_local_many()
    monthly: dict[int, list] = {}
    owners: dict[int, int] = {}
    won = select(Interest.client_id, Interest.closed_at, Interest.amount,
                 Client.responsible_id).join(Stage, Stage.id == Interest.stage_id).join(
        Client, Client.id == Interest.client_id).where(
        Stage.kind == "won", Interest.closed_at >= start, Interest.closed_at < end)
    for client_id, closed_at, amount, responsible_id in db.session.execute(won):
        local = localise(closed_at)
        index = place.get((local.year, local.month))
        if index is None:
            continue
        months = monthly.setdefault(client_id, [Decimal(0)] * MONTHS)
        months[index] += Decimal(amount)
        owners[client_id] = responsible_id
    classes = classify(monthly)
    db.session.execute(delete(AbcFact))
    if classes:
        db.session.execute(insert(AbcFact), [
            {"client_id": client, "responsible_id": owners[client], "revenue": c.revenue,
             "variation": c.variation, "abc": c.abc, "xyz": c.xyz}
            for client, c in classes.items()])
    _keep_classes_on_clients(classes)
    return len(classes)


def refresh_abc(since: dt.datetime) -> int:
    """The classes computed whole again when an interest or a client changed since
    `since`, or a new month has moved the window; else as they are."""
    after = since - LATE_COMMIT_MARGIN
    moved = _local_date(since).replace(day=1) != local_today().replace(day=1)
    changed = moved or any(db.session.execute(select(model.id).where(
        model.changed_on >= after).limit(1)).first() for model in (Interest, Client))
    return rebuild_abc() if changed else 0


def month_after(year: int, month: int) -> dt.date:
    return dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)


def _keep_classes_on_clients(classes) -> None:
    """Client.abc_class and xyz_class as `classes` has them, written only where they
    differ (a Core UPDATE that keeps the time of the last change: a computed class is not
    a change a user made, nor one the refresh must look at again)."""
    table = Client.__table__
    current = {row.id: (row.abc_class, row.xyz_class) for row in db.session.execute(
        select(table.c.id, table.c.abc_class, table.c.xyz_class).where(
            or_(table.c.abc_class.is_not(None), table.c.xyz_class.is_not(None))))}
    wanted = {client: (c.abc, c.xyz) for client, c in classes.items()}
    changes = [{"key": client, "abc": pair[0], "xyz": pair[1]}
               for client, pair in wanted.items() if current.get(client) != pair]
    changes += [{"key": client, "abc": None, "xyz": None}
                for client in current if client not in wanted]
    if changes:
        db.session.execute(
            update(table).where(table.c.id == bindparam("key"))
            .values(abc_class=bindparam("abc"), xyz_class=bindparam("xyz"),
                    changed_on=table.c.changed_on), changes)


# --- the runs --------------------------------------------------------------------------------

TABLES: dict[str, tuple[Callable, Callable]] = {
    "funnel": (rebuild_funnel, refresh_funnel),
    "activity": (rebuild_activity, refresh_activity),
    "clients": (rebuild_clients, refresh_clients),
    # Twelve months of revenue: computed whole when anything they rest on changed.
    "abc": (rebuild_abc, refresh_abc),
}


TABLE_MODELS = {"funnel": FunnelFact, "activity": ActivityFact, "clients": ClientFact,
                "abc": AbcFact}


def state(name: str) -> ReportState | None:
    return db.session.get(ReportState, name)


def compute(name: str, *, full: bool = False) -> ReportState:
    """Bring one report table up to date in one transaction: whole when `full`, never
    computed or emptied since, else the changes since its watermark."""
    rebuild, refresh = TABLES[name]
    started, clock = utcnow(), time.perf_counter()
    with unit_of_work():
        if db.session.get_bind().dialect.name == "postgresql":
            # Figures computed from the records are computed again after a crash: the
            # commit need not wait until the disk has them.
            db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        current = db.session.get(ReportState, name, with_for_update=True)
        if current is None:
            current = ReportState(name=name)
            db.session.add(current)
        whole = full or current.watermark is None or _emptied(name, current)
        rebuild() if whole else refresh(current.watermark)
        # What the table holds now (a driver may not say how many rows a statement wrote).
        rows = db.session.execute(select(func.count()).select_from(TABLE_MODELS[name])).scalar()
        current.computed_at = utcnow()
        current.watermark = started
        current.rows = int(rows)
        current.full = whole
        current.seconds = round(time.perf_counter() - clock, 3)
        current.error = None
    return current


def _emptied(name: str, current: ReportState) -> bool:
    """Whether the table has lost the rows it was computed with: PostgreSQL empties the
    report tables (unlogged, migration 0018) when it recovers from a crash."""
    model = TABLE_MODELS[name]
    return bool(current.rows) and db.session.execute(
        select(literal(1)).select_from(model).limit(1)).first() is None


def refresh_all(_now: dt.datetime | None = None) -> int:
    """The job of every few minutes: each table brought up to date."""
    return sum(compute(name).rows for name in TABLES)


def rebuild_all(_now: dt.datetime | None = None) -> int:
    """The nightly job: each table computed whole."""
    return sum(compute(name, full=True).rows for name in TABLES)


def computed_at(names: Iterable[str]) -> dt.datetime | None:
    """When the oldest of these tables was computed; None if one never was."""
    stamps = [getattr(state(name), "computed_at", None) for name in names]
    return None if not stamps or None in stamps else min(stamps)

