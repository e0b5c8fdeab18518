"""ABC/XYZ: the plain rules at their limits, then the job on fixed clients: the classes
kept on the clients (and filtered by), the grid and its drill-down."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine
from sqlalchemy import select

from app.models import Client, Interest, Stage
from app.rules.abcxyz import classify, variation
from app.services import report_tables
from tests.factories import default_pipeline
from tests.helpers import text_of


def months(*values) -> list[Decimal]:
    return [Decimal(v) for v in values]


def test_abc_takes_the_client_that_crosses_a_limit_into_the_class_before_it():
    lone = [0] * 11
    classes = classify({1: months(8000, *lone), 2: months(1500, *lone),
                        3: months(400, *lone), 4: months(100, *lone), 5: months(*[0] * 12)})
    # Before client 2 lie exactly 80 % of the revenue, before client 3 exactly 95 %.
    assert {k: c.abc for k, c in classes.items()} == {1: "A", 2: "B", 3: "C", 4: "C"}
    assert classes[1].revenue == Decimal(8000)


def test_xyz_by_the_coefficient_of_variation_at_its_limits():
    assert variation(months(*[100] * 12)) == Decimal("0.0")
    assert variation(months(*[90, 110] * 6)) == Decimal("10.0")
    assert variation(months(*[80, 120] * 6)) == Decimal("20.0")
    assert variation(months(*[75, 125] * 6)) == Decimal("25.0")
    assert variation(months(*[50, 150] * 6)) == Decimal("50.0")
    classes = classify({1: months(*[90, 110] * 6), 2: months(*[75, 125] * 6),
                        3: months(*[50, 150] * 6)})
    assert {k: c.xyz for k, c in classes.items()} == {1: "X", 2: "Y", 3: "Z"}


def test_the_job_classes_clients_keeps_the_class_on_them_and_the_grid_shows_it(
        app, api, dbx):
    manager = dbx.user_id("manager")
    pipeline = default_pipeline(dbx)
    with app.app_context():
        window = report_tables.abc_window(dt.date.today())
    with dbx.session() as s:
        won = s.execute(select(Stage.id).where(Stage.pipeline_id == pipeline,
                                               Stage.kind == "won")).scalar()
        clients = {}
        for name, old in (("Steady", None), ("Once", None), ("Long ago", "A")):
            client = Client(name=name, name_search=name.lower(), responsible_id=manager,
                            abc_class=old, xyz_class=old and "X")
            s.add(client)
            s.flush()
            clients[name] = client.id
        deals = [("Steady", (year, month), 100) for year, month in window]
        deals += [("Once", window[5], 300)]
        before = window[0]
        deals += [("Long ago", (before[0] - 1, before[1]), 5000)]  # a year before the window
        for name, (year, month), amount in deals:
            moment = dt.datetime(year, month, 15, 9)
            s.add(Interest(title=f"{name} {year}-{month}", title_search=name.lower(),
                           pipeline_id=pipeline, stage_id=won, amount=Decimal(amount),
                           responsible_id=manager, client_id=clients[name],
                           closed_at=moment, created_on=moment))
        s.commit()
    with app.app_context():
        assert report_tables.compute("abc").rows == 2
    stored = {name: (dbx.get(Client, pk).abc_class, dbx.get(Client, pk).xyz_class)
              for name, pk in clients.items()}
    assert stored == {"Steady": ("A", "X"), "Once": ("B", "Z"), "Long ago": (None, None)}

    listed = api.get("/api/v1/client/", query_string={
        "q": "(filters:!((col:abc_class,opr:eq,value:B)))"})
    assert listed.status_code == 200, text_of(listed)
    assert [row["name"] for row in listed.get_json()["result"]] == ["Once"]

    grid = api.get("/api/v1/report/abcxyz").get_json()
    rows = {row["class"]: row for row in grid["rows"]}
    assert (rows["A"]["X"], rows["A"]["revenue"], rows["A"]["share"]) == (1, "1200.00", "80.0")
    assert (rows["B"]["Z"], rows["B"]["share"]) == (1, "20.0")
    assert grid["totals"]["clients"] == 2
    drill = api.get("/api/v1/report/abcxyz/drill", query_string=rows["B"]["drill"]["Z"])
    assert [(r["name"], r["variation"]) for r in drill.get_json()["rows"]] == \
        [("Once", "331.7")]
    assert api.get("/api/v1/report/abcxyz/drill",
                   query_string={"abc": "D"}).status_code == 422


def test_the_refresh_classes_again_only_when_a_client_or_an_interest_changed(app, dbx):
    manager = dbx.user_id("manager")
    pipeline = default_pipeline(dbx)
    now = dt.datetime(2026, 12, 10, 9, 0)
    earlier = time_machine.travel(dt.datetime(2026, 12, 8, tzinfo=dt.timezone.utc))
    with earlier, dbx.session() as s:
        won = s.execute(select(Stage.id).where(Stage.pipeline_id == pipeline,
                                               Stage.kind == "won")).scalar()
        client = Client(name="Steady", name_search="steady", responsible_id=manager)
        s.add(client)
        s.flush()
        client_id = client.id
        s.add(Interest(title="Deal", title_search="deal", pipeline_id=pipeline,
                       stage_id=won, amount=Decimal(100), responsible_id=manager,
                       client_id=client_id, closed_at=dt.datetime(2026, 6, 15),
                       created_on=dt.datetime(2026, 6, 1)))
        s.commit()

    def refresh(moment):
        with time_machine.travel(moment.replace(tzinfo=dt.timezone.utc), tick=False), \
                app.app_context():
            state = report_tables.compute("abc")
            return state.full, state.rows

    last_changed = dbx.get(Client, client_id).changed_on
    assert refresh(now) == (True, 1)
    classed = dbx.get(Client, client_id)
    assert (classed.abc_class, classed.changed_on) == ("A", last_changed)
    with dbx.session() as s:  # classes written by the job leave the client unchanged
        s.execute(Interest.__table__.delete().where(Interest.client_id == client_id))
        s.commit()
    # Nothing changed since: the classes stay as they were, though the deal is gone (a
    # deletion leaves no trace a refresh sees; the nightly rebuild takes it in).
    assert refresh(now + dt.timedelta(minutes=10)) == (False, 1)
    # A new month moves the window: computed again.
    assert refresh(dt.datetime(2027, 1, 1, 9, 0)) == (False, 0)
