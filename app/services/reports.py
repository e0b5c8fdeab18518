"""The reports a supervisor acts on, read from the report tables (app.services.report_tables)
through the access filter: a manager sees their own figures, a head of department the
subtree's (the rights matrix's "report" entity).

Each report answers a Grid: its columns, its rows, a totals row, where each cell drills
down to, a chart, and when its data was computed. The screens draw it, the API answers it
as JSON, and an export writes exactly its rows.

- funnel: per stage of a pipeline, the interests started in the period that reached it,
  their sum, the conversion to the next stage and to won, the average time in the stage;
  by manager or by department, side by side with their plans (SalesPlan).
- motivator (R11): each manager's points of done interactions per day against the norm of
  their department, the fulfilment in %, the days below the norm.
- time_spent: the minutes the interactions done in the period took (as recorded when each
  was completed), per manager or per manager and client, a column per interaction type;
  read from the interactions themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO
from typing import Any, Optional

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, and_, cast, func, select, union_all
from sqlalchemy.orm import aliased

from app.database import db
from app.models import (
    CONTROL_COLOURS,
    AbcFact,
    ActivityFact,
    Client,
    ClientFact,
    ClientSummary,
    CompanyRequisites,
    CrmUser,
    Department,
    DictionaryItem,
    FunnelFact,
    FunnelMonth,
    Interaction,
    Interest,
    Pipeline,
    Product,
    ProductGroup,
    SalesPlan,
    Stage,
)
from app.rules.validation import ValidationError, validate_email
from app.services import access, exports, mail, report_tables
from app.services.clock import FIRST_DAY, LAST_DAY, company_tz, local_today
from app.services.errors import DomainError, Forbidden, RecordInvalid
from app.services.exports import ExportColumn
from app.services.principals import subtree

REPORTS = {
    "funnel": _l("Sales funnel"),
    "motivator": _l("Auto-motivator"),
    "control": _l("Supervisor's control"),
    "quality": _l("Quality of the client base"),
    "abcxyz": _l("ABC/XYZ analysis"),
    "pricelist": _l("Price list"),
    "time_spent": _l("Time spent"),
}
FUNNEL_VIEWS = {"stages": _l("By stages"), "managers": _l("By managers"),
                "departments": _l("By departments")}
# The variants of the supervisor's control (1C:CRM's "Контроль руководителя").
CONTROL_VIEWS = {"clients": _l("By clients"), "touches": _l("Touches per client"),
                 "interactions": _l("By interactions"), "warm": _l("By warm clients"),
                 "interests": _l("By interests"),
                 "clients_interests": _l("By clients and interests")}
# Time spent: minutes per manager, or per manager and client; a column per type.
TIME_VIEWS = {"managers": _l("By managers"), "clients": _l("By managers and clients")}
VIEWS = {"funnel": FUNNEL_VIEWS, "control": CONTROL_VIEWS, "time_spent": TIME_VIEWS}
MAX_DAYS = 366 * 2
MAX_CHOSEN = 500  # items chosen by hand for a price list
DAY_COLUMNS_UP_TO = 31  # a motivator of a longer period shows no column per day


@dataclass
class Filters:
    start: dt.date
    end: dt.date
    pipeline_id: Optional[int] = None
    department_id: Optional[int] = None
    manager_id: Optional[int] = None
    view: str = ""
    group_id: Optional[int] = None      # the price list's product group
    products: tuple[int, ...] = ()      # the price list's chosen items

    def as_args(self) -> dict:
        args = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.view:
            args["view"] = self.view
        for name in ("pipeline_id", "department_id", "manager_id", "group_id"):
            if getattr(self, name) is not None:
                args[name.removesuffix("_id")] = getattr(self, name)
        if self.products:
            args["product"] = list(self.products)
        return args


@dataclass
class Grid:
    name: str
    title: str
    filters: Filters
    columns: list[ExportColumn]
    rows: list[dict]
    totals: Optional[dict]
    computed_at: Optional[dt.datetime]
    # Row and column key -> the drill-down's arguments (app.services.reports.drill).
    drills: dict = field(default_factory=dict)
    chart: dict = field(default_factory=dict)
    # Cells that stand out (a day below the norm): {(row index, column key)}
    marked: set = field(default_factory=set)
    pipelines: list = field(default_factory=list)
    checks: list = field(default_factory=list)  # the quality's check wizard
    sums: dict = field(default_factory=dict)    # what the totals row was made from
    live: bool = False  # read from the records themselves, not from a report table

    def values(self, with_totals: bool = True) -> list[list[Any]]:
        """The rows as an export writes them: the columns' values, the totals last."""
        keys = [column.key for column in self.columns]
        rows = [[row.get(key) for key in keys] for row in self.rows]
        if with_totals and self.totals is not None:
            rows.append([self.totals.get(key) for key in keys])
        return rows


# --- filters ---------------------------------------------------------------------------------


def _int(value, name: str, errors: dict) -> Optional[int]:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not 0 < number < 2**31:
        errors[name] = [gettext("Not a number.")]
        return None
    return number


def _day(value, name: str, default: dt.date, errors: dict) -> dt.date:
    if value in (None, ""):
        return default
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            day = dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if FIRST_DAY <= day <= LAST_DAY:
            return day
        errors[name] = [gettext("A date from %(first)s to %(last)s.",
                                first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())]
        return default
    errors[name] = [gettext("Not a date: %(value)s", value=text)]
    return default


def parse_filters(args, report: str = "funnel") -> Filters:
    """The filters of a request's arguments: `start`, `end` (dates, by default this
    month), `pipeline`, `department`, `manager` (ids), `view`. Bad values are refused with
    a message per argument."""
    errors: dict = {}
    today = local_today()
    month_end = today.replace(day=28) + dt.timedelta(days=4)
    month_end -= dt.timedelta(days=month_end.day)
    start = _day(args.get("start"), "start", today.replace(day=1), errors)
    end = _day(args.get("end"), "end", month_end, errors)
    if not errors and end < start:
        errors["end"] = [gettext("The end of the period is before its start.")]
    if not errors and (end - start).days > MAX_DAYS:
        errors["end"] = [gettext("A period of at most %(days)s days.", days=MAX_DAYS)]
    choices = VIEWS.get(report, {})
    view = args.get("view") or next(iter(choices), "")
    if choices and view not in choices:
        errors["view"] = [gettext("Choose %(choices)s.", choices=", ".join(choices))]
    if not choices:
        view = ""
    chosen = args.getlist("product") if hasattr(args, "getlist") else args.get("product")
    if not isinstance(chosen, list):
        chosen = [] if chosen in (None, "") else [chosen]
    if len(chosen) > MAX_CHOSEN:
        errors["product"] = [gettext("At most %(count)s items.", count=MAX_CHOSEN)]
    products = tuple(sorted({number for number in (_int(value, "product", errors)
                                                   for value in chosen[:MAX_CHOSEN])
                             if number is not None}))
    filters = Filters(start, end, _int(args.get("pipeline"), "pipeline", errors),
                      _int(args.get("department"), "department", errors),
                      _int(args.get("manager"), "manager", errors), view,
                      _int(args.get("group"), "group", errors), products)
    if errors:
        raise RecordInvalid(errors)
    return filters


def _utc_period(filters: Filters) -> tuple[dt.datetime, dt.datetime]:
    zone = company_tz()

    def utc(day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time.min).replace(tzinfo=zone)
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)

    return utc(filters.start), utc(filters.end + dt.timedelta(days=1))


def _people(column, filters: Filters):
    """The access filter on a column of user ids and the department and manager chosen."""
    conditions = [access.figures_condition(column)]
    if filters.department_id is not None:
        conditions.append(column.in_(select(CrmUser.id).where(
            CrmUser.department_id.in_(sorted(subtree(filters.department_id))))))
    if filters.manager_id is not None:
        conditions.append(column == filters.manager_id)
    return and_(*conditions)


def pipelines() -> list[Pipeline]:
    return list(db.session.execute(select(Pipeline).order_by(Pipeline.sort, Pipeline.name))
                .scalars())


def _pipeline(filters: Filters) -> Optional[Pipeline]:
    if filters.pipeline_id is not None:
        found = db.session.get(Pipeline, filters.pipeline_id)
        if found is None:
            raise RecordInvalid({"pipeline": [gettext("No such pipeline.")]})
        return found
    every = pipelines()
    chosen = next((p for p in every if p.is_default), every[0] if every else None)
    if chosen is not None:
        filters.pipeline_id = chosen.id
    return chosen


def _percent(part, whole) -> Optional[Decimal]:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


# --- the funnel ---------------------------------------------------------------------------


def _stages(pipeline: Pipeline) -> list[Stage]:
    order = {"open": 0, "won": 1, "lost": 2}
    return sorted(pipeline.stages, key=lambda s: (order.get(s.kind, 3), s.sort, s.id))


def _started(filters: Filters):
    start, end = _utc_period(filters)
    return and_(FunnelFact.pipeline_id == filters.pipeline_id, FunnelFact.started_at >= start,
                FunnelFact.started_at < end, _people(FunnelFact.responsible_id, filters))


def _won_in_period(filters: Filters):
    start, end = _utc_period(filters)
    return and_(FunnelFact.pipeline_id == filters.pipeline_id, FunnelFact.won,
                FunnelFact.closed_at >= start, FunnelFact.closed_at < end,
                _people(FunnelFact.responsible_id, filters))


def _whole_months(filters: Filters) -> Optional[tuple[dt.date, dt.date]]:
    """The first and the last of the months the period holds whole (their first days)."""
    first = filters.start if filters.start.day == 1 else \
        report_tables.month_after(filters.start.year, filters.start.month)
    after = filters.end + dt.timedelta(days=1)
    following = after if after.day == 1 else after.replace(day=1)
    if first >= following:
        return None
    last = (following - dt.timedelta(days=1)).replace(day=1)
    return first, last


def _funnel_sums(filters: Filters, kind: str, keys: list[str]) -> list:
    """FunnelMonth's sums of one kind ("started": by the interests started in the period,
    "closed": won in it) per `keys` over the period and the people chosen: the whole
    months from FunnelMonth, the days at the ends from the facts."""
    moment = report_tables.MONTH_MOMENTS[kind]
    parts = []
    months = _whole_months(filters)
    if months is not None:
        parts.append(select(*(getattr(FunnelMonth, name) for name in
                              report_tables.MONTH_KEYS + report_tables.MONTH_SUMS)).where(
            FunnelMonth.kind == kind, FunnelMonth.pipeline_id == filters.pipeline_id,
            FunnelMonth.month.between(*months),
            _people(FunnelMonth.responsible_id, filters)))
        start, end = filters.start, filters.end
        edges = [(start, months[0] - dt.timedelta(days=1)),
                 (report_tables.month_after(months[1].year, months[1].month), end)]
    else:
        edges = [(filters.start, filters.end)]
    for first, last in edges:
        if first > last:
            continue
        low, high = report_tables.utc_bounds(first, last)
        parts += report_tables.funnel_sums(kind, and_(
            report_tables.of_pipeline(filters.pipeline_id), moment >= low, moment < high,
            _people(FunnelFact.responsible_id, filters)), few=True)
    every = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    columns = list(every.c)
    named = dict(zip(report_tables.MONTH_KEYS + report_tables.MONTH_SUMS, columns, strict=True))
    grouped = [named[key].label(key) for key in keys]
    # Typed as the table has them (PostgreSQL adds up integers into numerics).
    return list(db.session.execute(select(
        *grouped, *(cast(func.coalesce(func.sum(named[name]), 0),
                         FunnelMonth.__table__.c[name].type).label(name)
                    for name in report_tables.MONTH_SUMS if name != "seconds"),
        cast(func.sum(named["seconds"]), BigInteger).label("seconds"),
    ).group_by(*grouped)))


def funnel(filters: Filters) -> Grid:
    pipeline = _pipeline(filters)
    if filters.view == "stages":
        grid = _funnel_by_stages(filters, pipeline)
    else:
        grid = _funnel_by_people(filters, filters.view)
    grid.pipelines = pipelines()
    return grid


def _funnel_by_stages(filters: Filters, pipeline: Optional[Pipeline]) -> Grid:
    columns = [
        ExportColumn("stage", _l("Stage")),
        ExportColumn("reached", _l("Interests"), "integer"),
        ExportColumn("amount", _l("Sum"), "money"),
        ExportColumn("of_first", _l("Share of the first stage, %"), "decimal"),
        ExportColumn("to_next", _l("To the next stage, %"), "decimal"),
        ExportColumn("to_won", _l("To won, %"), "decimal"),
        ExportColumn("days", _l("Days in the stage"), "decimal"),
    ]
    grid = Grid("funnel", str(REPORTS["funnel"]), filters, columns, [], None,
                report_tables.computed_at(["funnel"]))
    if pipeline is None:
        return grid
    figures = {row.stage_id: row for row in _funnel_sums(filters, "started", ["stage_id"])}
    started = sum(row.current for row in figures.values())
    won = sum(row.current_won for row in figures.values())
    stages = _stages(pipeline)
    opened = [s for s in stages if s.kind == "open"]
    won_count = sum(figures[s.id].reached for s in stages if s.kind == "won" and s.id in figures)
    first = figures[opened[0].id].reached if opened and opened[0].id in figures else 0
    for index, stage in enumerate(stages):
        row = figures.get(stage.id)
        reached = row.reached if row else 0
        if stage.kind == "open":
            following = opened[index + 1] if index + 1 < len(opened) else None
            next_count = (figures[following.id].reached if following and following.id in figures
                          else 0) if following else won_count
            to_next, to_won = _percent(next_count, reached), _percent(won_count, reached)
        else:
            to_next = to_won = None
        days = None
        if row is not None and row.stays:
            days = (Decimal(row.seconds) / row.stays / 86400).quantize(Decimal("0.1"))
        grid.rows.append({"stage": stage.name, "stage_id": stage.id, "kind": stage.kind,
                          "color": stage.color, "reached": reached,
                          "amount": _money(row.amount if row else 0),
                          "of_first": _percent(reached, first) if stage.kind == "open" else
                          _percent(reached, started),
                          "to_next": to_next, "to_won": to_won, "days": days})
        grid.drills[(len(grid.rows) - 1, "reached")] = {"stage": stage.id}
    amount = sum(row.current_amount for row in figures.values())
    grid.totals = {"stage": gettext("Interests started in the period"), "reached": started,
                   "amount": _money(amount), "to_won": _percent(won, started)}
    grid.chart = {"type": "bar", "labels": [row["stage"] for row in grid.rows],
                  "series": [{"label": gettext("Interests"),
                              "data": [row["reached"] for row in grid.rows],
                              "colors": [row["color"] or "#4e79a7" for row in grid.rows]}]}
    return grid


def _people_grid_columns(view: str) -> list[ExportColumn]:
    who = ExportColumn("who", _l("Manager") if view == "managers" else _l("Department"))
    return [who,
            ExportColumn("started", _l("Interests started"), "integer"),
            ExportColumn("won", _l("Won in the period"), "integer"),
            ExportColumn("won_amount", _l("Won, sum"), "money"),
            ExportColumn("plan_count", _l("Plan, interests"), "integer"),
            ExportColumn("plan_amount", _l("Plan, sum"), "money"),
            ExportColumn("fulfilment", _l("Plan fulfilment, %"), "decimal"),
            ExportColumn("conversion", _l("Conversion to won, %"), "decimal")]


def _departments_of(users: set[int]) -> dict[int, Optional[int]]:
    if not users:
        return {}
    return dict(db.session.execute(select(CrmUser.id, CrmUser.department_id)
                                   .where(CrmUser.id.in_(sorted(users)))).all())


def _plans(filters: Filters) -> list[SalesPlan]:
    """The plans whose period lies within the report's, of its pipeline or of all."""
    query = access.readable(SalesPlan).where(
        SalesPlan.starts_on >= filters.start, SalesPlan.ends_on <= filters.end,
        (SalesPlan.pipeline_id == filters.pipeline_id) | SalesPlan.pipeline_id.is_(None))
    return list(db.session.execute(query).scalars())


def _funnel_by_people(filters: Filters, view: str) -> Grid:
    grid = Grid("funnel", str(REPORTS["funnel"]), filters, _people_grid_columns(view), [],
                None, report_tables.computed_at(["funnel"]))
    by_started = _funnel_sums(filters, "started", ["responsible_id"])
    started = {row.responsible_id: row.current for row in by_started if row.current}
    won_started = {row.responsible_id: row.current_won for row in by_started}
    won = {row.responsible_id: (row.reached, row.amount)
           for row in _funnel_sums(filters, "closed", ["responsible_id"])}
    plans = _plans(filters)
    users = {key for key in [*started, *won] if key is not None}
    users |= {plan.manager_id for plan in plans if plan.manager_id is not None}
    if filters.manager_id is not None:
        users &= {filters.manager_id}
    department_of = _departments_of(users)
    if filters.department_id is not None:
        within = subtree(filters.department_id)
        users = {u for u in users if department_of.get(u) in within}

    def key_of(user_id):
        return user_id if view == "managers" else department_of.get(user_id)

    lines: dict[Any, dict] = {}

    def line(key) -> dict:
        return lines.setdefault(key, {"key": key, "started": 0, "won": 0,
                                      "won_amount": Decimal(0), "won_started": 0,
                                      "plan_count": None, "plan_amount": None})

    for user_id in users:
        entry = line(key_of(user_id))
        entry["started"] += started.get(user_id, 0)
        count, amount = won.get(user_id, (0, 0))
        entry["won"] += count
        entry["won_amount"] += Decimal(amount)
        entry["won_started"] += won_started.get(user_id, 0)
    own_department_plans = set()
    for plan in plans:
        if view == "departments" and plan.department_id is not None:
            if plan.department_id not in lines and not _chosen_department(plan, filters):
                continue
            entry = line(plan.department_id)
            if plan.department_id not in own_department_plans:
                own_department_plans.add(plan.department_id)
                entry["plan_count"] = entry["plan_amount"] = None
        elif plan.manager_id in users and (view == "managers" or
                                        key_of(plan.manager_id) not in own_department_plans):
            entry = line(key_of(plan.manager_id))
        else:
            continue
        entry["plan_count"] = (entry["plan_count"] or 0) + plan.won_count
        entry["plan_amount"] = (entry["plan_amount"] or Decimal(0)) + plan.won_amount
    names = _names(view, set(lines))
    for key, entry in sorted(lines.items(), key=lambda item: names.get(item[0], "")):
        grid.rows.append({
            "who": names.get(key, gettext("No department") if view == "departments" else
                             gettext("Nobody")),
            "key": key, "started": entry["started"], "won": entry["won"],
            "won_amount": _money(entry["won_amount"]), "plan_count": entry["plan_count"],
            "plan_amount": None if entry["plan_amount"] is None else
            _money(entry["plan_amount"]),
            "fulfilment": _percent(entry["won_amount"], entry["plan_amount"]),
            "conversion": _percent(entry["won_started"], entry["started"])})
        index, who = len(grid.rows) - 1, "manager" if view == "managers" else "line_department"
        if key is not None:
            grid.drills[(index, "started")] = {"cell": "started", who: key}
            grid.drills[(index, "won")] = {"cell": "won", who: key}
    total = {name: sum(row[name] or 0 for row in grid.rows)
             for name in ("started", "won", "won_amount")}
    planned = any(row["plan_amount"] is not None for row in grid.rows)
    plan_amount = sum((row["plan_amount"] or 0) for row in grid.rows) if planned else None
    grid.totals = {"who": gettext("Total"), **total,
                   "won_amount": _money(total["won_amount"]),
                   "plan_count": sum(row["plan_count"] or 0 for row in grid.rows)
                   if planned else None,
                   "plan_amount": plan_amount,
                   "fulfilment": _percent(total["won_amount"], plan_amount),
                   "conversion": _percent(sum(e["won_started"] for e in lines.values()),
                                          total["started"])}
    grid.chart = {"type": "bar", "labels": [row["who"] for row in grid.rows],
                  "series": [{"label": gettext("Won, sum"),
                              "data": [float(row["won_amount"]) for row in grid.rows]},
                             {"label": gettext("Plan, sum"),
                              "data": [float(row["plan_amount"] or 0) for row in grid.rows]}]}
    return grid


def _chosen_department(plan: SalesPlan, filters: Filters) -> bool:
    return filters.department_id is None or plan.department_id in subtree(
        filters.department_id)


def _names(view: str, keys: set) -> dict:
    ids = sorted(key for key in keys if key is not None)
    if not ids:
        return {}
    if view == "departments":
        return dict(db.session.execute(select(Department.id, Department.name)
                                       .where(Department.id.in_(ids))).all())
    return {user.id: str(user) for user in db.session.execute(
        select(CrmUser).where(CrmUser.id.in_(ids))).scalars()}


# --- drill-down -------------------------------------------------------------------------------

# A drill-down shows its first rows on the screen; an export holds them all.
DRILL_SHOWN = 500


@dataclass
class Drill:
    total: int          # the records behind the cell
    rows: list[dict]    # all of them, or the first `limit`


def _person(row) -> str:
    """A drill-down row's responsible, as a user is named everywhere (CrmUser.__str__)."""
    return f"{row.first_name or ''} {row.last_name or ''}".strip() or row.username or ""


def _limited(query, limit: Optional[int], model=None, facts=None):
    """(the total, the query cut to `limit` rows); no count without a limit.

    The rows are the report table's `facts` (a SELECT of them) joined to the records of
    `model` the user may read. Where the access filter lets every record through, the
    facts are counted alone, along an index; else the rows as the query has them."""
    if limit is None:
        return None, query
    if facts is not None and access.readable_owners(model) is access.EVERY_OWNER:
        counted = facts.with_only_columns(func.count()).order_by(None)
    else:
        counted = select(func.count()).select_from(query.order_by(None).subquery())
    return db.session.execute(counted).scalar(), query.limit(limit)


DRILL_COLUMNS = [
    ExportColumn("id", _l("No."), "integer"),
    ExportColumn("title", _l("Interest")),
    ExportColumn("client", _l("Client")),
    ExportColumn("responsible", _l("Responsible")),
    ExportColumn("stage", _l("Stage now")),
    ExportColumn("amount", _l("Sum"), "money"),
    ExportColumn("started", _l("Started"), "datetime"),
    ExportColumn("closed", _l("Closed"), "datetime"),
]


def funnel_drill(filters: Filters, args, limit: Optional[int] = None) -> Drill:
    """The interests behind one cell of the funnel: of a stage (`stage`), or a manager's
    or a department's line (`manager`, `line_department`) started or won (`cell`) in the
    period.
    Read through the access filter on interests too; for the built-in roles that is the
    same set, so the rows add up to the cell."""
    errors: dict = {}
    stage_id = _int(args.get("stage"), "stage", errors)
    cell = args.get("cell") or "started"
    if cell not in ("started", "won"):
        errors["cell"] = [gettext("Choose %(choices)s.", choices="started, won")]
    if errors:
        raise RecordInvalid(errors)
    _pipeline(filters)
    moment = FunnelFact.started_at
    if stage_id is not None:
        stage = db.session.get(Stage, stage_id)
        if stage is None or stage.pipeline_id != filters.pipeline_id:
            raise RecordInvalid({"stage": [gettext("No such stage in the pipeline.")]})
        where = and_(_started(filters), report_tables.reached(stage))
    elif cell == "won":
        where, moment = _won_in_period(filters), FunnelFact.closed_at
    else:
        where = _started(filters)
    department = _int(args.get("line_department"), "line_department", errors)
    if errors:
        raise RecordInvalid(errors)
    if department is not None:
        # A department's line holds its own employees (its sub-departments have theirs).
        where = and_(where, FunnelFact.responsible_id.in_(
            select(CrmUser.id).where(CrmUser.department_id == department)))
    # The latest first, read along the facts' index as far as the page goes.
    facts = select(FunnelFact.interest_id).where(where)
    current = aliased(Stage)
    query = access.readable(
        Interest, Interest.id, Interest.title, Client.name, CrmUser.first_name,
        CrmUser.last_name, CrmUser.username, current.name.label("stage"), Interest.amount,
        Interest.created_on, Interest.closed_at,
    ).join(FunnelFact, FunnelFact.interest_id == Interest.id).outerjoin(
        Client, Client.id == Interest.client_id).outerjoin(
        CrmUser, CrmUser.id == Interest.responsible_id).join(
        current, current.id == Interest.stage_id).where(where).order_by(
        moment.desc(), FunnelFact.interest_id.desc())
    total, query = _limited(query, limit, Interest, facts)
    rows = []
    for row in db.session.execute(query):
        person = _person(row)
        rows.append({"id": row.id, "title": row.title, "client": row.name or "",
                     "responsible": person or "", "stage": row.stage,
                     "amount": _money(row.amount), "started": row.created_on,
                     "closed": row.closed_at})
    return Drill(total if total is not None else len(rows), rows)


# --- the auto-motivator --------------------------------------------------------------------


def _days_of(filters: Filters) -> list[dt.date]:
    days, day = [], filters.start
    while day <= filters.end:
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def motivator(filters: Filters) -> Grid:
    """R11: per manager, the points of the interactions done each day of the period against
    the norm of their department (weekdays; a weekend's points count, its norm does not)."""
    days = _days_of(filters)
    per_day = len(days) <= DAY_COLUMNS_UP_TO
    columns = [ExportColumn("who", _l("Manager")), ExportColumn("department", _l("Department")),
               ExportColumn("norm", _l("Norm per day"), "integer"),
               ExportColumn("done", _l("Interactions done"), "integer"),
               ExportColumn("points", _l("Points"), "integer"),
               ExportColumn("expected", _l("Points by the norm"), "integer"),
               ExportColumn("fulfilment", _l("Fulfilment, %"), "decimal"),
               ExportColumn("below", _l("Days below the norm"), "integer")]
    if per_day:
        columns += [ExportColumn(f"d{day.isoformat()}", day.strftime("%d.%m"), "integer")
                    for day in days]
    grid = Grid("motivator", str(REPORTS["motivator"]), filters, columns, [], None,
                report_tables.computed_at(["activity"]))
    people = _people(CrmUser.id, filters)
    users = db.session.execute(
        select(CrmUser, Department.name, Department.activity_norm)
        .outerjoin(Department, Department.id == CrmUser.department_id)
        .where(people, CrmUser.active.is_(True) | CrmUser.id.in_(
            select(ActivityFact.user_id).where(ActivityFact.day >= filters.start,
                                               ActivityFact.day <= filters.end)))).all()
    facts: dict[int, dict[dt.date, tuple[int, int]]] = {}
    for row in db.session.execute(
            select(ActivityFact.user_id, ActivityFact.day, ActivityFact.done,
                   ActivityFact.points)
            .where(ActivityFact.day >= filters.start, ActivityFact.day <= filters.end,
                   _people(ActivityFact.user_id, filters))):
        facts.setdefault(row.user_id, {})[row.day] = (row.done, row.points)
    # The norm holds on the weekdays up to today: a day still ahead is not below it.
    today = local_today()
    weekdays = [day for day in days if day.weekday() < 5 and day <= today]
    for user, department, norm in sorted(users, key=lambda r: str(r[0])):
        mine = facts.get(user.id, {})
        if department is None and not mine:
            continue
        points = sum(p for _d, p in mine.values())
        expected = norm * len(weekdays) if norm is not None else None
        below = [day for day in weekdays if norm and mine.get(day, (0, 0))[1] < norm]
        row = {"who": str(user), "user_id": user.id, "department": department or "",
               "norm": norm, "done": sum(d for d, _p in mine.values()), "points": points,
               "expected": expected, "fulfilment": _percent(points, expected),
               "below": len(below) if norm else None}
        if per_day:
            for day in days:
                row[f"d{day.isoformat()}"] = mine.get(day, (0, 0))[1]
        grid.rows.append(row)
        index = len(grid.rows) - 1
        grid.drills[(index, "done")] = {"manager": user.id}
        if per_day:
            for day in below:
                grid.marked.add((index, f"d{day.isoformat()}"))
            for day in days:
                grid.drills[(index, f"d{day.isoformat()}")] = {"manager": user.id,
                                                               "day": day.isoformat()}
    points = sum(row["points"] for row in grid.rows)
    expected = sum(row["expected"] or 0 for row in grid.rows)
    grid.totals = {"who": gettext("Total"), "done": sum(row["done"] for row in grid.rows),
                   "points": points, "expected": expected,
                   "fulfilment": _percent(points, expected),
                   "below": sum(row["below"] or 0 for row in grid.rows)}
    if per_day:
        for day in days:
            key = f"d{day.isoformat()}"
            grid.totals[key] = sum(row[key] for row in grid.rows)
    grid.chart = {"type": "bar", "labels": [row["who"] for row in grid.rows],
                  "series": [{"label": gettext("Fulfilment, %"),
                              "data": [float(row["fulfilment"] or 0) for row in grid.rows]}],
                  "line": 100}
    return grid


MOTIVATOR_DRILL_COLUMNS = [
    ExportColumn("id", _l("No."), "integer"),
    ExportColumn("subject", _l("Interaction")),
    ExportColumn("type", _l("Type")),
    ExportColumn("points", _l("Points"), "integer"),
    ExportColumn("responsible", _l("Responsible")),
    ExportColumn("done_at", _l("Done"), "datetime"),
]


def motivator_drill(filters: Filters, args, limit: Optional[int] = None) -> Drill:
    """The done interactions behind a manager's points: of the period, or of one `day`."""
    errors: dict = {}
    manager = _int(args.get("manager"), "manager", errors)
    first = last = None
    if args.get("day"):
        first = last = _day(args.get("day"), "day", filters.start, errors)
    if errors:
        raise RecordInvalid(errors)
    bounds = Filters(first or filters.start, last or filters.end)
    start, end = _utc_period(bounds)
    query = access.readable(
        Interaction, Interaction.id, Interaction.subject, DictionaryItem.name,
        DictionaryItem.points, CrmUser.first_name, CrmUser.last_name, CrmUser.username,
        Interaction.done_at,
    ).outerjoin(DictionaryItem, DictionaryItem.id == Interaction.type_id).join(
        CrmUser, CrmUser.id == Interaction.responsible_id).where(
        Interaction.status == "done", Interaction.done_at >= start, Interaction.done_at < end,
        _people(Interaction.responsible_id, filters)).order_by(Interaction.done_at)
    if manager is not None:
        query = query.where(Interaction.responsible_id == manager)
    total, query = _limited(query, limit)
    rows = []
    for row in db.session.execute(query):
        person = _person(row)
        rows.append({"id": row.id, "subject": row.subject, "type": row.name or "",
                     "points": row.points or 0, "responsible": person,
                     "done_at": row.done_at})
    return Drill(total if total is not None else len(rows), rows)


# --- the supervisor's control (R12) and the quality of the client base ----------------------

# What fails a client, as the drill-down's `check` names it.
CHECKS = {
    "red": (_l("Red"), ClientFact.colour == "red"),
    "yellow": (_l("Yellow"), ClientFact.colour == "yellow"),
    "green": (_l("Green"), ClientFact.colour == "green"),
    "no_interest": (_l("No active interest"), ClientFact.open_interests == 0),
    "warm": (_l("Warm: an active interest"), ClientFact.open_interests > 0),
    "overdue": (_l("An overdue interaction"), ClientFact.overdue > 0),
    "portrait": (_l("Portrait not filled"), ClientFact.portrait.is_(False)),
    "contacts": (_l("Contacts' information not filled"), ClientFact.reachable.is_(False)),
    "duplicate": (_l("Suspected duplicate"), ClientFact.duplicate.is_(True)),
}


def _summaries(filters: Filters) -> list:
    """The per-responsible sums the user may see, with the filters' department and manager:
    [(responsible id, name, department, sums)]."""
    query = select(ClientSummary, CrmUser, Department.name).outerjoin(
        CrmUser, CrmUser.id == ClientSummary.responsible_id).outerjoin(
        Department, Department.id == CrmUser.department_id).where(
        _people(ClientSummary.responsible_id, filters))
    rows = db.session.execute(query).all()
    return sorted(rows, key=lambda r: str(r[1] or ""))


def _done_in_period(filters: Filters) -> dict[int, int]:
    return dict(db.session.execute(
        select(ActivityFact.user_id, func.sum(ActivityFact.done))
        .where(ActivityFact.day >= filters.start, ActivityFact.day <= filters.end,
               _people(ActivityFact.user_id, filters))
        .group_by(ActivityFact.user_id)).all())


def _ratio(part, whole) -> Optional[Decimal]:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.01"))


CONTROL_COLUMNS = {
    "clients": [("clients", _l("Clients"), "integer", None),
                ("green", _l("Green"), "integer", "green"),
                ("yellow", _l("Yellow"), "integer", "yellow"),
                ("red", _l("Red"), "integer", "red"),
                ("no_interest", _l("No active interest"), "integer", "no_interest"),
                ("with_overdue", _l("With an overdue interaction"), "integer", "overdue"),
                ("no_portrait", _l("Portrait not filled"), "integer", "portrait"),
                ("unreachable", _l("Contacts not filled"), "integer", "contacts")],
    "touches": [("clients", _l("Clients"), "integer", None),
                ("done", _l("Interactions done in the period"), "integer", None),
                ("touches", _l("Touches per client"), "decimal", None)],
    "interactions": [("done", _l("Interactions done in the period"), "integer", None),
                     ("planned", _l("Planned ahead"), "integer", None),
                     ("overdue", _l("Overdue"), "integer", None),
                     ("with_overdue", _l("Clients with an overdue interaction"), "integer",
                      "overdue")],
    "warm": [("clients", _l("Clients"), "integer", None),
             ("warm", _l("Warm clients"), "integer", "warm"),
             ("warm_share", _l("Warm, %"), "decimal", None),
             ("warm_red", _l("Cold: no active interest"), "integer", "no_interest")],
    "interests": [("open_interests", _l("Open interests"), "integer", None),
                  ("warm", _l("Clients with an interest"), "integer", "warm"),
                  ("per_client", _l("Interests per warm client"), "decimal", None),
                  ("with_overdue", _l("Clients with an overdue interaction"), "integer",
                   "overdue")],
    "clients_interests": [("clients", _l("Clients"), "integer", None),
                          ("warm", _l("With an interest"), "integer", "warm"),
                          ("open_interests", _l("Open interests"), "integer", None),
                          ("red", _l("Red"), "integer", "red"),
                          ("yellow", _l("Yellow"), "integer", "yellow"),
                          ("green", _l("Green"), "integer", "green")],
}


def _control_values(summary, done: int) -> dict:
    return {"clients": summary.clients, "green": summary.green, "yellow": summary.yellow,
            "red": summary.red, "no_interest": summary.clients - summary.warm,
            "with_overdue": summary.with_overdue, "no_portrait": summary.no_portrait,
            "unreachable": summary.unreachable, "warm": summary.warm,
            "warm_red": summary.clients - summary.warm, "duplicates": summary.duplicates,
            "open_interests": summary.open_interests, "overdue": summary.overdue,
            "planned": summary.planned, "contacts": summary.contacts,
            "bare_contacts": summary.bare_contacts, "done": done}


def _with_ratios(values: dict) -> dict:
    values["touches"] = _ratio(values["done"], values["clients"])
    values["warm_share"] = _percent(values["warm"], values["clients"])
    values["per_client"] = _ratio(values["open_interests"], values["warm"])
    return values


def _client_grid(name: str, filters: Filters, spec, tables: list[str], shown, done: dict
                 ) -> Grid:
    """A grid of the clients' sums per manager: `spec` its columns (key, label, kind, the
    check a figure drills down to), `shown` the figures of a row from its sums; the totals
    row adds the sums up (`grid.sums`) before `shown` makes its figures."""
    columns = [ExportColumn("who", _l("Manager")), ExportColumn("department", _l("Department")),
               *(ExportColumn(key, label, kind) for key, label, kind, _check in spec)]
    grid = Grid(name, str(REPORTS[name]), filters, columns, [], None,
                report_tables.computed_at(tables))
    keys = list(_control_values(ClientSummary(clients=0, warm=0), 0))
    totals = dict.fromkeys(keys, 0)
    for summary, user, department in _summaries(filters):
        values = _control_values(summary, done.get(summary.responsible_id, 0) or 0)
        for key in keys:
            totals[key] += values[key] or 0
        grid.rows.append({"who": str(user) if user else gettext("Nobody"),
                          "user_id": summary.responsible_id, "department": department or "",
                          **shown(values)})
        owner = {"manager": summary.responsible_id} if summary.responsible_id else \
            {"nobody": 1}
        for key, _label, _kind, check in spec:
            if check is not None:
                grid.drills[(len(grid.rows) - 1, key)] = {"check": check, **owner}
    grid.sums = dict(totals)
    grid.totals = {"who": gettext("Total"), **shown(totals)}
    for key, _label, _kind, check in spec:
        if check is not None:
            grid.drills[("totals", key)] = {"check": check}
    return grid


def control(filters: Filters) -> Grid:
    """R12 in its variants: per manager, the clients by colour and by the indicator that
    failed, the touches per client, the interactions, the warm clients, the interests."""
    spec = CONTROL_COLUMNS[filters.view if filters.view in CONTROL_COLUMNS else "clients"]
    grid = _client_grid("control", filters, spec, ["clients", "activity"],
                        _with_ratios, _done_in_period(filters))
    if filters.view in ("clients", "clients_interests"):
        grid.chart = {"type": "bar", "stacked": True, "labels": [r["who"] for r in grid.rows],
                      "series": [{"label": str(CONTROL_COLOURS[colour]),
                                  "data": [r[colour] for r in grid.rows], "colors": tint}
                                 for colour, tint in (("green", "#59a14f"),
                                                      ("yellow", "#edc948"),
                                                      ("red", "#e15759"))]}
    else:
        first = spec[-1] if filters.view == "touches" else spec[1]
        grid.chart = {"type": "bar", "labels": [r["who"] for r in grid.rows],
                      "series": [{"label": str(first[1]),
                                  "data": [float(r[first[0]] or 0) for r in grid.rows]}]}
    return grid


QUALITY_COLUMNS = [("clients", _l("Clients"), "integer", None),
                   ("portrait_share", _l("Full portrait, %"), "decimal", "portrait"),
                   ("contacts_share", _l("Contacts with a phone or e-mail, %"), "decimal",
                    "contacts"),
                   ("warm_share", _l("With an active interest, %"), "decimal",
                    "no_interest"),
                   ("duplicates", _l("Suspected duplicates"), "integer", "duplicate")]


def _quality_values(values: dict) -> dict:
    return {"clients": values["clients"],
            "portrait_share": _percent(values["clients"] - values["no_portrait"],
                                       values["clients"]),
            "contacts_share": _percent(values["contacts"] - values["bare_contacts"],
                                       values["contacts"]),
            "warm_share": _percent(values["warm"], values["clients"]),
            "duplicates": values["duplicates"]}


def quality(filters: Filters) -> Grid:
    """The shares of clients with a full portrait, of contacts with a phone or an e-mail,
    of clients with an active interest, and the suspected duplicates, per manager; each
    share drills down to the clients that fail it (the check wizard)."""
    grid = _client_grid("quality", filters, QUALITY_COLUMNS, ["clients"], _quality_values, {})
    totals = grid.sums
    grid.checks = [{"check": check, "label": str(label), "failing": failing}
                   for check, label, failing in (
                       ("portrait", CHECKS["portrait"][0], totals["no_portrait"]),
                       ("contacts", CHECKS["contacts"][0], totals["unreachable"]),
                       ("no_interest", CHECKS["no_interest"][0],
                        totals["clients"] - totals["warm"]),
                       ("overdue", CHECKS["overdue"][0], totals["with_overdue"]),
                       ("duplicate", CHECKS["duplicate"][0], totals["duplicates"]))]
    grid.chart = {"type": "bar", "labels": [str(c[1]) for c in QUALITY_COLUMNS[1:4]],
                  "series": [{"label": gettext("Total"),
                              "data": [float(grid.totals[c[0]] or 0)
                                       for c in QUALITY_COLUMNS[1:4]]}], "max": 100}
    return grid


CLIENT_DRILL_COLUMNS = [
    ExportColumn("id", _l("No."), "integer"),
    ExportColumn("name", _l("Client")),
    ExportColumn("responsible", _l("Responsible")),
    ExportColumn("colour_label", _l("Colour")),
    ExportColumn("failed", _l("What failed")),
    ExportColumn("open_interests", _l("Open interests"), "integer"),
    ExportColumn("overdue", _l("Overdue"), "integer"),
]


def client_drill(filters: Filters, args, limit: Optional[int] = None) -> Drill:
    """The clients that fail (or pass) a check: a colour, an indicator, the duplicates;
    of a manager (`manager`), of nobody (`nobody`), or of everyone the user sees."""
    check = args.get("check") or "red"
    if check not in CHECKS:
        raise RecordInvalid({"check": [gettext("Choose %(choices)s.",
                                               choices=", ".join(CHECKS))]})
    where = and_(CHECKS[check][1], _people(ClientFact.responsible_id, filters))
    if args.get("nobody"):
        where = and_(CHECKS[check][1], ClientFact.responsible_id.is_(None),
                     access.figures_condition(ClientFact.responsible_id))
    query = access.readable(
        Client, Client.id, Client.name, CrmUser.first_name, CrmUser.last_name,
        CrmUser.username, ClientFact.colour, ClientFact.open_interests, ClientFact.overdue,
        ClientFact.portrait, ClientFact.reachable, ClientFact.duplicate,
    ).join(ClientFact, ClientFact.client_id == Client.id).outerjoin(
        CrmUser, CrmUser.id == Client.responsible_id).where(where).order_by(
        Client.name_search, Client.id)
    total, query = _limited(query, limit, Client, select(ClientFact.client_id).where(where))
    rows = []
    for row in db.session.execute(query):
        failed = [str(label) for failing, label in (
            (row.open_interests == 0, CHECKS["no_interest"][0]),
            (row.overdue > 0, CHECKS["overdue"][0]),
            (not row.portrait, CHECKS["portrait"][0]),
            (not row.reachable, CHECKS["contacts"][0]),
            (row.duplicate, CHECKS["duplicate"][0])) if failing]
        person = _person(row)
        rows.append({"id": row.id, "name": row.name, "responsible": person or "",
                     "colour": row.colour, "colour_label": str(CONTROL_COLOURS[row.colour]),
                     "failed": ", ".join(failed), "open_interests": row.open_interests,
                     "overdue": row.overdue})
    return Drill(total if total is not None else len(rows), rows)


# --- ABC/XYZ --------------------------------------------------------------------------------

ABC_MEANING = {"A": _l("A: the first 80 per cent of revenue"),
               "B": _l("B: the next 15 per cent"), "C": _l("C: the last 5 per cent")}


def abcxyz(filters: Filters) -> Grid:
    """The clients with revenue in the last twelve full months by class: per ABC class, how
    many are stable (X), varying (Y) or irregular (Z), their revenue and its share."""
    columns = [ExportColumn("abc", _l("ABC class")),
               ExportColumn("X", _l("X: stable"), "integer"),
               ExportColumn("Y", _l("Y: varying"), "integer"),
               ExportColumn("Z", _l("Z: irregular"), "integer"),
               ExportColumn("clients", _l("Clients"), "integer"),
               ExportColumn("revenue", _l("Revenue"), "money"),
               ExportColumn("share", _l("Share of revenue, %"), "decimal")]
    grid = Grid("abcxyz", str(REPORTS["abcxyz"]), filters, columns, [], None,
                report_tables.computed_at(["abc"]))
    cells = {(row.abc, row.xyz): (row.clients, Decimal(row.revenue or 0))
             for row in db.session.execute(
                 select(AbcFact.abc, AbcFact.xyz, func.count().label("clients"),
                        func.sum(AbcFact.revenue).label("revenue"))
                 .where(_people(AbcFact.responsible_id, filters))
                 .group_by(AbcFact.abc, AbcFact.xyz))}
    whole = sum((revenue for _count, revenue in cells.values()), Decimal(0))
    totals = {"abc": gettext("Total"), "X": 0, "Y": 0, "Z": 0, "clients": 0,
              "revenue": Decimal(0)}
    for abc in "ABC":
        row = {"abc": str(ABC_MEANING[abc]), "class": abc, "clients": 0,
               "revenue": Decimal(0)}
        for xyz in "XYZ":
            count, revenue = cells.get((abc, xyz), (0, Decimal(0)))
            row[xyz] = count
            row["clients"] += count
            row["revenue"] += revenue
            totals[xyz] += count
            grid.drills[(len(grid.rows), xyz)] = {"abc": abc, "xyz": xyz}
        grid.drills[(len(grid.rows), "clients")] = {"abc": abc}
        row["revenue"] = _money(row["revenue"])
        row["share"] = _percent(row["revenue"], whole)
        totals["clients"] += row["clients"]
        totals["revenue"] += row["revenue"]
        grid.rows.append(row)
    totals["revenue"] = _money(totals["revenue"])
    totals["share"] = _percent(totals["revenue"], whole)
    grid.totals = totals
    for xyz in "XYZ":
        grid.drills[("totals", xyz)] = {"xyz": xyz}
    grid.drills[("totals", "clients")] = {}
    grid.chart = {"type": "bar", "stacked": True, "labels": ["A", "B", "C"],
                  "series": [{"label": str(columns[index].label),
                              "data": [row[xyz] for row in grid.rows], "colors": tint}
                             for index, xyz, tint in ((1, "X", "#59a14f"), (2, "Y", "#edc948"),
                                                      (3, "Z", "#e15759"))]}
    return grid


ABC_DRILL_COLUMNS = [
    ExportColumn("id", _l("No."), "integer"),
    ExportColumn("name", _l("Client")),
    ExportColumn("responsible", _l("Responsible")),
    ExportColumn("abc", _l("ABC class")),
    ExportColumn("xyz", _l("XYZ class")),
    ExportColumn("revenue", _l("Revenue"), "money"),
    ExportColumn("variation", _l("Variation month to month, %"), "decimal"),
]


def abc_drill(filters: Filters, args, limit: Optional[int] = None) -> Drill:
    """The clients of a class (`abc`, `xyz`, or both), largest revenue first."""
    errors: dict = {}
    where = [_people(AbcFact.responsible_id, filters)]
    for name, column, choices in (("abc", AbcFact.abc, "ABC"), ("xyz", AbcFact.xyz, "XYZ")):
        value = args.get(name)
        if value in (None, ""):
            continue
        if value not in tuple(choices):
            errors[name] = [gettext("Choose %(choices)s.", choices=", ".join(choices))]
        where.append(column == value)
    if errors:
        raise RecordInvalid(errors)
    query = access.readable(
        Client, Client.id, Client.name, CrmUser.first_name, CrmUser.last_name,
        CrmUser.username, AbcFact.abc, AbcFact.xyz, AbcFact.revenue, AbcFact.variation,
    ).join(AbcFact, AbcFact.client_id == Client.id).outerjoin(
        CrmUser, CrmUser.id == Client.responsible_id).where(*where).order_by(
        AbcFact.revenue.desc(), Client.id)
    total, query = _limited(query, limit, Client, select(AbcFact.client_id).where(*where))
    rows = []
    for row in db.session.execute(query):
        person = _person(row)
        rows.append({"id": row.id, "name": row.name, "responsible": person or "",
                     "abc": row.abc, "xyz": row.xyz, "revenue": _money(row.revenue),
                     "variation": row.variation})
    return Drill(total if total is not None else len(rows), rows)


# --- the price list --------------------------------------------------------------------------


def _groups_under(group_id: int) -> set[int]:
    parents = dict(db.session.execute(select(ProductGroup.id, ProductGroup.parent_id)).all())
    if group_id not in parents:
        raise RecordInvalid({"group": [gettext("No such product group.")]})
    found, changed = {group_id}, True
    while changed:
        below = {child for child, parent in parents.items() if parent in found}
        changed = not below <= found
        found |= below
    return found


def pricelist(filters: Filters) -> Grid:
    """The products on sale by group with their prices: of a group and its subgroups, or
    the items chosen by hand. Read live: a price list is short."""
    columns = [ExportColumn("group", _l("Product group")), ExportColumn("name", _l("Product")),
               ExportColumn("sku", _l("SKU")), ExportColumn("unit", _l("Unit")),
               ExportColumn("price", _l("Price"), "money"),
               ExportColumn("currency", _l("Currency"))]
    grid = Grid("pricelist", str(REPORTS["pricelist"]), filters, columns, [], None, None,
                live=True)
    group = aliased(ProductGroup)
    query = access.readable(Product, Product.id, Product.name, Product.sku, Product.unit,
                            Product.price, Product.currency, group.name.label("group")
                            ).outerjoin(group, group.id == Product.group_id).where(
        Product.is_active.is_(True)).order_by(group.sort, group.name, Product.name, Product.id)
    if filters.group_id is not None:
        query = query.where(Product.group_id.in_(sorted(_groups_under(filters.group_id))))
    if filters.products:
        query = query.where(Product.id.in_(filters.products))
    for row in db.session.execute(query):
        grid.rows.append({"id": row.id, "group": row.group or "", "name": row.name,
                          "sku": row.sku or "", "unit": row.unit, "price": _money(row.price),
                          "currency": row.currency})
    grid.totals = {"group": gettext("Items: %(count)s", count=len(grid.rows))}
    return grid


def company_name() -> str:
    """Our company's name on a printed report: its default requisites' short name."""
    name = db.session.execute(select(CompanyRequisites.short_name).order_by(
        CompanyRequisites.is_default.desc(), CompanyRequisites.id).limit(1)).scalar()
    return name or ""


def product_groups() -> list[ProductGroup]:
    return list(db.session.execute(select(ProductGroup).order_by(ProductGroup.sort,
                                                                 ProductGroup.name)).scalars())


def send_pricelist(filters: Filters, address: str) -> int:
    """E-mail the price list to a client as an XLSX file; answers how many rows it held."""
    if not mail.configured():
        raise DomainError(gettext("E-mail is not set up (CRM_SMTP_URL)."), code="no_mail")
    address = (address or "").strip()
    if not address:
        raise RecordInvalid({"email": [gettext("Enter an e-mail address.")]})
    try:
        validate_email(address)
    except ValidationError as error:
        raise RecordInvalid({"email": [gettext(error.message)]}) from None
    grid = pricelist(filters)
    buffer = BytesIO()
    exports.write_xlsx(grid.columns, grid.values(with_totals=False), grid.title, buffer)
    mail.send([mail.message_with_file(
        address, gettext("Price list"),
        gettext("Good day! The price list you asked for is attached."),
        f"{gettext('Price list')}.xlsx", buffer.getvalue(), MIME_XLSX)])
    return len(grid.rows)


MIME_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- time spent ------------------------------------------------------------------------------


def _done_between(filters: Filters):
    start, end = _utc_period(filters)
    return and_(Interaction.status == "done", Interaction.done_at >= start,
                Interaction.done_at < end, _people(Interaction.responsible_id, filters))


def time_spent(filters: Filters) -> Grid:
    """The minutes the interactions done in the period took, per manager (or per manager
    and client), a column per interaction type, with how many were done (four statements
    whatever the number of rows)."""
    by_client = filters.view == "clients"
    keys = [Interaction.responsible_id, Interaction.client_id] if by_client \
        else [Interaction.responsible_id]
    found = db.session.execute(
        access.readable(Interaction, *keys, Interaction.type_id, func.count().label("done"),
                        func.coalesce(func.sum(Interaction.spent_minutes), 0).label("minutes"))
        .where(_done_between(filters))
        .group_by(*keys, Interaction.type_id)).all()
    types = list(db.session.execute(
        select(DictionaryItem.id, DictionaryItem.name)
        .where(DictionaryItem.kind == "interaction_type")
        .order_by(DictionaryItem.sort, DictionaryItem.name)).all())
    used = {row.type_id for row in found}
    shown_types = [(type_id, name) for type_id, name in types if type_id in used]
    if None in used:
        shown_types.append((None, gettext("Without a type")))
    columns = [ExportColumn("who", _l("Manager")), ExportColumn("department", _l("Department"))]
    if by_client:
        columns.append(ExportColumn("client", _l("Client")))
    columns += [ExportColumn(f"t{type_id or 0}", name, "integer")
                for type_id, name in shown_types]
    columns += [ExportColumn("minutes", _l("Minutes in all"), "integer"),
                ExportColumn("hours", _l("Hours"), "decimal"),
                ExportColumn("done", _l("Interactions done"), "integer")]
    grid = Grid("time_spent", str(REPORTS["time_spent"]), filters, columns, [], None, None,
                live=True)
    users = {row.id: row for row in db.session.execute(
        select(CrmUser.id, CrmUser.first_name, CrmUser.last_name, CrmUser.username,
               Department.name.label("department"))
        .outerjoin(Department, Department.id == CrmUser.department_id)
        .where(CrmUser.id.in_(sorted({row.responsible_id for row in found})))).all()}
    clients = dict(db.session.execute(
        access.readable(Client, Client.id, Client.name).where(Client.id.in_(sorted(
            {row.client_id for row in found if row.client_id is not None}))))
        .all()) if by_client else {}
    lines: dict[tuple, dict] = {}
    for row in found:
        key = (row.responsible_id, row.client_id if by_client else None)
        person = users.get(row.responsible_id)
        line = lines.setdefault(key, {
            "who": _person(person) if person else "", "user_id": row.responsible_id,
            "department": (person.department or "") if person else "",
            "client": clients.get(row.client_id, "") if by_client else None,
            "client_id": row.client_id if by_client else None, "minutes": 0, "done": 0})
        column = f"t{row.type_id or 0}"
        line[column] = line.get(column, 0) + int(row.minutes or 0)
        line["minutes"] += int(row.minutes or 0)
        line["done"] += int(row.done or 0)
    type_keys = [f"t{type_id or 0}" for type_id, _name in shown_types]
    for line in sorted(lines.values(), key=lambda line: (line["who"], line["client"] or "")):
        for key in type_keys:
            line.setdefault(key, 0)
        line["hours"] = (Decimal(line["minutes"]) / 60).quantize(Decimal("0.1"))
        grid.rows.append(line)
        index = len(grid.rows) - 1
        where = {"manager": line["user_id"]}
        if by_client:
            where["client"] = line["client_id"] or 0
        for type_id, _name in shown_types:
            grid.drills[(index, f"t{type_id or 0}")] = {**where, "type": type_id or 0}
        grid.drills[(index, "minutes")] = grid.drills[(index, "done")] = where
    minutes = sum(line["minutes"] for line in grid.rows)
    grid.totals = {"who": gettext("Total"), "minutes": minutes,
                   "hours": (Decimal(minutes) / 60).quantize(Decimal("0.1")),
                   "done": sum(line["done"] for line in grid.rows),
                   **{key: sum(line[key] for line in grid.rows) for key in type_keys}}
    if grid.rows and not by_client:
        grid.chart = {"type": "bar", "labels": [line["who"] for line in grid.rows],
                      "series": [{"label": gettext("Hours"),
                                  "data": [float(line["hours"]) for line in grid.rows]}]}
    return grid


TIME_DRILL_COLUMNS = [
    ExportColumn("id", _l("No."), "integer"),
    ExportColumn("subject", _l("Interaction")),
    ExportColumn("type", _l("Type")),
    ExportColumn("client", _l("Client")),
    ExportColumn("responsible", _l("Responsible")),
    ExportColumn("done_at", _l("Done"), "datetime"),
    ExportColumn("minutes", _l("Minutes"), "integer"),
]


def time_spent_drill(filters: Filters, args, limit: Optional[int] = None) -> Drill:
    """The done interactions behind a cell of the time spent: a manager's (`manager`), with
    a client (`client`, 0: none), of a type (`type`, 0: none)."""
    errors: dict = {}
    manager = _int(args.get("manager"), "manager", errors)
    chosen = {}
    for name, column in (("client", Interaction.client_id), ("type", Interaction.type_id)):
        value = args.get(name)
        if value in (None, ""):
            continue
        if str(value) == "0":
            chosen[name] = column.is_(None)
        else:
            key = _int(value, name, errors)
            if key is not None:
                chosen[name] = column == key
    if errors:
        raise RecordInvalid(errors)
    query = access.readable(
        Interaction, Interaction.id, Interaction.subject, DictionaryItem.name,
        Client.name.label("client"), CrmUser.first_name, CrmUser.last_name, CrmUser.username,
        Interaction.done_at, Interaction.spent_minutes,
    ).outerjoin(DictionaryItem, DictionaryItem.id == Interaction.type_id).outerjoin(
        Client, Client.id == Interaction.client_id).join(
        CrmUser, CrmUser.id == Interaction.responsible_id).where(
        _done_between(filters), *chosen.values()).order_by(Interaction.done_at, Interaction.id)
    if manager is not None:
        query = query.where(Interaction.responsible_id == manager)
    total, query = _limited(query, limit)
    rows = [{"id": row.id, "subject": row.subject, "type": row.name or "",
             "client": row.client or "", "responsible": _person(row), "done_at": row.done_at,
             "minutes": row.spent_minutes} for row in db.session.execute(query)]
    return Drill(total if total is not None else len(rows), rows)


BUILDERS = {"funnel": funnel, "motivator": motivator, "control": control, "quality": quality,
            "abcxyz": abcxyz, "pricelist": pricelist, "time_spent": time_spent}
DRILLS = {"funnel": (funnel_drill, DRILL_COLUMNS),
          "motivator": (motivator_drill, MOTIVATOR_DRILL_COLUMNS),
          "control": (client_drill, CLIENT_DRILL_COLUMNS),
          "quality": (client_drill, CLIENT_DRILL_COLUMNS),
          "abcxyz": (abc_drill, ABC_DRILL_COLUMNS),
          "time_spent": (time_spent_drill, TIME_DRILL_COLUMNS)}
TABLES_OF = {"funnel": ["funnel"], "motivator": ["activity"],
             "control": ["clients", "activity"], "quality": ["clients"], "abcxyz": ["abc"],
             "pricelist": [], "time_spent": []}


def report(name: str, filters: Filters) -> Grid:
    if name not in BUILDERS:
        raise RecordInvalid({"report": [gettext("No such report.")]})
    return BUILDERS[name](filters)


def computed_at_of(name: str) -> Optional[dt.datetime]:
    return report_tables.computed_at(TABLES_OF[name])


def recompute(name: str) -> None:
    """"Recompute now": the report's tables whole, for those who may edit reports."""
    if not access.can("report", "edit"):
        raise Forbidden(gettext("You may not recompute the reports."))
    for table in TABLES_OF[name]:
        report_tables.compute(table, full=True)
