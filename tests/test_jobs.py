"""The scheduler's parts (app.jobs): schedules and slots, one run per (job, slot), the
lock, failures kept with their traceback, catching up after a pause; Settings → Jobs and
/api/v1/job/; the users' notifications on their page and in the API; e-mail by SMTP."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re

import pytest
import time_machine
from sqlalchemy import select, text

from app.jobs import BY_ID, JOBS, Job, runner, schedule_of
from app.jobs.schedule import BadSchedule, Schedule
from app.models import JobRun, Notification
from tests.helpers import flashed, text_of

NOW = dt.datetime(2026, 12, 4, 9, 7, 30)   # 12:07:30 in Moscow


def test_schedules_read_as_people_write_them_and_give_the_same_slots():
    every = Schedule.parse("every 10m")
    assert every.slot_at(NOW) == dt.datetime(2026, 12, 4, 9, 0)
    assert every.next_after(NOW) == dt.datetime(2026, 12, 4, 9, 10)
    assert every.slot_at(dt.datetime(2026, 12, 4, 9, 10)) == dt.datetime(2026, 12, 4, 9, 10)
    daily = Schedule.parse("daily 07:00")                    # Moscow: 04:00 UTC
    assert daily.slot_at(NOW) == dt.datetime(2026, 12, 4, 4, 0)
    assert daily.slot_at(dt.datetime(2026, 12, 4, 3, 59)) == dt.datetime(2026, 12, 3, 4, 0)
    assert daily.next_after(NOW) == dt.datetime(2026, 12, 5, 4, 0)
    assert Schedule.parse("off").off and Schedule.parse("off").slot_at(NOW) is None
    for wrong in ("every", "daily 25:00", "hourly", "every 0m", ""):
        with pytest.raises(BadSchedule):
            Schedule.parse(wrong)


def test_every_job_has_a_valid_schedule_and_the_issue_s_ids():
    assert {"reminders_overdue", "reminders_digest", "reminders_no_plan",
            "reminders_birthdays", "reminders_stale_inquiries"} <= set(BY_ID)
    for job in JOBS:
        Schedule.parse(job.default_schedule)


def counting_job(calls: list, fail_first: bool = False) -> Job:
    def work(now):
        calls.append(now)
        if fail_first and len(calls) == 1:
            raise RuntimeError("the mail server is on fire")
        return 7

    return Job("test_job", "Test", "A job of the tests", "every 1m", work)


def run_in(app, job, slot, trigger="schedule"):
    with app.app_context():
        record = runner.run(job, slot, trigger)
        return None if record is None else (record.status, record.rows, record.error)


def runs(dbx) -> list[JobRun]:
    return dbx.all(select(JobRun).order_by(JobRun.id))


def test_a_slot_runs_once_and_is_recorded(app, dbx):
    calls: list = []
    job = counting_job(calls)
    slot = dt.datetime(2026, 12, 4, 9, 0)
    assert run_in(app, job, slot) == ("succeeded", 7, None)
    assert run_in(app, job, slot) is None                    # that slot has run
    assert run_in(app, job, slot + dt.timedelta(minutes=1))[0] == "succeeded"
    assert len(calls) == 2
    (first, second) = runs(dbx)
    assert (first.job_id, first.slot, first.trigger, first.status, first.rows) == \
        ("test_job", slot, "schedule", "succeeded", 7)
    assert first.finished_at >= first.started_at and first.runner


def test_a_failing_job_is_recorded_with_its_traceback_and_the_next_slot_runs(app, dbx):
    calls: list = []
    job = counting_job(calls, fail_first=True)
    slot = dt.datetime(2026, 12, 4, 9, 0)
    status, rows, error = run_in(app, job, slot)
    assert (status, rows) == ("failed", 0)
    assert "Traceback" in error and "the mail server is on fire" in error
    assert run_in(app, job, slot + dt.timedelta(minutes=1))[:2] == ("succeeded", 7)


def test_a_job_held_by_another_process_is_left_to_it(app, dbx):
    from app.database import db
    from app.jobs import locks

    job = counting_job([])
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            other = engine.connect()
            other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": locks.advisory_key(job.id)})
        else:
            other = None
            with engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO crm_job_lease (job_id, holder, expires_at) "
                    "VALUES (:job, 'elsewhere:1', :until)"),
                    {"job": job.id, "until": dt.datetime.utcnow() + dt.timedelta(minutes=5)})
    try:
        assert run_in(app, job, dt.datetime(2026, 12, 4, 9, 0)) is None
        assert runs(dbx) == []
    finally:
        if other is not None:       # a pooled connection keeps its locks: give it back clean
            other.execute(text("SELECT pg_advisory_unlock_all()"))
            other.close()
    if other is None:                                        # a lease that lapsed is taken
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("UPDATE crm_job_lease SET expires_at = :past"),
                               {"past": dt.datetime(2000, 1, 1)})
    assert run_in(app, job, dt.datetime(2026, 12, 4, 9, 0))[0] == "succeeded"


def test_a_run_cut_short_is_marked_interrupted_by_the_next(app, dbx):
    job = counting_job([])
    dbx.insert(JobRun, [{"job_id": job.id, "slot": dt.datetime(2026, 12, 4, 8, 0),
                         "status": "running", "trigger": "schedule",
                         "started_at": dt.datetime(2026, 12, 4, 8, 0)}])
    run_in(app, job, dt.datetime(2026, 12, 4, 9, 0))
    assert [(r.status, r.slot.hour) for r in runs(dbx)] == [("interrupted", 8), ("succeeded", 9)]


def test_after_a_pause_each_job_catches_up_once(app, dbx, monkeypatch):
    from app.jobs import scheduler

    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES",
                        {job.id: "off" for job in JOBS
                         if job.id not in ("reminders_overdue", "reminders_digest")})
    overdue, digest = BY_ID["reminders_overdue"], BY_ID["reminders_digest"]
    with app.app_context():
        assert scheduler.due_catch_ups(NOW) == ["reminders_overdue", "reminders_digest"]
        runner.run(overdue, overdue.schedule.slot_at(NOW))
        runner.run(digest, digest.schedule.slot_at(NOW))
        assert scheduler.due_catch_ups(NOW) == []
        assert scheduler.due_catch_ups(NOW + dt.timedelta(minutes=9)) == ["reminders_overdue"]
        # The digest of 07:00 is caught up until 19:00, not in the evening.
        evening = dt.datetime(2026, 12, 5, 16, 30)          # 19:30 in Moscow
        assert scheduler.due_catch_ups(evening) == ["reminders_overdue"]


def test_the_scheduler_takes_every_job_that_is_on(app, monkeypatch):
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.jobs import scheduler

    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES", {"reminders_birthdays": "off"})
    built = scheduler.build(app, BackgroundScheduler)
    ids = {job.id for job in built.get_jobs()}
    assert {job.id for job in JOBS} - ids == {"reminders_birthdays"}
    overdue = built.get_job("reminders_overdue")
    assert overdue.coalesce and overdue.max_instances == 1
    assert overdue.misfire_grace_time == 600


def test_a_wrong_schedule_in_the_configuration_is_named(app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES", '{"no_such_job": "every 1m"}')
    with app.app_context(), pytest.raises(BadSchedule, match="no_such_job"):
        schedule_of(BY_ID["reminders_overdue"])


# --- Settings → Jobs and /api/v1/job/ -----------------------------------------------------


def test_the_jobs_page_shows_each_job_and_runs_one_now(admin_client, dbx):
    page = admin_client.get("/jobs/")
    assert page.status_code == 200
    body = text_of(page)
    for job in JOBS:
        assert job.id in body
    assert "Run now" in body or "Запустить" in body
    response = admin_client.post("/jobs/reminders_overdue/run")
    assert response.status_code == 302
    (record,) = runs(dbx)
    assert (record.job_id, record.trigger, record.status) == \
        ("reminders_overdue", "manual", "succeeded")
    assert record.requested_by_id == dbx.user_id("admin")
    assert "Recent runs" in text_of(admin_client.get("/jobs/")) or \
        "Последние запуски" in text_of(admin_client.get("/jobs/"))


def test_a_failure_shows_on_the_jobs_page(admin_client, dbx):
    dbx.insert(JobRun, [{"job_id": "reminders_digest", "slot": dt.datetime(2026, 12, 4, 4, 0),
                         "status": "failed", "trigger": "schedule", "rows": 0,
                         "started_at": dt.datetime(2026, 12, 4, 4, 0),
                         "error": "Traceback ...\nConnectionRefusedError: smtp"}])
    body = text_of(admin_client.get("/jobs/"))
    assert "ConnectionRefusedError: smtp" in body


def test_managers_neither_see_nor_run_jobs(manager_client, api_as):
    assert manager_client.get("/jobs/").status_code in (302, 403)
    assert manager_client.post("/jobs/reminders_overdue/run").status_code in (302, 403)
    assert api_as("manager").get("/api/v1/job/").status_code == 403
    assert api_as("manager").post("/api/v1/job/reminders_overdue/run").status_code == 403


def test_the_jobs_api_lists_runs_and_starts_one(api, dbx):
    listed = api.get("/api/v1/job/")
    assert listed.status_code == 200
    jobs = {item["id"]: item for item in listed.get_json()["result"]}
    assert jobs["reminders_overdue"]["schedule"] == "every 10m"
    assert jobs["reminders_overdue"]["last_run"] is None
    assert jobs["reminders_overdue"]["next_run_at"].endswith("+00:00")   # as every time
    started = api.post("/api/v1/job/reminders_no_plan/run")
    assert started.status_code == 200, started.get_json()
    result = started.get_json()["result"]
    assert (result["job"], result["status"], result["trigger"]) == \
        ("reminders_no_plan", "succeeded", "manual")
    one = api.get("/api/v1/job/reminders_no_plan").get_json()["result"]
    assert one["last_run"]["id"] == result["id"]
    runs_listed = api.get("/api/v1/job_run/").get_json()
    assert [row["job"] for row in runs_listed["result"]] == ["reminders_no_plan"]
    assert api.get("/api/v1/job_run/?job=reminders_overdue").get_json()["count"] == 0
    assert api.get("/api/v1/job/no_such_job").status_code == 404
    assert api.post("/api/v1/job/no_such_job/run").status_code == 404


def test_reminder_settings_are_checked_and_kept(admin_client, dbx):
    from app.models import Setting

    response = admin_client.post("/jobs/settings", data={"birthday_days_ahead": "100",
                                                         "inquiry_stale_hours": "6"})
    assert response.status_code == 302
    assert dbx.count(Setting) == 0
    assert "60" in flashed(admin_client.get("/jobs/").get_data(as_text=True))
    admin_client.post("/jobs/settings", data={"birthday_days_ahead": "5",
                                              "inquiry_stale_hours": "6"})
    assert {s.key: s.value for s in dbx.all(select(Setting))} == \
        {"birthday_days_ahead": 5, "inquiry_stale_hours": 6}


# --- Notifications: the bell, the page, the API --------------------------------------------


def notify(dbx, username: str, n: int, kind="overdue") -> list[int]:
    rows = [{"user_id": dbx.user_id(username), "kind": kind, "entity": "interaction",
             "record_id": 1000 + i, "day": dt.date(2026, 12, 4),
             "payload": {"subject": f"Звонок {i}", "planned_at": "2026-12-04T08:00:00"}}
            for i in range(n)]
    dbx.insert(Notification, rows)
    return dbx.all(select(Notification.id).where(
        Notification.user_id == dbx.user_id(username)).order_by(Notification.id))


def test_the_bell_costs_no_statement_of_its_own(manager_client, dbx, count_queries):
    notify(dbx, "manager", 3)
    notify(dbx, "manager_b", 2)
    with count_queries() as counter:
        page = manager_client.get("/notifications/")
    body = text_of(page)
    assert 'class="crm-bell-count">3<' in page.get_data(as_text=True)
    assert "Звонок 2" in body
    # Counted in the statement that reads the request's user, on the (user, read) index.
    (user_read,) = [s for s in counter.statements if "FROM ab_user" in s and "crm_cache_stamp" in s]
    assert "crm_notification.read_at IS NULL" in user_read
    assert not [s for s in counter.statements if " ".join(s.split()).startswith(
        "SELECT count(*) AS count_1 FROM crm_notification WHERE")]


def test_notifications_are_read_one_or_all_and_only_by_their_user(client_as, dbx):
    mine = notify(dbx, "manager", 3)
    theirs = notify(dbx, "manager_b", 1)
    manager = client_as("manager")
    assert manager.post(f"/notifications/{theirs[0]}/read").status_code == 404
    opened = manager.post(f"/notifications/{mine[0]}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(
        "/interactionview/show/1000")
    assert manager.get("/notifications/count").get_json() == {"unread": 2}
    manager.post("/notifications/read_all")
    assert manager.get("/notifications/count").get_json() == {"unread": 0}
    assert client_as("manager_b").get("/notifications/count").get_json() == {"unread": 1}


def test_the_notifications_api(api_as, dbx):
    mine = notify(dbx, "manager", 3)
    theirs = notify(dbx, "manager_b", 1)
    api = api_as("manager")
    listed = api.get("/api/v1/notification/").get_json()
    assert (listed["count"], listed["unread"]) == (3, 3)
    assert [item["id"] for item in listed["result"]] == mine[::-1]
    first = listed["result"][-1]
    assert first["title"] and first["url"] == "/interactionview/show/1000"
    read = api.post(f"/api/v1/notification/{mine[0]}/read")
    assert read.status_code == 200 and read.get_json()["result"]["read_at"]
    assert api.get("/api/v1/notification/?unread=1").get_json()["count"] == 2
    assert api.post(f"/api/v1/notification/{theirs[0]}/read").status_code == 404
    assert api.get("/api/v1/notification/?kind=nonsense").status_code == 400
    assert api.post("/api/v1/notification/read_all").get_json() == {"marked": 2}
    assert api_as("manager_b").get("/api/v1/notification/").get_json()["unread"] == 1


def test_a_user_chooses_their_reminders(client_as, dbx):
    from app.models import NotificationSetting

    manager = client_as("manager")
    assert manager.get("/notifications/settings").status_code == 200
    response = manager.post("/notifications/settings", data={
        "kind_overdue": "on", "kind_digest": "on", "delivery": "instant", "language": "en"})
    assert response.status_code == 302
    (row,) = dbx.all(select(NotificationSetting))
    assert (row.user_id, row.delivery, row.language) == (dbx.user_id("manager"), "instant", "en")
    # Every kind left unticked is turned off.
    from app.services.notifications import BY_CODE

    assert sorted(row.disabled) == sorted(set(BY_CODE) - {"overdue", "digest"})
    assert {"birthday", "export", "no_plan", "overdue_team", "stale_inquiry"} <= \
        set(row.disabled)
    manager.post("/notifications/settings", data={"delivery": "weekly"})
    assert dbx.all(select(NotificationSetting.delivery)) == ["instant"]


# --- E-mail --------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp(app, monkeypatch):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setitem(app.config, "CRM_BASE_URL", "https://crm.example.ru")
    try:
        yield inbox
    finally:
        controller.stop()


def test_overdue_notices_and_the_digest_go_by_e_mail_in_the_user_s_language(app, dbx, smtp):
    from app.services import notifications, reminders
    from tests.test_reminders import interaction

    with dbx.acting("manager"):
        notifications.change_preferences([], "instant", "en")
    overdue = interaction(dbx, "manager", NOW - dt.timedelta(hours=1), "Call the director")
    interaction(dbx, "manager", NOW + dt.timedelta(hours=2), "Send the offer")
    interaction(dbx, "manager_b", NOW - dt.timedelta(hours=1), "Позвонить в регион")
    with time_machine.travel(NOW.replace(tzinfo=dt.timezone.utc), tick=False), \
            app.app_context():
        reminders.overdue(NOW)
        at_once = {m["To"]: m for m in smtp.messages}
        # manager_b keeps the digest (the default): nothing at once.
        assert list(at_once) == ["Manager Test <manager@test.local>"]
        message = at_once["Manager Test <manager@test.local>"]
        assert message["Subject"] == "Overdue: 1"
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "Call the director" in plain and "Call the director" in html
        assert f"https://crm.example.ru/interactionview/show/{overdue}" in plain
        smtp.messages.clear()
        reminders.overdue(NOW)                              # sent once
        assert smtp.messages == []

        reminders.digest(NOW)
    digests = {m["To"]: m for m in smtp.messages}
    assert digests["Manager Test <manager@test.local>"]["Subject"].startswith(
        "Your day in Voronka CRM")
    regional = digests["Manager_b Test <manager_b@test.local>"]
    assert regional["Subject"].startswith("Ваш день")                 # the company's language
    # Whoever keeps the digest finds in it the overdue notice not sent before.
    assert "Позвонить в регион" in regional.get_body(("plain",)).get_content()
    assert dbx.count(Notification, Notification.emailed_at.is_(None),
                     Notification.kind.in_(["overdue", "digest"]),
                     Notification.user_id.in_([dbx.user_id("manager"),
                                               dbx.user_id("manager_b")])) == 0


def test_a_mail_server_that_is_down_fails_the_run_and_the_next_run_sends(app, dbx, monkeypatch):
    from app.services import notifications
    from tests.test_reminders import interaction

    closed_port = free_port()
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", f"smtp://127.0.0.1:{closed_port}?timeout=2")
    with dbx.acting("manager"):
        notifications.change_preferences([], "instant")
    interaction(dbx, "manager", NOW - dt.timedelta(hours=1))
    with time_machine.travel(NOW.replace(tzinfo=dt.timezone.utc), tick=True):
        status, _rows, error = run_in(app, BY_ID["reminders_overdue"], NOW)
    assert status == "failed" and "mail server" in error
    # The notices are kept in the bell; only their e-mail waits for the next run.
    assert dbx.count(Notification, Notification.kind == "overdue") == 1
    assert dbx.count(Notification, Notification.emailed_at.is_not(None)) == 0


def test_the_bell_counts_to_99_plus_and_the_api_counts_all(manager_client, api_as, dbx):
    notify(dbx, "manager", 150)
    page = manager_client.get("/notifications/count")
    assert page.get_json() == {"unread": 100}
    assert 'class="crm-bell-count">99+<' in manager_client.get("/").get_data(as_text=True)
    assert api_as("manager").get("/api/v1/notification/").get_json()["unread"] == 150


def test_what_a_job_writes_is_in_the_history_under_its_name(app, dbx, admin_client):
    from app.models import ChangeLog, Client, Contact
    from app.services import records
    from app.services.actor import acting_as

    with dbx.session(), acting_as(None, "job:reminders_overdue"):
        client = Client(name="ООО «Ночная задача»", kind="company")
        records.save(client, is_new=True)
        contact = Contact(client=client, name="Ночной контакт")
        records.save(contact, is_new=True)
        client_id, contact_id = client.id, contact.id
    (entry,) = dbx.all(select(ChangeLog).where(ChangeLog.record_id == client_id,
                                               ChangeLog.entity == "Client"))
    assert (entry.user_id, entry.actor) == (None, "job:reminders_overdue")
    page = text_of(admin_client.get(f"/changelogview/show/{entry.id}"))
    assert "Overdue reminders" in page or "Напоминания о просроченном" in page
    # The record's own page says who created it: the job, in its audit fields.
    record = admin_client.get(f"/contactview/show/{contact_id}").get_data(as_text=True)
    writers = re.findall(r'class="crm-system-writer">([^<]+)<', record)
    assert len(writers) == 2 and all("Напоминания о просроченном" in w or
                                     "Overdue reminders" in w for w in writers), writers


def test_an_embedded_scheduler_waits_for_the_worker_that_runs_it_and_takes_over(
        app, monkeypatch, tmp_path):
    """Of the web workers, the one holding instance/scheduler.lock runs the schedule; when
    it stops, another takes over."""
    import fcntl
    import time

    from app.jobs import scheduler

    monkeypatch.setitem(app.config, "CRM_SCHEDULER", "embedded")
    monkeypatch.setitem(app.config, "CRM_JOB_SCHEDULES", {job.id: "off" for job in JOBS})
    monkeypatch.setattr(scheduler, "RETRY_LOCK_SECONDS", 0.1)
    lock = tmp_path / "scheduler.lock"
    other_worker = open(lock, "a+")
    fcntl.flock(other_worker.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        scheduler.start_embedded(app, lock)
        time.sleep(0.3)
        assert "scheduler" not in scheduler._embedded      # the other worker runs it
        other_worker.close()                               # … and stops
        deadline = time.monotonic() + 5
        while "scheduler" not in scheduler._embedded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scheduler._embedded["scheduler"].running
    finally:
        scheduler.stop_embedded()
        other_worker.close()


def test_no_scheduler_starts_in_a_web_process_when_it_runs_elsewhere(app, tmp_path):
    from app.jobs import scheduler

    assert app.config["CRM_SCHEDULER"] == "off"
    scheduler.start_embedded(app, tmp_path / "scheduler.lock")
    assert scheduler._embedded == {}


def test_list_pages_out_of_range_are_refused(api):
    for url in ("/api/v1/job_run/?page=-1", "/api/v1/job_run/?page_size=101",
                "/api/v1/notification/?page_size=0", "/api/v1/notification/?page=x&page_size=2"):
        response = api.get(url)
        assert response.status_code == (200 if "page=x" in url else 400), url


def test_read_notifications_older_than_90_days_are_cleaned_up(app, dbx):
    from app.services import notifications

    old, recent = dt.datetime(2026, 8, 1), dt.datetime(2026, 11, 30)
    manager = dbx.user_id("manager")
    dbx.insert(Notification, [
        {"user_id": manager, "kind": "overdue", "entity": "interaction", "record_id": n,
         "day": created.date(), "created_at": created, "read_at": read}
        for n, (created, read) in enumerate([(old, old), (old, None), (recent, recent)])])
    with app.app_context():
        assert notifications.purge_read(NOW) == 1
    assert sorted(n.record_id for n in dbx.all(select(Notification))) == [1, 2]


def test_a_scheduler_starts_without_its_catch_ups_when_the_database_is_away(app, monkeypatch):
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.jobs import scheduler

    def unreachable(_now):
        raise ConnectionError("the database is away")

    monkeypatch.setattr(scheduler, "due_catch_ups", unreachable)
    built = scheduler.build(app, BackgroundScheduler)
    assert {job.id for job in built.get_jobs()} == {job.id for job in JOBS}


def test_pages_beyond_any_list_are_refused_or_empty(api, manager_client):
    assert api.get("/api/v1/job_run/?page=10000000000000000000").status_code == 400
    assert api.get("/api/v1/notification/?page=10000000000000000000").status_code == 400
    assert manager_client.get("/notifications/?page=10000000000000000000").status_code == 200


def test_a_failure_s_traceback_is_shown_only_to_those_who_may_change_settings(
        client_as, api_as, dbx):
    """A supervisor reads the settings (the jobs' state) but not a traceback, which may
    quote records' values."""
    dbx.insert(JobRun, [{"job_id": "reminders_digest", "slot": dt.datetime(2026, 12, 4, 4, 0),
                         "status": "failed", "trigger": "schedule", "rows": 0,
                         "started_at": dt.datetime(2026, 12, 4, 4, 0),
                         "error": "Traceback ...\nValueError: ООО «Тайна» 7701234567"}])
    page = client_as("supervisor").get("/jobs/")
    assert page.status_code == 200
    assert "7701234567" not in text_of(page)
    runs = api_as("supervisor").get("/api/v1/job_run/").get_json()["result"]
    assert runs[0]["status"] == "failed" and "7701234567" not in runs[0]["error"]
    assert "7701234567" in text_of(client_as("admin").get("/jobs/"))
