""""My tasks" (app.services.my_tasks, app.screens.my_tasks): my planned interactions and
tasks by group with their filters, through the access filter and in a bounded number of
statements; completing one in place with its result, time spent and (for the last plan of
an open interest, R1) the next plan; tasks given to a colleague, whose giver sees them and
is told when they are done or overdue (once); the same through /api/v1/interaction/."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from helpers import page_text, tr
from sqlalchemy import select

from app.models import (
    Client,
    DictionaryItem,
    Interaction,
    Interest,
    Notification,
    Pipeline,
    Stage,
)
from app.services import my_tasks, notifications, reminders, sales
from app.services.errors import Forbidden, RecordInvalid, RuleBroken

# Friday 4 December 2026, 12:00 in Moscow (UTC+3).
NOW = dt.datetime(2026, 12, 4, 9, 0)
URL = "/my_tasks/"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW.replace(tzinfo=dt.timezone.utc), tick=False):
        yield NOW


def _type(dbx, code: str) -> int:
    return dbx.scalar(select(DictionaryItem.id).where(
        DictionaryItem.kind == "interaction_type", DictionaryItem.code == code))


def work_at(dbx, now: dt.datetime) -> dict:
    """The manager's work around `now`: an open interest with one plan (overdue), a call
    with a client later today, a task tomorrow, one done yesterday; manager_b's call."""
    manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
    with dbx.session() as s:
        pipeline = s.execute(select(Pipeline.id).where(Pipeline.is_default.is_(True))).scalar()
        stage = s.execute(select(Stage.id).where(Stage.pipeline_id == pipeline)
                          .order_by(Stage.sort)).scalars().first()
        client = Client(name="ООО «Ромашка»", kind="company", responsible_id=manager)
        s.add(client)
        s.flush()
        interest = Interest(title="Поставка", pipeline_id=pipeline, stage_id=stage,
                            client_id=client.id, responsible_id=manager)
        s.add(interest)
        s.flush()
        rows = {
            "last_plan": Interaction(subject="Презентация", interest_id=interest.id,
                                     client_id=client.id, responsible_id=manager,
                                     type_id=_type(dbx, "meeting"),
                                     planned_at=now - dt.timedelta(hours=2)),
            "call": Interaction(subject="Перезвонить", client_id=client.id,
                                responsible_id=manager, type_id=_type(dbx, "call"),
                                planned_at=now + dt.timedelta(hours=2), planned_minutes=20),
            "task": Interaction(subject="Подготовить КП", responsible_id=manager,
                                type_id=_type(dbx, "task"),
                                planned_at=now + dt.timedelta(days=1)),
            "done": Interaction(subject="Звонок", status="done", result="Ок",
                                responsible_id=manager, type_id=_type(dbx, "call"),
                                planned_at=now - dt.timedelta(days=1),
                                done_at=now - dt.timedelta(days=1)),
            "others": Interaction(subject="Чужой звонок", responsible_id=other,
                                  planned_at=now - dt.timedelta(hours=1)),
        }
        s.add_all(rows.values())
        s.commit()
        ids = {key: row.id for key, row in rows.items()}
        ids.update(client=client.id, interest=interest.id, manager=manager, other=other,
                   supervisor=dbx.user_id("supervisor"))
        return ids


@pytest.fixture
def work(dbx, frozen):
    return work_at(dbx, NOW)


@pytest.fixture
def live(dbx):
    """The same work around the real time: the screens' session cookies are of now."""
    return work_at(dbx, dt.datetime.utcnow().replace(microsecond=0))


def in_two_days() -> tuple[str, dt.datetime]:
    """A time as a person types it (local), and the same in UTC."""
    from app.services.clock import to_local, to_utc

    local = (to_local(dt.datetime.utcnow()) + dt.timedelta(days=2)).replace(
        hour=11, minute=0, second=0, microsecond=0)
    return local.strftime("%d.%m.%Y %H:%M"), to_utc(local)


def subjects(page) -> dict:
    return {name: [item.subject for item in items] for name, items in page.groups.items()}


# --- the page's groups ------------------------------------------------------------------------


def test_my_work_by_group_and_nothing_of_anyone_else(dbx, work):
    with dbx.acting("manager") as s:
        page = my_tasks.page(work["manager"])
        assert subjects(page) == {"overdue": ["Презентация"], "today": ["Перезвонить"],
                                  "upcoming": ["Подготовить КП"], "done": ["Звонок"]}
        # Completing the interest's only plan asks for the next one (R1).
        assert page.last_plans == {work["last_plan"]}
        assert my_tasks.counts(s, work["manager"]) == {"overdue": 1, "today": 1}
    with dbx.acting("manager_b"):
        # Through the access filter: another manager's work is not theirs to see.
        assert subjects(my_tasks.page(work["manager"])) == {
            "overdue": [], "today": [], "upcoming": [], "done": []}


def test_filters_by_type_client_interest_and_period(dbx, work):
    with dbx.acting("manager"):
        def shown(**filters):
            return subjects(my_tasks.page(work["manager"], my_tasks.Filters(**filters)))

        assert shown(type_id=_type(dbx, "task"))["upcoming"] == ["Подготовить КП"]
        assert shown(type_id=_type(dbx, "task"))["today"] == []
        assert shown(client_id=work["client"]) == {
            "overdue": ["Презентация"], "today": ["Перезвонить"], "upcoming": [], "done": []}
        assert shown(interest_id=work["interest"])["overdue"] == ["Презентация"]
        assert shown(interest_id=work["interest"])["today"] == []
        tomorrow = dt.date(2026, 12, 5)
        assert shown(start=tomorrow, end=tomorrow) == {
            "overdue": [], "today": [], "upcoming": ["Подготовить КП"], "done": []}
        # Typed as people type them, or ISO; the unreadable ignored.
        read = my_tasks.filters_from({"start": "05.12.2026", "end": "2026-12-06",
                                      "type": "x", "client": "-3"})
        assert read == my_tasks.Filters(start=tomorrow, end=dt.date(2026, 12, 6))


def test_the_page_takes_a_bounded_number_of_statements(app, dbx, frozen, count_queries):
    ids = work_at(dbx, NOW)
    with dbx.session() as s:
        s.add_all([Interaction(subject=f"Звонок {n}", responsible_id=ids["manager"],
                               client_id=ids["client"], type_id=_type(dbx, "call"),
                               planned_at=NOW + dt.timedelta(days=1, hours=n))
                   for n in range(40)])
        s.commit()
    with dbx.acting("manager"):
        my_tasks.page(ids["manager"])  # the principal read and cached
        with count_queries() as counter:
            page = my_tasks.page(ids["manager"])
        assert len(page.groups["upcoming"]) == 41
        assert counter.count <= 6, counter.dump()


# --- completing -------------------------------------------------------------------------------


def test_the_last_plan_of_an_open_interest_needs_the_next_in_the_same_command(dbx, work):
    with dbx.acting("manager") as s:
        item = s.get(Interaction, work["last_plan"])
        with pytest.raises(RuleBroken) as refused:
            sales.complete(item, result="Показали", spent_minutes=45)
        assert refused.value.code == "next_plan_required"
    assert dbx.get(Interaction, work["last_plan"]).status == "planned"
    with dbx.acting("manager") as s:
        item = s.get(Interaction, work["last_plan"])
        sales.complete(item, result="Показали", spent_minutes=45,
                       plan=sales.Plan("Договор", NOW + dt.timedelta(days=2)))
    done = dbx.get(Interaction, work["last_plan"])
    assert (done.status, done.result, done.spent_minutes) == ("done", "Показали", 45)
    assert dbx.all(select(Interaction.subject).where(
        Interaction.interest_id == work["interest"], Interaction.status == "planned")) == \
        ["Договор"]


def test_time_spent_is_entered_or_the_planned_length(dbx, work):
    with dbx.acting("manager") as s:
        with pytest.raises(RecordInvalid) as refused:
            sales.complete(s.get(Interaction, work["call"]), result="Ок", spent_minutes=-5)
        assert "spent_minutes" in refused.value.errors
        s.rollback()
        sales.complete(s.get(Interaction, work["call"]), result="Договорились")
    assert dbx.get(Interaction, work["call"]).spent_minutes == 20


def test_complete_in_place_on_the_page_keeps_what_was_typed_when_refused(app, dbx, live,
                                                                          manager_client):
    page = manager_client.get(URL)
    assert page.status_code == 200
    text = page_text(page)
    for words in ("Презентация", "Перезвонить", "Подготовить КП", "Звонок"):
        assert words in text
    assert "Чужой звонок" not in text
    url = f"/my_tasks/complete/{live['last_plan']}"
    refused = manager_client.post(url, data={"result": "Показали КП", "spent_minutes": "30"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Показали КП" in html                          # nothing lost
    assert tr(app, "This is the last plan of its interest: plan the next interaction "
                   "below.") in html
    assert dbx.get(Interaction, live["last_plan"]).status == "planned"
    typed, when = in_two_days()
    done = manager_client.post(url, data={"result": "Показали КП", "spent_minutes": "30",
                                          "next_subject": "Согласовать договор",
                                          "next_planned_at": typed,
                                          "next_type": str(_type(dbx, "call"))})
    assert done.status_code == 302
    item = dbx.get(Interaction, live["last_plan"])
    assert (item.status, item.spent_minutes) == ("done", 30)
    follow = dbx.all(select(Interaction).where(Interaction.interest_id == live["interest"],
                                               Interaction.status == "planned"))
    assert [(f.subject, f.planned_at) for f in follow] == [
        ("Согласовать договор", when)]   # typed in the company's time zone


def test_an_unreadable_time_is_an_error_of_its_field(dbx, live, manager_client):
    refused = manager_client.post(f"/my_tasks/complete/{live['last_plan']}", data={
        "result": "Ок", "next_subject": "Дальше", "next_planned_at": "завтра"})
    assert refused.status_code == 422
    assert "03.12.2026 14:30" in refused.get_data(as_text=True)


def test_another_managers_item_is_not_found(dbx, live, manager_client):
    response = manager_client.post(f"/my_tasks/complete/{live['others']}",
                                   data={"result": "Ок"})
    assert response.status_code == 302
    assert dbx.get(Interaction, live["others"]).status == "planned"


def test_the_menu_badge_counts(live, manager_client):
    counts = manager_client.get("/my_tasks/counts").get_json()
    assert counts["overdue"] == 1 and set(counts) == {"overdue", "today", "labels"}


def test_the_page_in_russian_and_english(live, manager_client):
    manager_client.get("/lang/ru")
    text = page_text(manager_client.get(URL))
    assert "Мои дела" in text or "My tasks" in text
    manager_client.get("/lang/en")
    assert "Given by me" in page_text(manager_client.get(URL))


# --- tasks given to a colleague ---------------------------------------------------------------


def test_a_head_gives_a_task_and_follows_it(dbx, work):
    deadline = NOW + dt.timedelta(hours=5)
    with dbx.acting("supervisor"):
        task = my_tasks.give_task(subject="Собрать отзывы", planned_at=deadline,
                                  description="Три клиента", responsible_id=work["manager"])
        task_id = task.id
    saved = dbx.get(Interaction, task_id)
    assert (saved.responsible_id, saved.given_by_id, saved.description, saved.interest_id) \
        == (work["manager"], work["supervisor"], "Три клиента", None)
    with dbx.acting("supervisor"):
        assert [t.subject for t in my_tasks.given_by_me(work["supervisor"])] == \
            ["Собрать отзывы"]
    with dbx.acting("manager"):
        assert "Собрать отзывы" in subjects(my_tasks.page(work["manager"]))["today"]
    # Done by the manager: the supervisor is told, with the result.
    with dbx.acting("manager") as s:
        sales.complete(s.get(Interaction, task_id), result="Собраны", spent_minutes=60)
    with dbx.session() as s:
        note = s.execute(select(Notification).where(
            Notification.kind == "given_done")).scalar_one()
        assert (note.user_id, note.record_id) == (work["supervisor"], task_id)
        assert note.payload["result"] == "Собраны"
        assert "Собрать отзывы" in notifications.title(note)
    with dbx.acting("supervisor"):
        (given,) = my_tasks.given_by_me(work["supervisor"])
        assert my_tasks.state_of(given) == "done"


def test_a_task_for_myself_has_no_giver(dbx, work):
    with dbx.acting("manager"):
        task_id = my_tasks.give_task(subject="Прочитать регламент",
                                     planned_at=NOW + dt.timedelta(days=1)).id
    assert dbx.get(Interaction, task_id).given_by_id is None


def test_giving_needs_the_reassign_right_over_the_colleague(dbx, work):
    with dbx.acting("manager"):
        with pytest.raises(Forbidden):
            my_tasks.give_task(subject="Сделай", planned_at=NOW, responsible_id=work["other"])
    with dbx.acting("supervisor"):
        # manager_b works in Regions, outside the supervisor's subtree.
        with pytest.raises(Forbidden):
            my_tasks.give_task(subject="Сделай", planned_at=NOW, responsible_id=work["other"])
        with pytest.raises(RecordInvalid) as refused:
            my_tasks.give_task(subject=" ", planned_at=None)
        assert set(refused.value.errors) == {"subject", "planned_at"}
    assert dbx.count(Interaction, Interaction.subject == "Сделай") == 0


def test_the_giver_hears_once_when_a_given_task_becomes_overdue(app, dbx, work):
    with dbx.acting("supervisor"):
        task_id = my_tasks.give_task(subject="Отчёт", planned_at=NOW + dt.timedelta(hours=1),
                                     responsible_id=work["manager"]).id

    def run(now):
        from app.database import db

        with app.app_context():
            try:
                return reminders.overdue(now)
            finally:
                db.session.remove()

    run(NOW)
    assert dbx.count(Notification, Notification.kind == "given_overdue") == 0
    later = NOW + dt.timedelta(hours=2)
    run(later)
    run(later + dt.timedelta(hours=1))
    with dbx.session() as s:
        (note,) = s.execute(select(Notification).where(
            Notification.kind == "given_overdue")).scalars()
        assert (note.user_id, note.record_id) == (work["supervisor"], task_id)
        assert note.payload["responsible"] == "Manager Test"


def test_giving_a_task_on_the_page(dbx, live, supervisor_client):
    response = supervisor_client.post("/my_tasks/give", data={
        "subject": "Обзвонить базу", "description": "До пятницы",
        "planned_at": in_two_days()[0], "responsible": str(live["manager"])})
    assert response.status_code == 302
    task = dbx.scalar(select(Interaction).where(Interaction.subject == "Обзвонить базу"))
    assert (task.responsible_id, task.given_by_id) == (live["manager"], live["supervisor"])
    assert "Обзвонить базу" in page_text(supervisor_client.get(URL))
    refused = supervisor_client.post("/my_tasks/give", data={
        "subject": "Без срока", "description": "Что-то", "planned_at": ""})
    assert refused.status_code == 422
    assert "Что-то" in refused.get_data(as_text=True)


# --- the API (real time: the tokens' clock) ---------------------------------------------------


def test_the_interaction_resource_reads_and_writes_the_task_fields(api, api_as, dbx):
    now = dt.datetime.utcnow().replace(microsecond=0)
    ids = work_at(dbx, now)
    supervisor = api_as("supervisor")
    with dbx.acting("supervisor"):
        task_id = my_tasks.give_task(subject="Отзывы", planned_at=now + dt.timedelta(hours=3),
                                     responsible_id=ids["manager"]).id
    shown = supervisor.get(f"/api/v1/interaction/{task_id}").get_json()["result"]
    assert shown["given_by"]["id"] == ids["supervisor"]
    assert "password" not in str(shown["given_by"])
    changed = supervisor.put(f"/api/v1/interaction/{task_id}",
                             json={"description": "Пять клиентов", "place": "Офис"})
    assert changed.status_code == 200, changed.get_json()
    # given_by is read-only: the command sets it.
    assert supervisor.put(f"/api/v1/interaction/{task_id}",
                          json={"given_by": ids["manager"]}).status_code == 422

    def listed(*filters):
        q = "(filters:!(" + ",".join(
            f"(col:{col},opr:{opr},value:{value})" for col, opr, value in filters) + "))"
        body = supervisor.get("/api/v1/interaction/", query_string={"q": q}).get_json()
        return sorted(row["subject"] for row in body["result"])

    assert listed(("given_by", "rel_o_m", ids["supervisor"])) == ["Отзывы"]
    assert listed(("type", "rel_o_m", _type(dbx, "task"))) == ["Отзывы", "Подготовить КП"]
    assert listed(("client", "rel_o_m", ids["client"])) == ["Перезвонить", "Презентация"]
    assert listed(("interest", "rel_o_m", ids["interest"])) == ["Презентация"]
    assert listed(("responsible", "rel_o_m", ids["manager"]),
                  ("planned_at", "gt", f"'{(now + dt.timedelta(hours=12)).isoformat()}'")) == \
        ["Подготовить КП"]

    manager = api_as("manager")
    done = manager.post(f"/api/v1/interaction/{task_id}/complete",
                        json={"result": "Готово", "spent_minutes": 25})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["result"]["spent_minutes"] == 25
    assert dbx.count(Notification, Notification.kind == "given_done",
                     Notification.user_id == ids["supervisor"]) == 1
    bad = manager.post(f"/api/v1/interaction/{ids['call']}/complete",
                       json={"result": "Ок", "spent_minutes": 100000})
    assert bad.status_code == 422
    assert dbx.get(Interaction, ids["call"]).status == "planned"


# --- time spent -------------------------------------------------------------------------------


def spent_work(dbx, now: dt.datetime) -> dict:
    """Done interactions with their minutes: the manager's (a call and a meeting with the
    client, a call with none), the supervisor's, manager_b's; one done outside the period."""
    ids = work_at(dbx, now)
    done = dict(status="done", result="Ок", done_at=now - dt.timedelta(hours=1),
                planned_at=now - dt.timedelta(hours=1))
    with dbx.session() as s:
        s.add_all([
            Interaction(subject="Звонок 1", responsible_id=ids["manager"], spent_minutes=15,
                        client_id=ids["client"], type_id=_type(dbx, "call"), **done),
            Interaction(subject="Встреча", responsible_id=ids["manager"], spent_minutes=90,
                        client_id=ids["client"], type_id=_type(dbx, "meeting"), **done),
            Interaction(subject="Звонок 2", responsible_id=ids["manager"], spent_minutes=10,
                        type_id=_type(dbx, "call"), **done),
            Interaction(subject="Планёрка", responsible_id=ids["supervisor"],
                        spent_minutes=30, type_id=_type(dbx, "meeting"), **done),
            Interaction(subject="Регион", responsible_id=ids["other"], spent_minutes=500,
                        type_id=_type(dbx, "call"), **done),
            Interaction(subject="Давно", responsible_id=ids["manager"], spent_minutes=999,
                        type_id=_type(dbx, "call"), status="done", result="Ок",
                        planned_at=now - dt.timedelta(days=60),
                        done_at=now - dt.timedelta(days=60)),
        ])
        s.commit()
    return ids


def test_time_spent_per_manager_client_and_type(dbx, frozen):
    from app.services import reports

    ids = spent_work(dbx, NOW)
    call, meeting = f"t{_type(dbx, 'call')}", f"t{_type(dbx, 'meeting')}"
    period = {"start": "2026-12-01", "end": "2026-12-31"}
    with dbx.acting("supervisor"):
        grid = reports.report("time_spent", reports.parse_filters(
            {**period, "view": "managers"}, "time_spent"))
        # The subtree's figures only: manager_b works in Regions. The done call of the
        # fixture ("Звонок", a day ago) has no minutes.
        rows = {row["who"]: (row[call], row[meeting], row["minutes"], row["done"])
                for row in grid.rows}
        assert rows == {"Manager Test": (25, 90, 115, 4), "Supervisor Test": (0, 30, 30, 1)}
        assert grid.totals["minutes"] == 145 and str(grid.totals["hours"]) == "2.4"
        by_client = reports.report("time_spent", reports.parse_filters(
            {**period, "view": "clients"}, "time_spent"))
        assert sorted((row["who"], row["client"], row["minutes"]) for row in by_client.rows) \
            == [("Manager Test", "", 10), ("Manager Test", "ООО «Ромашка»", 105),
                ("Supervisor Test", "", 30)]
        drill = reports.DRILLS["time_spent"][0](
            reports.parse_filters(period, "time_spent"),
            {"manager": ids["manager"], "type": _type(dbx, "call"), "client": ids["client"]})
        assert [row["subject"] for row in drill.rows] == ["Звонок 1"]
        only = reports.report("time_spent", reports.parse_filters(
            {**period, "manager": ids["manager"]}, "time_spent"))
        assert [row["who"] for row in only.rows] == ["Manager Test"]
    with dbx.acting("manager"):
        grid = reports.report("time_spent", reports.parse_filters(period, "time_spent"))
        assert [row["who"] for row in grid.rows] == ["Manager Test"]


def test_time_spent_on_the_reports_page_and_exported(dbx, supervisor_client):
    now = dt.datetime.utcnow().replace(microsecond=0)
    spent_work(dbx, now)
    day = now.date()
    period = {"start": (day - dt.timedelta(days=2)).isoformat(),
              "end": (day + dt.timedelta(days=2)).isoformat()}
    page = supervisor_client.get("/reports/time_spent/", query_string=period)
    assert page.status_code == 200
    assert "Manager Test" in page_text(page)
    assert "/reports/time_spent/" in page_text(supervisor_client.get("/reports/")) or \
        "time_spent" in supervisor_client.get("/reports/").get_data(as_text=True)
    exported = supervisor_client.get("/reports/time_spent/export",
                                     query_string={**period, "format": "csv"})
    assert exported.status_code == 200
    text = exported.get_data().decode("utf-8-sig")
    assert "Manager Test" in text and "115" in text
    assert "Регион" not in text
    xlsx = supervisor_client.get("/reports/time_spent/export",
                                 query_string={**period, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_a_task_posted_for_a_colleague_through_the_api_is_given(api_as, dbx):
    now = dt.datetime.utcnow().replace(microsecond=0)
    ids = work_at(dbx, now)
    supervisor = api_as("supervisor")
    body = {"subject": "Отчёт за неделю", "description": "К пятнице",
            "planned_at": (now + dt.timedelta(days=1)).isoformat(),
            "responsible": ids["manager"], "planned_minutes": 30}
    response = supervisor.post("/api/v1/interaction/", json=body)
    assert response.status_code == 201, response.get_json()
    task = dbx.get(Interaction, response.get_json()["id"])
    assert (task.given_by_id, task.description, task.status) == \
        (ids["supervisor"], "К пятнице", "planned")
    mine = supervisor.post("/api/v1/interaction/", json={**body, "subject": "Себе",
                                                         "responsible": ids["supervisor"]})
    assert dbx.get(Interaction, mine.get_json()["id"]).given_by_id is None
    # A manager may not give work to a colleague (no reassign right): refused, not saved.
    refused = api_as("manager").post("/api/v1/interaction/", json={
        **body, "subject": "Чужое", "responsible": ids["other"]})
    assert refused.status_code == 403, refused.get_json()
    assert dbx.count(Interaction, Interaction.subject == "Чужое") == 0
