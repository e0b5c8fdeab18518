"""Each user's private calendar feed (app.services.calendar_feed): turned on through the
API and the page, read without a login by its token and parsed with the icalendar library,
holding exactly that user's planned items; a new URL stops the old one, a revoked or
unknown token answers 404, a deactivated user's feed answers nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar
from sqlalchemy import select, update

from app.models import CalendarFeed, Client, CrmUser, DictionaryItem, Interaction, RoleRight
from tests.helpers import text_of, tr

# The plans are made around now (the API's tokens are issued at the real time).
NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, second=0, microsecond=0)
FEED = "/api/v1/calendar_feed/"


@pytest.fixture
def plans(dbx):
    """The manager's plans (a meeting tomorrow, a call overdue since yesterday, a call of
    two months ago, a done call) and another manager's call."""
    with dbx.session() as s:
        meeting = s.execute(select(DictionaryItem.id).where(
            DictionaryItem.kind == "interaction_type", DictionaryItem.code == "meeting")).scalar()
        client = Client(name="ООО «Ромашка»", kind="company",
                        responsible_id=dbx.user_id("manager"))
        s.add(client)
        s.flush()
        rows = {
            "meeting": Interaction(subject="Презентация", type_id=meeting, client_id=client.id,
                                   planned_at=NOW + dt.timedelta(days=1)),
            "overdue": Interaction(subject="Перезвонить", client_id=client.id,
                                   planned_at=NOW - dt.timedelta(days=1)),
            "old": Interaction(subject="Давний звонок", planned_at=NOW - dt.timedelta(days=60)),
            "done": Interaction(subject="Сделанный звонок", status="done", done_at=NOW,
                                planned_at=NOW + dt.timedelta(hours=2)),
            "other": Interaction(subject="Чужой звонок", planned_at=NOW + dt.timedelta(hours=3)),
        }
        for key, row in rows.items():
            row.responsible_id = dbx.user_id("manager_b" if key == "other" else "manager")
            s.add(row)
        s.commit()
        return {key: row.id for key, row in rows.items()}


def turn_on(api_as, user="manager") -> str:
    response = api_as(user).post(FEED)
    assert response.status_code == 201, text_of(response)
    body = response.get_json()
    assert body["enabled"] is True and body["url"].startswith("http://localhost/calendar_feed/")
    return body["url"].removeprefix("http://localhost")


def events(anon_client, path) -> dict[str, object]:
    response = anon_client.get(path)
    assert response.status_code == 200, text_of(response)
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    return calendar, {str(e["summary"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_holds_the_user_s_planned_items_in_utc(api_as, anon_client, plans):
    path = turn_on(api_as)
    calendar, found = events(anon_client, path)
    assert str(calendar["x-wr-timezone"]) == "Europe/Moscow"
    assert set(found) == {"Встреча: Презентация", "Перезвонить"}
    meeting = found["Встреча: Презентация"]
    assert str(meeting["uid"]) == f"interaction-{plans['meeting']}@voronka"
    start, end = meeting.decoded("dtstart"), meeting.decoded("dtend")
    assert start == (NOW + dt.timedelta(days=1)).replace(tzinfo=dt.timezone.utc)
    assert end - start == dt.timedelta(hours=1)
    written = (NOW + dt.timedelta(days=1)).strftime("DTSTART:%Y%m%dT%H%M00Z").encode()
    assert meeting.to_ical().count(written) == 1
    assert "ООО «Ромашка»" in str(meeting["description"])
    assert str(meeting["url"]).endswith(f"/interactionview/show/{plans['meeting']}")
    overdue = found["Перезвонить"]
    assert overdue.decoded("dtend") - overdue.decoded("dtstart") == dt.timedelta(minutes=30)


def test_only_a_hash_of_the_token_is_kept(app, dbx, api_as, plans):
    token = turn_on(api_as).rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 40
    with dbx.session() as s:
        feed = s.get(CalendarFeed, dbx.user_id("manager"))
        assert feed.token_hash != token and token not in feed.token_hash


def test_a_new_url_stops_the_old_one_and_a_revoked_feed_answers_404(api_as, anon_client,
                                                                      plans):
    first = turn_on(api_as)
    second = turn_on(api_as)
    assert first != second
    assert anon_client.get(first).status_code == 404
    assert anon_client.get(second).status_code == 200
    response = api_as("manager").delete(FEED)
    assert response.status_code == 200 and response.get_json()["enabled"] is False
    assert anon_client.get(second).status_code == 404
    again = api_as("manager").delete(FEED)
    assert again.status_code == 404 and again.get_json()["code"] == "feed_off"
    assert api_as("manager").get(FEED).get_json() == {
        "enabled": False, "created_on": None, "fetched_at": None}


def test_an_unknown_token_answers_404_and_opens_nothing_else(anon_client, api_as, plans):
    turn_on(api_as)
    for path in ("/calendar_feed/nonsense.ics", "/calendar_feed/" + "x" * 300 + ".ics",
                 "/calendar_feed/.ics"):
        assert anon_client.get(path).status_code == 404
    # The token opens the feed alone: the pages behind it still ask for a login.
    assert anon_client.get("/calendar_feed/").status_code in (302, 401)


def test_the_state_says_when_a_calendar_last_fetched_it(api_as, anon_client, plans):
    path = turn_on(api_as)
    assert api_as("manager").get(FEED).get_json()["fetched_at"] is None
    anon_client.get(path)
    state = api_as("manager").get(FEED).get_json()
    fetched = dt.datetime.fromisoformat(state["fetched_at"].replace("Z", "+00:00"))
    assert state["enabled"] is True
    assert abs(fetched.replace(tzinfo=None) - dt.datetime.now(dt.timezone.utc).replace(
        tzinfo=None)) < dt.timedelta(minutes=5)


def test_each_user_has_a_feed_of_their_own(api_as, anon_client, plans):
    theirs = turn_on(api_as, "manager_b")
    _calendar, found = events(anon_client, theirs)
    assert set(found) == {"Чужой звонок"}
    assert api_as("manager").get(FEED).get_json()["enabled"] is False


def test_a_deactivated_user_s_feed_answers_nothing(dbx, api_as, anon_client, plans):
    path = turn_on(api_as)
    with dbx.session() as s:
        s.execute(update(CrmUser).where(CrmUser.username == "manager").values(active=False))
        s.commit()
    assert anon_client.get(path).status_code == 404


def test_the_feed_reads_through_the_access_filter(app, dbx, api_as, anon_client, plans):
    """A role that may no longer read interactions gets an empty calendar."""
    path = turn_on(api_as)
    with dbx.session() as s:
        role = s.execute(select(CrmUser).where(CrmUser.username == "manager")) \
            .scalar_one().roles[0].id
        s.execute(RoleRight.__table__.delete().where(
            RoleRight.role_id == role, RoleRight.entity == "interaction"))
        s.commit()
    _calendar, found = events(anon_client, path)
    assert found == {}


def test_the_page_turns_it_on_shows_the_url_once_and_turns_it_off(app, client_as,
                                                                   anon_client, plans):
    page = client_as("manager")
    turn_on_label, new_url_label = tr(app, "Turn on my feed"), tr(app, "Make a new URL")
    assert turn_on_label in text_of(page.get("/calendar_feed/"))
    answer = text_of(page.post("/calendar_feed/on"))
    start = answer.index("http://localhost/calendar_feed/")
    url = answer[start:answer.index('"', start)]
    assert anon_client.get(url.removeprefix("http://localhost")).status_code == 200
    again = text_of(page.get("/calendar_feed/"))
    assert url not in again and new_url_label in again
    assert page.post("/calendar_feed/off").status_code == 302
    assert anon_client.get(url.removeprefix("http://localhost")).status_code == 404
    assert turn_on_label in text_of(page.get("/calendar_feed/"))


# --- the calendar's items ------------------------------------------------------------------


def calendar_of(api, **args):
    return api.get("/api/v1/calendar", query_string=args)


def test_the_calendar_answers_my_items_of_a_period_in_time_order(api_as, plans):
    week = {"start": (NOW - dt.timedelta(days=3)).isoformat() + "Z",
            "end": (NOW + dt.timedelta(days=4)).isoformat() + "Z"}
    response = calendar_of(api_as("manager"), **week)
    assert response.status_code == 200, text_of(response)
    body = response.get_json()
    assert [item["subject"] for item in body["result"]] == [
        "Перезвонить", "Сделанный звонок", "Презентация"]
    assert body["count"] == 3 and body["truncated"] is False
    meeting = body["result"][2]
    assert meeting["type"] == "meeting" and meeting["status"] == "planned"
    assert meeting["client"] == "ООО «Ромашка»" and meeting["overdue"] is False
    start = dt.datetime.fromisoformat(meeting["start"])
    assert dt.datetime.fromisoformat(meeting["end"]) - start == dt.timedelta(hours=1)
    assert start.replace(tzinfo=None) == NOW + dt.timedelta(days=1)
    assert body["result"][0]["overdue"] is True


def test_the_calendar_of_another_user_goes_through_the_access_filter(dbx, api, api_as, plans):
    week = {"start": (NOW - dt.timedelta(days=3)).date().isoformat(),
            "end": (NOW + dt.timedelta(days=4)).date().isoformat()}
    other = dbx.user_id("manager_b")
    assert calendar_of(api_as("manager"), user=other, **week).get_json()["result"] == []
    seen = calendar_of(api, user=other, **week).get_json()["result"]
    assert [item["subject"] for item in seen] == ["Чужой звонок"]


@pytest.mark.parametrize("args, field", [
    ({"start": "2026-12-10", "end": "2026-12-01"}, "end"),
    ({"start": "2026-01-01", "end": "2026-12-01"}, "end"),
    ({"start": "yesterday", "end": "2026-12-01"}, "start"),
    ({"end": "2026-12-01"}, "start"),
    ({"start": "2026-12-01", "end": "2026-12-02", "user": "x"}, "user"),
    ({"start": "2026-12-01", "end": "2026-12-02", "user": "9" * 40}, "user"),
    ({"start": "0001-01-01T00:00:00+05:00", "end": "2026-12-02"}, "start"),
    ({"start": "2026-12-01", "end": "9999-12-31"}, "end"),
])
def test_a_bad_period_is_refused_with_what_is_wrong(api, args, field):
    response = calendar_of(api, **args)
    assert response.status_code == 422, text_of(response)
    body = response.get_json()
    assert body["code"] == "invalid" and field in body["message"]


def test_turned_on_twice_at_once_the_second_gives_the_feed_its_own_token(
        app, dbx, monkeypatch, plans):
    """A double click: the other request made the row between this one's look and write."""
    from app.services import calendar_feed

    user = dbx.user_id("manager")
    with app.test_request_context("/"), app.app_context():
        first = calendar_feed.turn_on(user)
        real, looks = calendar_feed.state, []

        def not_yet_made(user_id):  # the first look misses the row the other one made
            looks.append(user_id)
            return None if len(looks) == 1 else real(user_id)

        monkeypatch.setattr(calendar_feed, "state", not_yet_made)
        second = calendar_feed.turn_on(user)
        assert calendar_feed.owner_of(second).id == user
        assert calendar_feed.owner_of(first) is None and len(looks) == 2
