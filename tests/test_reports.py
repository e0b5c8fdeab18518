"""The reports (app.services.reports) on fixed data with a frozen clock: the funnel's exact
counts, sums, conversions and days in stage, its drill-down adding up to the cell, the
managers and departments next to their plans, the auto-motivator's points against the
norm; the report tables computed whole and folded incrementally; who sees which figures;
the screens, the exports of what is on the screen, and /api/v1/report/<name>."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select, text, update

from app.models import (
    ActivityFact,
    Department,
    DictionaryItem,
    ExportRun,
    FunnelFact,
    FunnelMonth,
    FunnelStay,
    Interaction,
    Interest,
    Pipeline,
    ReportState,
    SalesPlan,
    Stage,
    StageChange,
)
from app.services import report_tables, reports
from tests.helpers import text_of

NOW = dt.datetime(2026, 12, 10, 9, 0)  # 12:00 in Moscow, a Thursday
DECEMBER = {"start": "2026-12-01", "end": "2026-12-31"}


def at(day: int, hour: int = 7, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0)


def frozen(moment: dt.datetime = NOW):
    """The clock stopped at `moment` (UTC) while the report tables are computed. Requests
    run on the real clock: their API tokens were issued by it."""
    return time_machine.travel(moment.replace(tzinfo=dt.timezone.utc), tick=False)


@pytest.fixture
def sales(dbx):
    """A pipeline of three open stages, won and lost, and five interests (times in UTC):

    I1 manager    Qualify 1 Dec → Offer 3 Dec → Contract 5 Dec → won 6 Dec     1 000
    I2 manager    Qualify 2 Dec → Contract 4 Dec (Offer skipped) → lost 8 Dec     500
    I3 manager_b  Qualify 3 Dec, still there                                       200
    I4 manager_b  Offer 3 Dec → won 6 Dec 01:00 (04:00 in Moscow)                  300
    I5 manager    Qualify 20 Nov → won 2 Dec (started before the period)           700
    """
    with dbx.session() as s:
        pipeline = Pipeline(name="Проекты", sort=1)
        s.add(pipeline)
        s.flush()
        stages = {}
        for sort, (name, kind, color) in enumerate(
                [("Qualify", "open", "#4e79a7"), ("Offer", "open", "#f28e2b"),
                 ("Contract", "open", "#76b7b2"), ("Won", "won", "#59a14f"),
                 ("Lost", "lost", "#e15759")], start=1):
            stage = Stage(pipeline_id=pipeline.id, name=name, kind=kind, sort=sort * 10,
                          color=color)
            s.add(stage)
            s.flush()
            stages[name] = stage.id
        s.commit()
        pipeline_id = pipeline.id
    manager, manager_b = dbx.user_id("manager"), dbx.user_id("manager_b")
    story = {
        "I1": (manager, 1000, [("Qualify", at(1)), ("Offer", at(3)), ("Contract", at(5)),
                               ("Won", at(6))]),
        "I2": (manager, 500, [("Qualify", at(2)), ("Contract", at(4)), ("Lost", at(8))]),
        "I3": (manager_b, 200, [("Qualify", at(3))]),
        "I4": (manager_b, 300, [("Offer", at(3)), ("Won", at(6, 1))]),
        "I5": (manager, 700, [("Qualify", at(20, month=11)), ("Won", at(2))]),
    }
    ids = {}
    with dbx.session() as s:
        for title, (owner, amount, moves) in story.items():
            last_stage, last_at = moves[-1]
            closed = last_at if last_stage in ("Won", "Lost") else None
            interest = Interest(title=title, title_search=title.lower(),
                                pipeline_id=pipeline_id, stage_id=stages[last_stage],
                                amount=Decimal(amount), currency="RUB",
                                responsible_id=owner, created_on=moves[0][1],
                                changed_on=last_at, closed_at=closed)
            s.add(interest)
            s.flush()
            ids[title] = interest.id
            previous = None
            for number, (stage, moment) in enumerate(moves):
                action = "create" if number == 0 else (
                    "close" if stage in ("Won", "Lost") else "move")
                s.add(StageChange(interest_id=interest.id, action=action,
                                  from_stage_id=stages.get(previous), to_stage_id=stages[stage],
                                  from_stage_name=previous, to_stage_name=stage,
                                  changed_at=moment))
                previous = stage
        s.commit()
    return {"pipeline": pipeline_id, "stages": stages, "ids": ids}


def compute(app, name: str = "funnel", full: bool = True):
    with frozen(), app.app_context():
        return report_tables.compute(name, full=full).rows


def grid_of(client, name="funnel", **args):
    response = client.get(f"/api/v1/report/{name}", query_string=args)
    assert response.status_code == 200, text_of(response)[:600]
    return response.get_json()


def by(rows, key):
    return {row[key]: row for row in rows}


# --- the funnel ----------------------------------------------------------------------------------


def test_funnel_counts_sums_conversions_and_days_in_stage_exactly(app, api, sales):
    # A fact per interest; which stages each reached is asked of the pipeline: I1 and I5
    # (won) every stage but Lost, I2 up to Contract and Lost, I3 Qualify, I4 (won) every
    # stage but Lost.
    assert compute(app) == 5

    grid = grid_of(api, pipeline=sales["pipeline"], **DECEMBER)
    stages = by(grid["rows"], "stage")
    assert [row["stage"] for row in grid["rows"]] == ["Qualify", "Offer", "Contract", "Won",
                                                       "Lost"]
    figures = {name: (row["reached"], row["amount"], row["of_first"], row["to_next"],
                      row["to_won"], row["days"]) for name, row in stages.items()}
    assert figures == {
        # I1, I2, I3, I4 (won: every open stage); I5 started in November
        "Qualify": (4, "2000.00", "100.0", "75.0", "50.0", "2.0"),
        # I2 skipped Offer for Contract: a skipped stage counts as passed
        "Offer": (3, "1800.00", "75.0", "100.0", "66.7", "2.4"),   # (2 + 2.75) / 2 days
        "Contract": (3, "1800.00", "75.0", "66.7", "66.7", "2.5"),  # (1 + 4) / 2 days
        "Won": (2, "1300.00", "50.0", None, None, None),
        "Lost": (1, "500.00", "25.0", None, None, None),
    }
    assert grid["totals"]["reached"] == 4 and grid["totals"]["amount"] == "2000.00"
    assert grid["totals"]["to_won"] == "50.0"
    assert grid["computed_at"] == "2026-12-10T09:00:00+00:00"
    assert grid["chart"]["labels"] == ["Qualify", "Offer", "Contract", "Won", "Lost"]
    assert grid["chart"]["series"][0]["data"] == [4, 3, 3, 2, 1]


def test_every_funnel_cell_drills_down_to_the_interests_that_add_up_to_it(app, api, sales):
    compute(app)
    grid = grid_of(api, pipeline=sales["pipeline"], **DECEMBER)
    for row in grid["rows"]:
        drill = row["drill"]["reached"]
        answer = api.get("/api/v1/report/funnel/drill", query_string={
            "pipeline": sales["pipeline"], **DECEMBER, **drill})
        assert answer.status_code == 200, text_of(answer)
        rows = answer.get_json()["rows"]
        assert len(rows) == row["reached"]
        assert sum(Decimal(r["amount"]) for r in rows) == Decimal(row["amount"])
    offer = api.get("/api/v1/report/funnel/drill", query_string={
        "pipeline": sales["pipeline"], **DECEMBER, "stage": sales["stages"]["Offer"]})
    assert sorted(r["title"] for r in offer.get_json()["rows"]) == ["I1", "I2", "I4"]


def test_managers_and_departments_side_by_side_with_their_plans(app, api, dbx, sales):
    manager, sales_department = dbx.user_id("manager"), None
    with dbx.session() as s:
        sales_department = s.execute(select(Department.id).where(
            Department.name == "Sales")).scalar()
        s.add(SalesPlan(manager_id=manager, starts_on=dt.date(2026, 12, 1),
                        ends_on=dt.date(2026, 12, 31), won_count=3,
                        won_amount=Decimal(2000)))
        s.add(SalesPlan(department_id=sales_department, pipeline_id=sales["pipeline"],
                        starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 31),
                        won_count=5, won_amount=Decimal(5000)))
        # A plan of another period stays out of December's comparison.
        s.add(SalesPlan(manager_id=manager, starts_on=dt.date(2026, 11, 1),
                        ends_on=dt.date(2026, 11, 30), won_count=9, won_amount=Decimal(9)))
        s.commit()
    compute(app)
    managers = grid_of(api, pipeline=sales["pipeline"], view="managers", **DECEMBER)
    rows = {row["who"]: row for row in managers["rows"]}
    names = {dbx.get(__import__("app.models", fromlist=["CrmUser"]).CrmUser,
                     dbx.user_id(u)).__str__(): u for u in ("manager", "manager_b")}
    figures = {names[who]: (row["started"], row["won"], row["won_amount"], row["plan_count"],
                            row["plan_amount"], row["fulfilment"], row["conversion"])
               for who, row in rows.items()}
    assert figures == {
        # won in December: I1 and I5 (started in November); of those started, I1
        "manager": (2, 2, "1700.00", 3, "2000.00", "85.0", "50.0"),
        "manager_b": (2, 1, "300.00", None, None, None, "50.0"),
    }
    assert managers["totals"]["won_amount"] == "2000.00"
    won_cell = next(row for row in managers["rows"] if names[row["who"]] == "manager")
    drill = api.get("/api/v1/report/funnel/drill", query_string={
        "pipeline": sales["pipeline"], "view": "managers", **DECEMBER,
        **won_cell["drill"]["won"]}).get_json()["rows"]
    assert sorted(r["title"] for r in drill) == ["I1", "I5"]

    departments = grid_of(api, pipeline=sales["pipeline"], view="departments", **DECEMBER)
    lines = {row["who"]: row for row in departments["rows"]}
    assert (lines["Sales"]["won_amount"], lines["Sales"]["plan_amount"],
            lines["Sales"]["fulfilment"]) == ("1700.00", "5000.00", "34.0")
    assert lines["Regions"]["plan_amount"] is None


def test_a_supervisor_sees_the_subtree_s_figures_and_a_manager_only_their_own(
        app, api_as, sales):
    compute(app)
    supervisor = grid_of(api_as("supervisor"), pipeline=sales["pipeline"], **DECEMBER)
    assert [row["reached"] for row in supervisor["rows"]] == [2, 2, 2, 1, 1]  # I1, I2
    manager_b = grid_of(api_as("manager_b"), pipeline=sales["pipeline"], **DECEMBER)
    assert [row["reached"] for row in manager_b["rows"]] == [2, 1, 1, 1, 0]  # I3, I4
    drill = api_as("manager_b").get("/api/v1/report/funnel/drill", query_string={
        "pipeline": sales["pipeline"], **DECEMBER, "stage": sales["stages"]["Qualify"]})
    assert sorted(r["title"] for r in drill.get_json()["rows"]) == ["I3", "I4"]
    # Exporting is a right of its own: a manager's role has none.
    refused = api_as("manager").get("/api/v1/report/funnel", query_string={
        "format": "xlsx", "pipeline": sales["pipeline"]})
    assert refused.status_code == 403
    assert api_as("readonly").get("/api/v1/report/funnel").status_code == 200


def test_the_refresh_folds_in_changed_interests_and_forgets_deleted_ones(app, dbx, sales):
    compute(app)
    with dbx.session() as s:
        s.execute(update(Interest).where(Interest.id == sales["ids"]["I3"]).values(
            stage_id=sales["stages"]["Offer"], changed_on=NOW))
        s.add(StageChange(interest_id=sales["ids"]["I3"], action="move",
                          from_stage_id=sales["stages"]["Qualify"],
                          to_stage_id=sales["stages"]["Offer"], from_stage_name="Qualify",
                          to_stage_name="Offer", changed_at=NOW))
        s.execute(StageChange.__table__.delete().where(
            StageChange.interest_id == sales["ids"]["I2"]))
        s.execute(Interest.__table__.delete().where(Interest.id == sales["ids"]["I2"]))
        s.commit()
    with frozen(NOW + dt.timedelta(minutes=10)):
        with app.app_context():
            state = report_tables.compute("funnel")
            assert state.full is False
            assert state.rows == 5 - 1  # I2 gone
    with dbx.session() as s:
        facts = dict(s.execute(select(FunnelFact.interest_id, FunnelFact.stage_id)).all())
        stays = dict(s.execute(select(FunnelStay.stage_id, FunnelStay.seconds).where(
            FunnelStay.interest_id == sales["ids"]["I3"])).all())
        kept = s.execute(select(FunnelStay.interest_id).where(
            FunnelStay.interest_id == sales["ids"]["I2"])).all()
    assert facts[sales["ids"]["I3"]] == sales["stages"]["Offer"]
    assert sales["ids"]["I2"] not in facts and kept == []
    assert stays == {sales["stages"]["Qualify"]: 7 * 86400 + 2 * 3600}  # 3 Dec 07:00 → 10th 09:00


def funnel_figures(api, sales, **period):
    """The funnel by stages and by managers over a period, as plain values."""
    stages = grid_of(api, pipeline=sales["pipeline"], **period)
    managers = grid_of(api, pipeline=sales["pipeline"], view="managers", **period)
    return ([(row["stage"], row["reached"], row["amount"], row["days"])
             for row in stages["rows"]], stages["totals"],
            sorted((row["who"], row["started"], row["won"], row["won_amount"],
                    row["conversion"]) for row in managers["rows"]), managers["totals"])


def month_sums(dbx) -> list:
    with dbx.session() as s:
        return sorted(s.execute(select(
            FunnelMonth.kind, FunnelMonth.month, FunnelMonth.stage_id,
            FunnelMonth.responsible_id, FunnelMonth.reached, FunnelMonth.amount,
            FunnelMonth.seconds, FunnelMonth.stays, FunnelMonth.current,
            FunnelMonth.current_amount, FunnelMonth.current_won)).all())


def test_whole_months_and_the_days_at_a_period_s_ends_add_up_alike(app, api, dbx, sales):
    """A period of whole months reads the monthly sums, the days at its ends the facts:
    four periods holding the same interests (20 November to 8 December) give one answer."""
    compute(app)
    whole = funnel_figures(api, sales, start="2026-11-01", end="2026-12-31")
    assert whole[1]["reached"] == 5 and whole[3]["won"] == 3
    for start, end in [("2026-11-15", "2026-12-31"),   # days, then a whole month
                       ("2026-11-01", "2026-12-09"),   # a whole month, then days
                       ("2026-11-20", "2026-12-08")]:  # days of two months
        assert funnel_figures(api, sales, start=start, end=end) == whole, (start, end)
    # December alone, whole or by its days: I5, started in November, is not in it.
    december = funnel_figures(api, sales, **DECEMBER)
    assert funnel_figures(api, sales, start="2026-12-01", end="2026-12-20") == december
    assert december[1]["reached"] == 4


def test_an_interest_belongs_to_the_month_of_its_local_start(app, api, dbx, sales):
    with dbx.session() as s:  # 30 November 22:30 UTC is 1 December 01:30 in Moscow
        s.execute(update(Interest).where(Interest.id == sales["ids"]["I5"]).values(
            created_on=dt.datetime(2026, 11, 30, 22, 30)))
        s.commit()
    compute(app)
    assert grid_of(api, pipeline=sales["pipeline"], **DECEMBER)["totals"]["reached"] == 5
    assert grid_of(api, pipeline=sales["pipeline"], start="2026-12-01",
                   end="2026-12-02")["totals"]["reached"] == 3  # I1, I2 and I5
    assert grid_of(api, pipeline=sales["pipeline"], start="2026-11-01",
                   end="2026-11-30")["totals"]["reached"] == 0


def test_the_refresh_keeps_the_monthly_sums_as_a_rebuild_makes_them(app, dbx, sales):
    compute(app)
    with dbx.session() as s:  # I3 moves on; I1, won in December, is now of November
        s.execute(update(Interest).where(Interest.id == sales["ids"]["I3"]).values(
            stage_id=sales["stages"]["Offer"], changed_on=NOW, amount=Decimal(250)))
        s.add(StageChange(interest_id=sales["ids"]["I3"], action="move",
                          from_stage_id=sales["stages"]["Qualify"],
                          to_stage_id=sales["stages"]["Offer"], from_stage_name="Qualify",
                          to_stage_name="Offer", changed_at=NOW))
        s.execute(update(Interest).where(Interest.id == sales["ids"]["I1"]).values(
            closed_at=at(29, month=11), created_on=at(25, month=11), changed_on=NOW))
        s.execute(StageChange.__table__.delete().where(
            StageChange.interest_id == sales["ids"]["I2"]))
        s.execute(Interest.__table__.delete().where(Interest.id == sales["ids"]["I2"]))
        s.commit()
    with frozen(NOW + dt.timedelta(minutes=10)), app.app_context():
        assert report_tables.compute("funnel").full is False
    refreshed = month_sums(dbx)
    compute(app)
    assert refreshed == month_sums(dbx)
    assert {(kind, month) for kind, month, *_rest in refreshed} == {
        ("started", dt.date(2026, 11, 1)), ("started", dt.date(2026, 12, 1)),
        ("closed", dt.date(2026, 11, 1)), ("closed", dt.date(2026, 12, 1))}


def test_bad_filters_are_refused_with_the_argument_named(api, sales):
    for args, field in [({"start": "2026-13-01"}, "start"),
                        ({"start": "2026-12-10", "end": "2026-12-01"}, "end"),
                        ({"pipeline": "x"}, "pipeline"), ({"manager": "99999999999"}, "manager"),
                        ({"view": "planets"}, "view"), ({"pipeline": "999999"}, "pipeline"),
                        ({"start": "0001-01-01", "end": "0001-01-02"}, "start"),
                        ({"start": "9999-12-30", "end": "9999-12-31"}, "start")]:
        response = api.get("/api/v1/report/funnel", query_string=args)
        assert response.status_code == 422, (args, text_of(response))
        assert field in response.get_json()["message"], (args, response.get_json())
    assert api.get("/api/v1/report/horoscope").status_code == 404
    assert api.get("/api/v1/report/funnel", query_string={"format": "pdf"}).status_code == 422


# --- the auto-motivator -----------------------------------------------------------------------


@pytest.fixture
def activity(dbx):
    """Types with points, the Sales norm 10 a day, and done interactions of 23–25 November
    (Mon–Wed), one done at 22:30 UTC on the 24th: the 25th in Moscow."""
    call = dictionary(dbx, "call", 2)
    meeting = dictionary(dbx, "meeting", 8)
    with dbx.session() as s:
        s.execute(update(Department).where(Department.name == "Sales").values(
            activity_norm=10))
        s.commit()
    manager, manager_b = dbx.user_id("manager"), dbx.user_id("manager_b")
    done = [(manager, meeting, dt.datetime(2026, 11, 23, 8)),
            (manager, call, dt.datetime(2026, 11, 23, 12)),
            (manager, call, dt.datetime(2026, 11, 24, 9)),
            (manager, call, dt.datetime(2026, 11, 24, 22, 30)),   # 25 Nov 01:30 in Moscow
            (manager, call, dt.datetime(2026, 11, 25, 21, 30)),   # 26 Nov: out of the period
            (manager_b, meeting, dt.datetime(2026, 11, 23, 10))]
    with dbx.session() as s:
        for number, (owner, kind, moment) in enumerate(done):
            s.add(Interaction(subject=f"Done {number}", type_id=kind, responsible_id=owner,
                              planned_at=moment, done_at=moment, status="done",
                              created_on=moment, changed_on=moment))
        s.add(Interaction(subject="Planned", type_id=meeting, responsible_id=manager,
                          planned_at=dt.datetime(2026, 11, 24, 9), status="planned"))
        s.commit()
    return {"call": call, "meeting": meeting}


def dictionary(dbx, code: str, points: int) -> int:
    with dbx.session() as s:
        item = s.execute(select(DictionaryItem).where(
            DictionaryItem.kind == "interaction_type", DictionaryItem.code == code)).scalar()
        if item is None:
            item = DictionaryItem(kind="interaction_type", code=code, name=code)
            s.add(item)
        item.points = points
        s.commit()
        return item.id


def test_motivator_points_against_the_norm_per_day_exactly(app, api, dbx, activity):
    compute(app, "activity")
    grid = grid_of(api, "motivator", start="2026-11-23", end="2026-11-25")
    rows = {row["user_id"]: row for row in grid["rows"]}
    manager = rows[dbx.user_id("manager")]
    assert (manager["norm"], manager["done"], manager["points"], manager["expected"],
            manager["fulfilment"], manager["below"]) == (10, 4, 14, 30, "46.7", 2)
    assert (manager["d2026-11-23"], manager["d2026-11-24"], manager["d2026-11-25"]) == \
        (10, 2, 2)
    assert manager["below_norm"] == ["d2026-11-24", "d2026-11-25"]
    manager_b = rows[dbx.user_id("manager_b")]
    assert (manager_b["norm"], manager_b["points"], manager_b["expected"],
            manager_b["fulfilment"], manager_b["below"]) == (48, 8, 144, "5.6", 3)
    supervisor = rows[dbx.user_id("supervisor")]
    assert (supervisor["points"], supervisor["fulfilment"], supervisor["below"]) == \
        (0, "0.0", 3)
    assert dbx.user_id("admin") not in rows  # no department, no norm, nothing done
    day = manager["drill"]["d2026-11-25"]
    drill = api.get("/api/v1/report/motivator/drill", query_string={
        "start": "2026-11-23", "end": "2026-11-25", **day}).get_json()["rows"]
    assert [(r["subject"], r["points"]) for r in drill] == [("Done 3", 2)]  # 24 Nov 22:30 UTC
    assert grid["totals"]["points"] == 14 + 8


def test_days_still_ahead_are_neither_expected_nor_below_the_norm(app, api, dbx, activity):
    compute(app, "activity")
    today = dt.date.today()
    ahead = [today + dt.timedelta(days=n) for n in range(1, 8)]
    grid = grid_of(api, "motivator", start=ahead[0].isoformat(), end=ahead[-1].isoformat())
    row = next(r for r in grid["rows"] if r["user_id"] == dbx.user_id("manager"))
    assert (row["expected"], row["below"], row["below_norm"]) == (0, 0, [])


def test_the_motivator_refresh_recomputes_the_days_of_changed_interactions(
        app, dbx, activity):
    compute(app, "activity")
    later = NOW + dt.timedelta(minutes=10)
    with frozen(later), dbx.session() as s:  # the audit stamps the change with the clock
        s.add(Interaction(subject="Late call", type_id=activity["meeting"],
                          responsible_id=dbx.user_id("manager"),
                          planned_at=dt.datetime(2026, 11, 24, 9),
                          done_at=dt.datetime(2026, 11, 24, 9), status="done",
                          created_on=later, changed_on=later))
        s.commit()
    with frozen(later):
        with app.app_context():
            assert report_tables.compute("activity").full is False
    with dbx.session() as s:
        points = s.execute(select(ActivityFact.points).where(
            ActivityFact.user_id == dbx.user_id("manager"),
            ActivityFact.day == dt.date(2026, 11, 24))).scalar()
    assert points == 2 + 8


def test_days_are_cut_where_the_clocks_change(app):
    with app.app_context():
        app.config["CRM_TIMEZONE"] = "Europe/Berlin"
        try:
            segments = report_tables.offset_segments(dt.datetime(2026, 3, 28),
                                                     dt.datetime(2026, 3, 30))
        finally:
            app.config["CRM_TIMEZONE"] = "Europe/Moscow"
    assert segments == [(dt.datetime(2026, 3, 28), dt.datetime(2026, 3, 29, 1), 60),
                        (dt.datetime(2026, 3, 29, 1), dt.datetime(2026, 3, 30), 120)]


# --- screens and exports ---------------------------------------------------------------------


def test_the_funnel_page_draws_its_grid_totals_chart_and_drill_links(app, client_as, sales):
    compute(app)
    page = client_as("supervisor").get("/reports/funnel/", query_string={
        "pipeline": sales["pipeline"], **DECEMBER})
    html = text_of(page)
    assert page.status_code == 200, html[:500]
    assert "Qualify" in html and "crm-report-totals" in html and 'id="report-chart"' in html
    assert "/reports/funnel/drill?" in html and "Пересчитать сейчас" in html
    drill = client_as("supervisor").get("/reports/funnel/drill", query_string={
        "pipeline": sales["pipeline"], **DECEMBER, "stage": sales["stages"]["Offer"]})
    assert drill.status_code == 200 and ">I1</a>" in text_of(drill)
    assert ">I4</a>" not in text_of(drill)
    index = client_as("manager").get("/reports/")
    assert index.status_code == 200 and "/reports/motivator/" in text_of(index)


def test_exports_write_exactly_the_grid_on_screen_and_go_to_the_history(
        app, api, client_as, dbx, sales):
    compute(app)
    response = api.get("/api/v1/report/funnel", query_string={
        "format": "xlsx", "pipeline": sales["pipeline"], **DECEMBER})
    assert response.status_code == 200, text_of(response)[:300]
    sheet = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert sheet[1][:3] == ("Qualify", 4, 2000) and sheet[3][:2] == ("Contract", 3)
    assert len(sheet) == 1 + 5 + 1  # the heading, five stages, the totals
    page = client_as("supervisor").get("/reports/funnel/export", query_string={
        "format": "csv", "pipeline": sales["pipeline"], **DECEMBER})
    text = page.data.decode("utf-8")
    assert page.status_code == 200 and text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert [row[1] for row in rows[1:6]] == ["2", "2", "2", "1", "1"]
    with dbx.session() as s:
        sources = s.execute(select(ExportRun.source, ExportRun.rows)).all()
    assert ("report:funnel", 6) in sources
    refused = client_as("manager").get("/reports/funnel/export", query_string={
        "format": "csv"})
    assert refused.status_code in (302, 403)


def test_recompute_now_needs_the_right_and_says_when(app, api, api_as, sales):
    assert grid_of(api, pipeline=sales["pipeline"])["computed_at"] is None
    assert api_as("manager").post("/api/v1/report/funnel/recompute").status_code == 403
    answer = api_as("supervisor").post("/api/v1/report/funnel/recompute")
    assert answer.status_code == 200, text_of(answer)
    with app.app_context():
        computed = reports.computed_at_of("funnel")
    assert answer.get_json()["computed_at"] == computed.isoformat() + "+00:00"
    assert grid_of(api, pipeline=sales["pipeline"])["computed_at"] == answer.get_json()[
        "computed_at"]


def test_plans_are_entered_through_the_api_within_the_supervisor_s_subtree(api_as, dbx):
    supervisor = api_as("supervisor")
    body = {"manager": dbx.user_id("manager"), "starts_on": "2026-12-01",
            "ends_on": "2026-12-31", "won_count": 4, "won_amount": 4000}
    created = supervisor.post("/api/v1/sales_plan/", json=body)
    assert created.status_code == 201, text_of(created)
    outside = supervisor.post("/api/v1/sales_plan/",
                              json={**body, "manager": dbx.user_id("manager_b")})
    assert outside.status_code == 403, text_of(outside)
    neither = supervisor.post("/api/v1/sales_plan/", json={**body, "manager": None})
    assert neither.status_code == 422, text_of(neither)
    assert api_as("manager").post("/api/v1/sales_plan/", json=body).status_code == 403
    listed = api_as("manager").get("/api/v1/sales_plan/").get_json()
    assert listed["count"] == 1
    assert api_as("manager_b").get("/api/v1/sales_plan/").get_json()["count"] == 0
    with dbx.session() as s:
        assert s.execute(select(ReportState)).first() is None


def test_a_day_the_clocks_change_on_adds_up_both_of_its_offsets(app, dbx):
    call = dictionary(dbx, "call", 2)
    manager = dbx.user_id("manager")
    with dbx.session() as s:
        for number, moment in enumerate([dt.datetime(2026, 3, 28, 23, 30),   # 29th 00:30 CET
                                         dt.datetime(2026, 3, 29, 12, 0),    # 29th 14:00 CEST
                                         dt.datetime(2026, 3, 29, 22, 30),   # 30th 00:30 CEST
                                         dt.datetime(2026, 3, 27, 12, 0)]):  # 27th
            s.add(Interaction(subject=f"Call {number}", type_id=call, responsible_id=manager,
                              planned_at=moment, done_at=moment, status="done"))
        s.commit()
    app.config["CRM_TIMEZONE"] = "Europe/Berlin"
    try:
        compute(app, "activity")
    finally:
        app.config["CRM_TIMEZONE"] = "Europe/Moscow"
    with dbx.session() as s:
        days = dict(s.execute(select(ActivityFact.day, ActivityFact.done)).all())
    assert days == {dt.date(2026, 3, 27): 1, dt.date(2026, 3, 29): 2, dt.date(2026, 3, 30): 1}


def test_a_time_written_without_microseconds_stays_in_its_own_day(app, dbx, activity):
    """SQLite compares times as text: "2026-11-23 21:00:00" (another writer's) sorts before
    the bound "2026-11-23 21:00:00.000000", yet is 24 November in Moscow."""
    compute(app, "activity")
    with dbx.session() as s:  # on PostgreSQL a timestamp: the same answer, for its reason
        s.execute(text("UPDATE crm_interaction SET done_at = '2026-11-23 21:00:00', "
                       "changed_on = :now WHERE subject = 'Done 2'"), {"now": NOW})
        s.commit()
    with frozen(NOW + dt.timedelta(minutes=10)), app.app_context():
        report_tables.compute("activity")  # the 23rd and the 24th again, each on its own
    with dbx.session() as s:
        days = dict(s.execute(select(ActivityFact.day, ActivityFact.done).where(
            ActivityFact.user_id == dbx.user_id("manager"))).all())
    # The 23rd keeps its meeting and call; the moved call joins the 24th, whose other call
    # was done on the 25th in Moscow.
    assert (days[dt.date(2026, 11, 23)], days[dt.date(2026, 11, 24)]) == (2, 1)


def test_a_table_computed_whole_keeps_its_indexes(app, dbx, sales):
    """On SQLite the indexes are built after the rows: they are all there after it."""
    from sqlalchemy import inspect

    compute(app)
    compute(app, "clients")
    with app.app_context():
        from app.database import db

        inspector = inspect(db.engine)
        for model in (FunnelFact, report_tables.ClientFact):
            wanted = {index.name for index in model.__table__.indexes}
            found = {index["name"] for index in inspector.get_indexes(model.__tablename__)}
            assert wanted <= found, model.__tablename__


def test_a_table_emptied_since_it_was_computed_is_computed_whole(app, dbx, sales):
    """After a crash PostgreSQL empties the report tables (unlogged): the next refresh
    finds a table without the rows it was computed with and computes it whole."""
    compute(app)
    computed = month_sums(dbx)
    with dbx.session() as s:
        for model in (FunnelFact, FunnelStay, FunnelMonth):
            s.execute(model.__table__.delete())
        s.commit()
    with frozen(NOW + dt.timedelta(minutes=10)), app.app_context():
        state = report_tables.compute("funnel")
        assert (state.full, state.rows) == (True, 5)
    assert month_sums(dbx) == computed
    with frozen(NOW + dt.timedelta(minutes=20)), app.app_context():
        assert report_tables.compute("funnel").full is False


def test_the_report_tables_are_unlogged_on_postgresql(app, dbx):
    """They are computed again from the records at any time: written without the WAL."""
    with dbx.session() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite has no unlogged tables")
        persistence = dict(s.execute(text(
            "SELECT relname, relpersistence FROM pg_class WHERE relkind = 'r' AND "
            "relname LIKE 'crm_report%'")).all())
    computed = {"crm_report_funnel", "crm_report_funnel_stay", "crm_report_funnel_month",
                "crm_report_activity", "crm_report_client", "crm_report_client_summary",
                "crm_report_abc"}
    assert {name for name, kind in persistence.items() if kind == "u"} == computed
    # What people entered (subscriptions, their deliveries) and the state stay logged.
    assert {"crm_report_state", "crm_report_subscription"} <= set(persistence)
