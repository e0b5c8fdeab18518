"""The calendar (app.services.calendar, app.screens.calendar): rescheduling an item at the
version seen (a stale one refused, the change in the history), the busy time a meeting runs
into, the meetings a participant takes part in, the team side by side in a bounded number of
statements; the page, its events, the move and the day's load through the access filter."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from app.models import (
    ChangeLog,
    Client,
    Contact,
    DictionaryItem,
    Interaction,
    InteractionParticipant,
)
from app.services.clock import to_local
from tests.helpers import text_of

# Plans around now, on the company's day after tomorrow at 10:00 (local), so nothing is
# overdue and nothing depends on a frozen clock.
DAY = (to_local(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)) +
       dt.timedelta(days=2)).date()


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    """The company's wall-clock time on `day` as naive UTC (Europe/Moscow: UTC+3)."""
    from app.services.clock import to_utc

    return to_utc(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def plans(dbx):
    """The manager's meeting at 10:00 (an hour, with manager_b taking part), a call at
    14:00; manager_b's own call at 12:00; a done call of the manager."""
    with dbx.session() as s:
        meeting = s.execute(select(DictionaryItem.id).where(
            DictionaryItem.kind == "interaction_type",
            DictionaryItem.code == "meeting")).scalar()
        client = Client(name="ООО «Ромашка»", kind="company",
                        responsible_id=dbx.user_id("manager"))
        s.add(client)
        s.flush()
        rows = {
            "meeting": Interaction(subject="Презентация", type_id=meeting, client_id=client.id,
                                   planned_at=at(10), place="Офис клиента",
                                   responsible_id=dbx.user_id("manager")),
            "call": Interaction(subject="Перезвонить", client_id=client.id,
                                planned_at=at(14), responsible_id=dbx.user_id("manager")),
            "other": Interaction(subject="Чужой звонок", planned_at=at(12),
                                 responsible_id=dbx.user_id("manager_b")),
            "done": Interaction(subject="Сделанный звонок", status="done", result="Ок",
                                done_at=at(9), planned_at=at(9),
                                responsible_id=dbx.user_id("manager")),
        }
        s.add_all(rows.values())
        s.flush()
        s.add(InteractionParticipant(interaction_id=rows["meeting"].id,
                                     user_id=dbx.user_id("manager_b")))
        s.commit()
        return {key: row.id for key, row in rows.items()}


# --- services ------------------------------------------------------------------------------


def test_a_reschedule_at_a_stale_version_is_refused(dbx, plans):
    from app.services import calendar
    from app.services.errors import StaleVersion

    with dbx.acting("manager") as s:
        call = s.get(Interaction, plans["call"])
        seen = call.version
        calendar.reschedule(call, at(15), seen_version=seen)
        assert call.version == seen + 1
        with pytest.raises(StaleVersion):
            calendar.reschedule(call, at(16), seen_version=seen)
        s.rollback()
    moved = dbx.get(Interaction, plans["call"])
    assert moved.planned_at == at(15)
    history = dbx.all(select(ChangeLog).where(ChangeLog.entity == "Interaction",
                                              ChangeLog.record_id == plans["call"],
                                              ChangeLog.action == "update"))
    assert any("planned_at" in entry.changes for entry in history)


def test_a_reschedule_sets_the_length_and_refuses_what_is_not_planned(dbx, plans):
    from app.services import calendar
    from app.services.errors import RecordInvalid, RuleBroken

    with dbx.acting("manager") as s:
        call = s.get(Interaction, plans["call"])
        calendar.reschedule(call, at(11), planned_minutes=90, seen_version=call.version)
        with pytest.raises(RecordInvalid):
            calendar.reschedule(call, at(11), planned_minutes=2, seen_version=call.version)
        s.rollback()
        done = s.get(Interaction, plans["done"])
        with pytest.raises(RuleBroken) as refused:
            calendar.reschedule(done, at(11), seen_version=done.version)
        assert refused.value.code == "not_planned"
        s.rollback()
    call = dbx.get(Interaction, plans["call"])
    assert (call.planned_at, call.planned_minutes) == (at(11), 90)


def test_a_manager_cannot_reschedule_another_s_item(dbx, plans):
    from app.services import calendar

    with dbx.acting("manager"):
        assert calendar.editable(plans["other"]) is None
        assert calendar.editable(plans["call"]) is not None


def test_conflicts_name_whoever_is_busy_with_what(dbx, plans):
    from app.services import calendar

    with dbx.acting("admin"):
        manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
        # 10:30–11:00 runs into the meeting (10:00–11:00) for both of them.
        clashes = calendar.conflicts([manager, other], at(10, 30), at(11))
        assert sorted((c.user.username, c.item.interaction.id) for c in clashes) == sorted(
            [("manager", plans["meeting"]), ("manager_b", plans["meeting"])])
        assert "Презентация" in calendar.describe(clashes[0])
        # 11:00–12:00 is free for the manager; manager_b's call at 12:00 starts at its end.
        assert calendar.conflicts([manager, other], at(11), at(12)) == []
        # The meeting itself moved within its own hour clashes with nothing.
        assert calendar.conflicts([manager], at(10, 15), at(11, 15),
                                  excluding=plans["meeting"]) == []
        # A done item is no longer busy time.
        assert calendar.conflicts([manager], at(9), at(9, 30)) == []


def test_busy_time_of_someone_one_may_not_read_warns_without_saying_what_with(dbx, plans):
    from app.services import calendar

    other = dbx.user_id("manager_b")
    with dbx.acting("supervisor"):  # manager_b is outside the supervisor's subtree
        (clash,) = calendar.conflicts([other], at(12, 10), at(12, 20))
        assert clash.user.id == other and clash.item is None
        assert (clash.start, clash.end) == (at(12), at(12, 30))
        text = calendar.describe(clash)
        assert "Чужой звонок" not in text and "12:30" in text
    with dbx.acting("admin"):
        (clash,) = calendar.conflicts([other], at(12, 10), at(12, 20))
        assert "Чужой звонок" in calendar.describe(clash)


def test_a_participant_sees_the_meeting_in_their_calendar(dbx, plans):
    from app.services import calendar

    with dbx.acting("admin"):
        start, end = at(0), at(0, day=DAY + dt.timedelta(days=1))
        items, _ = calendar.period_items(start, end, dbx.user_id("manager_b"))
        assert [item.interaction.id for item in items] == [plans["meeting"], plans["other"]]
        meeting = items[0]
        assert meeting.end - meeting.start == dt.timedelta(hours=1)
    with dbx.acting("manager"):
        # The manager reads nothing of manager_b's but the meeting that is their own.
        items, _ = calendar.period_items(start, end, dbx.user_id("manager_b"))
        assert [item.interaction.id for item in items] == [plans["meeting"]]


def test_a_participant_reads_the_meeting_they_take_part_in_whoever_is_responsible(
        dbx, plans, client_as):
    from app.services import access, calendar

    with dbx.acting("manager_b") as s:
        # Their own calendar holds the colleague's meeting they take part in, and no more
        # of the colleague's work.
        items, _ = calendar.period_items(at(0), at(0, day=DAY + dt.timedelta(days=1)),
                                         dbx.user_id("manager_b"))
        assert [item.interaction.id for item in items] == [plans["meeting"], plans["other"]]
        assert access.allows(s.get(Interaction, plans["meeting"]), "read")
        assert not access.allows(s.get(Interaction, plans["meeting"]), "edit")
        assert not access.allows(s.get(Interaction, plans["call"]), "read")
    page = client_as("manager_b").get(f"/interactionview/show/{plans['meeting']}")
    assert page.status_code == 200 and "Презентация" in page.text
    assert client_as("manager_b").get(
        f"/interactionview/show/{plans['call']}").status_code == 404


def test_the_planned_minutes_make_an_item_s_end(dbx, plans):
    from app.services import calendar

    with dbx.acting("manager") as s:
        call = s.get(Interaction, plans["call"])
        calendar.reschedule(call, at(14), planned_minutes=45, seen_version=call.version)
        items, _ = calendar.period_items(at(14), at(15), dbx.user_id("manager"))
        assert items[0].end == at(14, 45)


def test_the_team_side_by_side_takes_two_statements_for_fifty_managers(dbx, plans, app):
    from app.database import db
    from app.services import calendar

    with dbx.acting("admin"):
        manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
        users = [manager, other, *range(100_000, 100_048)]
        period = at(0), at(0, day=DAY + dt.timedelta(days=1))
        calendar.side_by_side(users, *period)  # who the reader is, read once per request
        statements = []

        def count(*_):
            statements.append(1)

        engine = db.session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            grid = calendar.side_by_side(users, *period)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) <= 2
        assert len(grid) == 50
        assert [i.interaction.id for i in grid[manager]] == [
            plans["done"], plans["meeting"], plans["call"]]
        assert [i.interaction.id for i in grid[other]] == [plans["meeting"], plans["other"]]


def test_the_team_is_the_readers_subtree(dbx, plans):
    from app.services import calendar

    with dbx.acting("manager"):
        assert [u.username for u in calendar.team()] == ["manager"]
    with dbx.acting("supervisor"):
        assert {u.username for u in calendar.team()} == {"supervisor", "manager"}


# --- screens -------------------------------------------------------------------------------


def _events(client, user=None):
    query = {"start": f"{DAY.isoformat()}T00:00:00Z",
             "end": f"{(DAY + dt.timedelta(days=1)).isoformat()}T00:00:00Z"}
    if user is not None:
        query["user"] = user
    response = client.get("/calendar/events", query_string=query)
    assert response.status_code == 200, text_of(response)
    return {int(e["id"]): e for e in response.get_json()}


def test_the_page_draws_the_calendar(manager_client):
    response = manager_client.get("/calendar/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="crm-calendar"' in page
    assert "vendor/fullcalendar/index.global.min.js" in page
    assert "https://" not in page.split("vendor/fullcalendar")[0][-200:]


def test_the_page_s_settings(supervisor_client, dbx):
    import html
    import json
    import re

    manager = dbx.user_id("manager")
    page = supervisor_client.get(f"/calendar/?user={manager}&view=dayGridMonth&date=2026-12-01")
    config = json.loads(html.unescape(re.search(
        r'data-config="([^"]*)"', page.get_data(as_text=True)).group(1)))
    assert config["user"] == manager and config["mine"] is False
    assert (config["view"], config["date"]) == ("dayGridMonth", "2026-12-01")
    assert config["events"] == f"/calendar/events?user={manager}"
    assert config["move"] == "/calendar/move/" and config["offset"] == 180
    assert config["locale"] in ("ru", "en")


def test_the_events_are_the_user_s_in_the_company_s_wall_clock_time(manager_client, plans):
    found = _events(manager_client)
    assert set(found) == {plans["meeting"], plans["call"], plans["done"]}
    meeting = found[plans["meeting"]]
    assert meeting["start"] == f"{DAY.isoformat()}T10:00:00"
    assert meeting["end"] == f"{DAY.isoformat()}T11:00:00"
    assert "crm-cal-type-meeting" in meeting["classNames"]
    assert "crm-cal-planned" in meeting["classNames"]
    assert meeting["editable"] is True
    assert found[plans["done"]]["editable"] is False
    assert "crm-cal-done" in found[plans["done"]]["classNames"]
    assert meeting["url"].endswith(f"/interactionview/show/{plans['meeting']}")


def test_a_manager_cannot_see_another_s_items(manager_client, supervisor_client, dbx, plans):
    other = dbx.user_id("manager_b")
    # Only the meeting the manager is responsible for shows in manager_b's calendar.
    assert set(_events(manager_client, other)) == {plans["meeting"]}
    assert manager_client.get(f"/calendar/?user={other}").status_code == 404
    # The supervisor reads the manager's calendar (their subtree), not manager_b's.
    assert set(_events(supervisor_client, dbx.user_id("manager"))) == {
        plans["meeting"], plans["call"], plans["done"]}
    assert supervisor_client.get(f"/calendar/?user={dbx.user_id('manager')}").status_code == 200


def test_moving_an_item_reschedules_it_at_the_version_seen(manager_client, dbx, plans):
    call = dbx.get(Interaction, plans["call"])
    response = manager_client.post(f"/calendar/move/{plans['call']}", data={
        "start": f"{DAY.isoformat()}T16:30:00Z", "minutes": "60", "version": call.version})
    assert response.status_code == 200, text_of(response)
    assert response.get_json()["version"] == call.version + 1
    moved = dbx.get(Interaction, plans["call"])
    assert (moved.planned_at, moved.planned_minutes) == (at(16, 30), 60)
    # The same version again is stale: refused with the project's conflict.
    response = manager_client.post(f"/calendar/move/{plans['call']}", data={
        "start": f"{DAY.isoformat()}T17:00:00Z", "version": call.version})
    assert response.status_code == 409
    assert response.get_json()["code"] == "stale_version"
    assert dbx.get(Interaction, plans["call"]).planned_at == at(16, 30)


def test_moving_over_busy_time_warns_and_moves_when_confirmed(manager_client, dbx, plans):
    call = dbx.get(Interaction, plans["call"])
    data = {"start": f"{DAY.isoformat()}T10:30:00", "version": call.version}
    response = manager_client.post(f"/calendar/move/{plans['call']}", data=data)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "busy" and "Презентация" in body["conflicts"][0]
    assert dbx.get(Interaction, plans["call"]).planned_at == at(14)
    response = manager_client.post(f"/calendar/move/{plans['call']}",
                                   data={**data, "confirm": "1"})
    assert response.status_code == 200, text_of(response)
    assert dbx.get(Interaction, plans["call"]).planned_at == at(10, 30)


def test_another_s_item_cannot_be_moved(manager_client, dbx, plans):
    other = dbx.get(Interaction, plans["other"])
    response = manager_client.post(f"/calendar/move/{plans['other']}", data={
        "start": f"{DAY.isoformat()}T16:00:00", "version": other.version})
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"
    assert dbx.get(Interaction, plans["other"]).planned_at == at(12)


def test_the_day_s_load(manager_client, plans):
    response = manager_client.get("/calendar/load", query_string={"day": DAY.isoformat()})
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 2
    assert [(i["time"], i["subject"]) for i in body["items"]] == [
        ("10:00", "Презентация"), ("14:00", "Перезвонить")]


def test_the_team_grid(supervisor_client, manager_client, plans):
    page = supervisor_client.get("/calendar/team", query_string={
        "day": DAY.isoformat()}).get_data(as_text=True)
    assert "Презентация" in page and "Перезвонить" in page
    assert "Чужой звонок" not in page  # manager_b is outside the supervisor's subtree
    week = supervisor_client.get("/calendar/team", query_string={
        "day": DAY.isoformat(), "span": "week"})
    assert week.status_code == 200 and "Перезвонить" in week.get_data(as_text=True)
    mine = manager_client.get("/calendar/team").get_data(as_text=True)
    assert "Чужой звонок" not in mine


def test_an_empty_time_opens_the_form_with_the_time_filled_in(manager_client, dbx):
    response = manager_client.get("/interactionview/add", query_string={
        "planned_at": f"{DAY.isoformat()}T15:30", "planned_minutes": "45",
        "_flt_0_responsible": dbx.user_id("manager")})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert DAY.strftime("%d.%m.%Y 15:30") in page
    assert 'value="45"' in page


# --- meetings: participants and busy time on the interaction's form --------------------------


def _form(dbx, plans, **more) -> dict:
    with dbx.session() as s:
        meeting = s.execute(select(DictionaryItem.id).where(
            DictionaryItem.kind == "interaction_type",
            DictionaryItem.code == "meeting")).scalar()
        client = s.get(Interaction, plans["meeting"]).client_id
    return {"type": meeting, "subject": "Переговоры", "client": client,
            "responsible": dbx.user_id("supervisor"), "status": "planned",
            "planned_at": DAY.strftime("%d.%m.%Y 10:30"), "planned_minutes": "60",
            "place": "Переговорная", **more}


def test_a_meeting_over_a_busy_participant_warns_and_saves_when_confirmed(
        supervisor_client, dbx, plans):
    data = _form(dbx, plans, participant_users=[dbx.user_id("manager")])
    response = supervisor_client.post("/interactionview/add", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Презентация" in page and 'name="confirm_busy"' in page
    assert dbx.count(Interaction, Interaction.subject == "Переговоры") == 0
    response = supervisor_client.post("/interactionview/add", data={**data, "confirm_busy": "y"})
    assert response.status_code == 302, text_of(response)
    with dbx.session() as s:
        saved = s.execute(select(Interaction).where(Interaction.subject == "Переговоры")).scalar()
        assert (saved.place, saved.planned_minutes) == ("Переговорная", 60)
        assert [p.user.username for p in saved.participants] == ["manager"]
        pk = saved.id
    # The manager sees it in their calendar, and it is on its page.
    assert pk in _events(supervisor_client, dbx.user_id("manager"))
    page = supervisor_client.get(f"/interactionview/show/{pk}").get_data(as_text=True)
    assert "Переговорная" in page and "crm-participants" in page
    # Its subject changed, neither its time nor who takes part: saved without asking.
    version = dbx.get(Interaction, pk).version
    edited = {**data, "subject": "Переговоры о цене", "version": version}
    response = supervisor_client.post(f"/interactionview/edit/{pk}", data=edited)
    assert response.status_code == 302, text_of(response)
    # At another time it is asked about again: the manager's meeting is still there.
    response = supervisor_client.post(f"/interactionview/edit/{pk}", data={
        **edited, "subject": "Переговоры", "version": version + 1,
        "planned_at": DAY.strftime("%d.%m.%Y 10:15")})
    assert response.status_code == 200
    assert "Презентация" in response.get_data(as_text=True)
    assert dbx.get(Interaction, pk).subject == "Переговоры о цене"


def test_a_meeting_at_a_free_time_saves_with_the_client_s_contact(
        supervisor_client, dbx, plans):
    from app.models import Contact

    with dbx.session() as s:
        client = s.get(Interaction, plans["meeting"]).client_id
        contact = Contact(name="Анна Петрова", client_id=client,
                          responsible_id=dbx.user_id("manager"))
        s.add(contact)
        s.commit()
        contact_id = contact.id
    data = _form(dbx, plans, planned_at=DAY.strftime("%d.%m.%Y 16:00"),
                 participant_contacts=[contact_id])
    response = supervisor_client.post("/interactionview/add", data=data)
    assert response.status_code == 302, text_of(response)
    with dbx.session() as s:
        saved = s.execute(select(Interaction).where(Interaction.subject == "Переговоры")).scalar()
        assert [p.contact_id for p in saved.participants] == [contact_id]
        pk = saved.id
    edit = supervisor_client.get(f"/interactionview/edit/{pk}").get_data(as_text=True)
    assert "Анна Петрова" in edit


def test_the_interaction_s_form_shows_the_day_s_load(manager_client):
    for path in ("/interactionview/add",):
        page = manager_client.get(path).get_data(as_text=True)
        assert "crm/day_load.js" in page and 'id="crm-day-load-config"' in page


def test_the_board_s_move_dialog_lists_the_day_s_items(manager_client, dbx, plans):
    from app.models import Interest

    with dbx.acting("manager") as s:
        from app.services import sales

        client = s.get(Interaction, plans["call"]).client
        interest = sales.create_interest(
            Interest(title="Окна", client=client, amount=1),
            sales.Plan("Позвонить", at(17)))
        pk = interest.id
    load = manager_client.get("/board/load", query_string={
        "interest": pk, "day": DAY.strftime("%d.%m.%Y")}).get_json()
    assert load["count"] == 3
    assert [(i["time"], i["subject"]) for i in load["items"]] == [
        ("10:00", "Презентация"), ("14:00", "Перезвонить"), ("17:00", "Позвонить")]


def test_the_api_reads_and_sets_a_meetings_participants(api_as, dbx):
    """Through /api/v1/interaction/<id>/participants, around now (the API's tokens are
    issued at the real time)."""
    now = dt.datetime.utcnow().replace(microsecond=0) + dt.timedelta(days=1)
    manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
    with dbx.session() as s:
        client = Client(name="ООО «Лютик»", kind="company", responsible_id=manager)
        elsewhere = Client(name="ООО «Астра»", kind="company", responsible_id=manager)
        s.add_all([client, elsewhere])
        s.flush()
        contact = Contact(name="Анна", client_id=client.id, responsible_id=manager)
        stranger = Contact(name="Чужой", client_id=elsewhere.id, responsible_id=manager)
        meeting = Interaction(subject="Встреча", client_id=client.id, planned_at=now,
                              responsible_id=manager)
        busy = Interaction(subject="Звонок", planned_at=now, responsible_id=other)
        s.add_all([contact, stranger, meeting, busy])
        s.commit()
        ids = {"contact": contact.id, "stranger": stranger.id, "meeting": meeting.id}
    path = f"/api/v1/interaction/{ids['meeting']}/participants"
    api = api_as("manager")
    assert api.get(path).get_json()["participants"] == {"users": [], "contacts": []}
    answer = api.post(path, json={"users": [other], "contacts": [ids["contact"]],
                                  "version": 1})
    assert answer.status_code == 200, text_of(answer)
    body = answer.get_json()
    assert body["participants"] == {"users": [other], "contacts": [ids["contact"]]}
    assert len(body["busy"]) == 1 and "Звонок" not in body["busy"][0]  # not the manager's
    assert body["version"] == 2
    stale = api.post(path, json={"users": [], "version": 1})
    assert stale.status_code == 409
    for wrong in ({"users": [10**6]}, {"contacts": [ids["stranger"]]}):
        refused = api.post(path, json=wrong)
        assert refused.status_code == 422 and refused.get_json()["code"] == "invalid", wrong
    # manager_b now reads the meeting they take part in, but may not change who comes.
    assert api_as("manager_b").get(path).status_code == 200
    assert api_as("manager_b").post(path, json={"users": []}).status_code == 404


def test_the_contact_look_up_narrowed_to_a_client_lists_its_readable_contact_persons(
        dbx, client_as):
    manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
    with dbx.session() as s:
        mine = Client(name="ООО «Мой»", kind="company", responsible_id=manager)
        theirs = Client(name="ООО «Их»", kind="company", responsible_id=other)
        s.add_all([mine, theirs])
        s.flush()
        s.add_all([Contact(name="Анна", client_id=mine.id, responsible_id=manager),
                   Contact(name="Борис", client_id=mine.id, responsible_id=manager),
                   Contact(name="Вера", client_id=theirs.id, responsible_id=other)])
        s.commit()
        ids = {"mine": mine.id, "theirs": theirs.id}
    manager_client = client_as("manager")

    def names(client) -> list[str]:
        answer = manager_client.get(f"/lookup/contact?client={client}")
        assert answer.status_code == 200
        return [row["text"] for row in answer.get_json()["results"]]

    assert names(ids["mine"]) == ["Анна", "Борис"]
    assert names(ids["theirs"]) == []  # not readable by the manager
    assert names("abc") == [] and names(10**20) == []
