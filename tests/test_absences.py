"""Absences (app.services.absences): on the first day the absent manager's open work goes
to the deputy, who reads and edits the manager's records only between the absence's dates;
after the last day what is still open returns and what the deputy did stays done; who may
plan one follows the reassign right; the API and the page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from factories import default_pipeline, first_stage
from sqlalchemy import select

from app.models import (
    Absence,
    AbsenceItem,
    ChangeLog,
    Client,
    Inquiry,
    Interaction,
    Interest,
    Notification,
)
from app.services import absences, access, sales
from app.services.clock import local_today
from app.services.errors import Forbidden, RecordInvalid, StaleVersion
from tests.helpers import text_of

# Noon in Moscow on a Monday: the absence runs Wednesday to Friday.
MONDAY = dt.datetime(2027, 3, 1, 9, 0)
WEDNESDAY, FRIDAY = dt.date(2027, 3, 3), dt.date(2027, 3, 5)


def at(moment: dt.datetime):
    return time_machine.travel(moment.replace(tzinfo=dt.timezone.utc), tick=False)


def day(date: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(hour))


@pytest.fixture
def work(dbx):
    """The manager's work: a client, an open interest with its plan, a task without an
    interest, a done call, a closed interest, a new and a processed inquiry; and one
    planned call of manager_b's own."""
    manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
    pipeline = default_pipeline(dbx)
    stage = first_stage(dbx, pipeline)
    with dbx.session() as s:
        client = Client(name="ООО «Ромашка»", kind="company", responsible_id=manager)
        s.add(client)
        s.flush()
        interest = Interest(title="Поставка", pipeline_id=pipeline, stage_id=stage,
                            client_id=client.id, responsible_id=manager)
        closed = Interest(title="Старая сделка", pipeline_id=pipeline, stage_id=stage,
                          client_id=client.id, responsible_id=manager,
                          closed_at=MONDAY - dt.timedelta(days=30))
        s.add_all([interest, closed])
        s.flush()
        rows = {
            "plan": Interaction(subject="Презентация", interest_id=interest.id,
                                client_id=client.id, planned_at=day(WEDNESDAY, 10),
                                responsible_id=manager),
            "task": Interaction(subject="Подготовить КП", planned_at=day(FRIDAY, 12),
                                responsible_id=manager),
            "done": Interaction(subject="Звонок", status="done", result="Ок",
                                planned_at=MONDAY, done_at=MONDAY, responsible_id=manager),
            "others": Interaction(subject="Чужой звонок", planned_at=day(WEDNESDAY, 11),
                                  responsible_id=other),
            "new_inquiry": Inquiry(sender_name="Пётр", manager_id=manager, status="new"),
            "old_inquiry": Inquiry(sender_name="Анна", manager_id=manager,
                                   status="processed"),
        }
        s.add_all(rows.values())
        s.commit()
        ids = {key: row.id for key, row in rows.items()}
        ids.update(client=client.id, interest=interest.id, closed=closed.id,
                   manager=manager, deputy=other)
        return ids


def responsible(dbx, model, pk) -> int:
    column = Inquiry.manager_id if model is Inquiry else model.responsible_id
    return dbx.scalar(select(column).where(model.id == pk))


def reads_client(dbx, username: str, client_id: int) -> bool:
    with dbx.acting(username) as s:
        return s.execute(access.readable(Client, Client.id).where(
            Client.id == client_id)).first() is not None


def plan_absence(dbx, work, by="admin", **values) -> int:
    with dbx.acting(by):
        absence = absences.plan(values.get("user", work["manager"]),
                                values.get("deputy", work["deputy"]),
                                values.get("starts_on", WEDNESDAY),
                                values.get("ends_on", FRIDAY), values.get("note", "Отпуск"))
        return absence.id


def run_job(app):
    from app.jobs import BY_ID
    from app.jobs.runner import run
    from app.models import utcnow

    job = BY_ID["absences"]
    with app.app_context():
        record = run(job, job.schedule.slot_at(utcnow()), "run_now")
        assert record is not None and record.status == "succeeded", record and record.error
        return record


# --- the work goes and comes back -----------------------------------------------------------


def test_the_open_work_goes_to_the_deputy_on_the_first_day_and_nothing_else(app, dbx, work):
    with at(MONDAY):
        absence = plan_absence(dbx, work)
        assert dbx.scalar(select(Absence.status).where(Absence.id == absence)) == "planned"
        assert responsible(dbx, Interaction, work["plan"]) == work["manager"]
        assert not reads_client(dbx, "manager_b", work["client"])
    with at(day(WEDNESDAY, 5)):  # 08:00 in Moscow
        run_job(app)
        assert dbx.scalar(select(Absence.status).where(Absence.id == absence)) == "active"
        moved = {key: responsible(dbx, model, work[key]) for key, model in [
            ("plan", Interaction), ("task", Interaction), ("done", Interaction),
            ("others", Interaction), ("interest", Interest), ("closed", Interest),
            ("new_inquiry", Inquiry), ("old_inquiry", Inquiry), ("client", Client)]}
        assert moved == {"plan": work["deputy"], "task": work["deputy"],
                         "done": work["manager"], "others": work["deputy"],
                         "interest": work["deputy"], "closed": work["manager"],
                         "new_inquiry": work["deputy"], "old_inquiry": work["manager"],
                         "client": work["manager"]}
        handed = {(row.kind, row.record_id) for row in dbx.all(
            select(AbsenceItem).where(AbsenceItem.absence_id == absence))}
        assert handed == {("interaction", work["plan"]), ("interaction", work["task"]),
                          ("interest", work["interest"]), ("inquiry", work["new_inquiry"])}
        # Each handing is in the record's history; the deputy is told what they have.
        assert dbx.count(ChangeLog, ChangeLog.entity == "Interaction",
                         ChangeLog.record_id == work["task"]) >= 1
        note = dbx.all(select(Notification).where(Notification.kind == "absence"))
        assert [(n.user_id, n.payload["event"], n.payload["interaction"]) for n in note] == \
            [(work["deputy"], "begun", 2)]


def test_the_deputy_reads_and_edits_the_absent_records_only_within_the_dates(app, dbx, work):
    with at(MONDAY):
        plan_absence(dbx, work)
    for moment, expected in [(day(WEDNESDAY, 5), True), (day(FRIDAY, 20), True),
                             (day(FRIDAY, 21), False),  # Saturday 00:00 in Moscow
                             (dt.datetime(2027, 3, 2, 20, 59), False)]:  # Tuesday 23:59
        with at(moment):
            assert reads_client(dbx, "manager_b", work["client"]) is expected, moment
    with at(day(WEDNESDAY, 8)):
        with dbx.acting("manager_b") as s:
            client = s.get(Client, work["client"])
            assert access.allows(client, "edit")
            from app.services import commands

            commands.update(client, lambda c: setattr(c, "name", "ООО «Ромашка-2»"))
        assert dbx.scalar(select(Client.name).where(Client.id == work["client"])) == \
            "ООО «Ромашка-2»"
        # Nobody else's records: the supervisor's own are still out of reach.
        with dbx.session() as s:
            theirs = Client(name="ООО «Чужое»", kind="company",
                            responsible_id=dbx.user_id("supervisor"))
            s.add(theirs)
            s.commit()
            theirs = theirs.id
        assert not reads_client(dbx, "manager_b", theirs)
        assert reads_client(dbx, "manager_b", work["client"])
    with at(day(FRIDAY, 22)):
        with dbx.acting("manager_b") as s:
            client = s.get(Client, work["client"])
            assert not access.allows(client, "edit")


def test_what_is_still_open_returns_after_the_last_day_and_what_was_done_stays(app, dbx, work):
    with at(MONDAY):
        absence = plan_absence(dbx, work)
    with at(day(WEDNESDAY, 8)):
        run_job(app)
        with dbx.acting("manager_b") as s:
            # The deputy does the presentation and plans the next step of the interest.
            sales.complete(s.get(Interaction, work["plan"]), result="Показали",
                           plan=sales.Plan(subject="Выслать договор",
                                           planned_at=day(FRIDAY + dt.timedelta(days=4))))
    with at(day(FRIDAY + dt.timedelta(days=1), 6)):
        run_job(app)
        assert dbx.scalar(select(Absence.status).where(Absence.id == absence)) == "ended"
        done = dbx.all(select(Interaction).where(Interaction.id == work["plan"]))[0]
        assert (done.status, done.responsible_id) == ("done", work["deputy"])
        next_plan = dbx.scalar(select(Interaction.responsible_id).where(
            Interaction.subject == "Выслать договор"))
        assert next_plan == work["manager"]  # a plan of an interest that returns goes with it
        for key, model in [("task", Interaction), ("interest", Interest),
                           ("new_inquiry", Inquiry)]:
            assert responsible(dbx, model, work[key]) == work["manager"], key
        assert responsible(dbx, Interaction, work["others"]) == work["deputy"]
        told = {(n.user_id, n.payload["event"]) for n in dbx.all(
            select(Notification).where(Notification.kind == "absence"))}
        assert (work["manager"], "ended") in told
        assert not reads_client(dbx, "manager_b", work["client"])


def test_an_absence_that_begins_today_begins_at_once_and_ending_it_early_returns_the_work(
        app, dbx, work):
    with at(day(WEDNESDAY, 7)):
        absence = plan_absence(dbx, work)
        assert responsible(dbx, Interaction, work["task"]) == work["deputy"]
        with dbx.acting("admin") as s:
            row = s.get(Absence, absence)
            ended = absences.cancel(row, seen_version=row.version)
            assert ended.status == "ended"
        assert responsible(dbx, Interaction, work["task"]) == work["manager"]
        assert not reads_client(dbx, "manager_b", work["client"])


def test_work_does_not_return_to_an_employee_deactivated_meanwhile(app, dbx, work):
    from app.models import CrmUser

    with at(day(WEDNESDAY, 7)):
        plan_absence(dbx, work)
        with dbx.session() as s:
            s.get(CrmUser, work["manager"]).active = False
            s.commit()
    with at(day(FRIDAY + dt.timedelta(days=1), 6)):
        run_job(app)
        assert responsible(dbx, Interaction, work["task"]) == work["deputy"]
        assert dbx.scalar(select(Absence.status)) == "ended"


def test_a_planned_absence_cancelled_hands_nothing(app, dbx, work):
    with at(MONDAY):
        absence = plan_absence(dbx, work)
        with dbx.acting("admin") as s:
            assert absences.cancel(s.get(Absence, absence)).status == "cancelled"
    with at(day(WEDNESDAY, 8)):
        run_job(app)
        assert responsible(dbx, Interaction, work["task"]) == work["manager"]
        assert not reads_client(dbx, "manager_b", work["client"])


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("values, field", [
    ({"deputy": "manager"}, "deputy"),
    ({"starts_on": FRIDAY, "ends_on": WEDNESDAY}, "ends_on"),
    ({"starts_on": dt.date(2027, 2, 1), "ends_on": dt.date(2027, 2, 3)}, "ends_on"),
    ({"starts_on": "03.03.2027"}, "starts_on"),
    ({"deputy": 10**12}, "deputy"),
])
def test_a_bad_absence_is_refused_naming_the_field(app, dbx, work, values, field):
    if values.get("deputy") == "manager":
        values["deputy"] = work["manager"]
    with at(MONDAY):
        with pytest.raises(RecordInvalid) as refused:
            plan_absence(dbx, work, **values)
        assert field in refused.value.errors
    assert dbx.count(Absence) == 0


def test_one_absence_at_a_time_and_nobody_away_stands_in(app, dbx, work):
    supervisor = dbx.user_id("supervisor")
    with at(MONDAY):
        plan_absence(dbx, work)
        # Each refusal names the field and the absence in the way, by its dates.
        for values, field in [
                ({"starts_on": FRIDAY, "ends_on": FRIDAY + dt.timedelta(days=3)}, "starts_on"),
                # The deputy away at the same time, or the absent one standing in for someone.
                ({"user": supervisor, "deputy": work["manager"]}, "deputy"),
                ({"user": work["deputy"], "deputy": supervisor}, "starts_on")]:
            with pytest.raises(RecordInvalid) as refused:
                plan_absence(dbx, work, **values)
            assert "03.03.2027" in refused.value.errors[field][0], values
        # After it, the same people are free again.
        plan_absence(dbx, work, starts_on=FRIDAY + dt.timedelta(days=1),
                     ends_on=FRIDAY + dt.timedelta(days=2))
    assert dbx.count(Absence) == 2


def test_planning_an_absence_needs_the_reassign_right_over_both(app, dbx, work):
    supervisor = dbx.user_id("supervisor")
    with at(MONDAY):
        with pytest.raises(Forbidden):  # a manager reassigns nobody's work
            plan_absence(dbx, work, by="manager", deputy=supervisor)
        with pytest.raises(Forbidden):  # manager_b is outside the supervisor's subtree
            plan_absence(dbx, work, by="supervisor")
        # Within the subtree the head may.
        absence = plan_absence(dbx, work, by="supervisor", deputy=supervisor)
    with dbx.acting("manager") as s:
        assert [row.id for row in s.execute(absences.visible()).scalars()] == [absence]
    with dbx.acting("manager_b") as s:
        assert s.execute(absences.visible()).scalars().all() == []


def test_a_change_from_a_stale_version_is_refused(app, dbx, work):
    with at(MONDAY):
        absence = plan_absence(dbx, work)
        with dbx.acting("admin") as s:
            row = s.get(Absence, absence)
            absences.change(row, ends_on=FRIDAY + dt.timedelta(days=1), seen_version=1)
        with dbx.acting("admin") as s:
            with pytest.raises(StaleVersion):
                absences.change(s.get(Absence, absence), note="Больничный", seen_version=1)


# --- the API and the page ---------------------------------------------------------------------


API = "/api/v1/absence/"


def test_the_api_plans_reads_changes_and_ends_an_absence(api_as, dbx, work):
    today = local_today()
    body = {"user": work["manager"], "deputy": work["deputy"],
            "starts_on": today.isoformat(), "ends_on": (today + dt.timedelta(days=2)).isoformat(),
            "note": "Командировка"}
    created = api_as("admin").post(API, json=body)
    assert created.status_code == 201, text_of(created)
    absence = created.get_json()
    assert absence["status"] == "active" and absence["handed"]["interaction"] >= 1
    assert api_as("manager").get(API).get_json()["count"] == 1
    assert api_as("manager").get(f"{API}{absence['id']}").status_code == 200
    assert api_as("readonly").get(f"{API}{absence['id']}").status_code == 404
    stale = api_as("admin").put(f"{API}{absence['id']}", json={"note": "x", "version": 0})
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale_version"
    changed = api_as("admin").put(f"{API}{absence['id']}", json={
        "ends_on": (today + dt.timedelta(days=5)).isoformat(), "version": absence["version"]})
    assert changed.status_code == 200, text_of(changed)
    ended = api_as("admin").delete(f"{API}{absence['id']}")
    assert ended.status_code == 200 and ended.get_json()["status"] == "ended"
    assert responsible(dbx, Interaction, work["task"]) == work["manager"]


@pytest.mark.parametrize("body, status, code", [
    ({"user": 1, "deputy": 1, "starts_on": "2030-01-01", "ends_on": "2030-01-02"}, 422,
     "invalid"),
    ({"user": "x", "deputy": [], "starts_on": None, "ends_on": 5}, 422, "invalid"),
    ([1, 2], 400, "bad_request"),
])
def test_the_api_refuses_bad_bodies_with_a_code(api_as, body, status, code):
    response = api_as("admin").post(API, json=body)
    assert response.status_code == status, text_of(response)
    assert response.get_json()["code"] == code


def test_the_api_refuses_a_manager_planning_an_absence(api_as, work):
    today = local_today()
    response = api_as("manager").post(API, json={
        "user": work["manager"], "deputy": work["deputy"], "starts_on": today.isoformat(),
        "ends_on": today.isoformat()})
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert api_as("admin").get(f"{API}999999").status_code == 404


def test_the_page_plans_an_absence_and_shows_what_was_handed(client_as, dbx, work):
    today = local_today()
    page = client_as("manager").get("/absences/")
    assert page.status_code == 200 and "crm-absence-form" not in page.text
    admin = client_as("admin")
    form = admin.get("/absences/").text
    assert "crm-absence-form" in form
    refused = admin.post("/absences/plan", data={
        "user": work["manager"], "deputy": work["manager"], "starts_on": today.isoformat(),
        "ends_on": today.isoformat()})
    assert refused.status_code == 422 and "has-error" in refused.text
    done = admin.post("/absences/plan", data={
        "user": work["manager"], "deputy": work["deputy"], "starts_on": today.isoformat(),
        "ends_on": today.isoformat(), "note": "Отгул"}, follow_redirects=True)
    assert done.status_code == 200 and "Отгул" in done.text
    absence = dbx.scalar(select(Absence.id))
    assert f'id="absence-{absence}"' in done.text
    assert responsible(dbx, Interaction, work["task"]) == work["deputy"]
    ended = admin.post(f"/absences/{absence}/cancel", follow_redirects=True)
    assert ended.status_code == 200
    assert responsible(dbx, Interaction, work["task"]) == work["manager"]
