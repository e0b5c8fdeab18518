"""The pages of My work (the calendar, My tasks, handing over, absences, time spent) given
input no person means: dates at the ends of the calendar, numbers too large for any column,
text for ids. Each answers what is wrong or ignores it; none answers 500."""

import datetime as dt

import pytest
from sqlalchemy import select


@pytest.mark.parametrize("path", [
    "/calendar/team?day=0001-01-01", "/calendar/team?day=9999-12-31&span=week",
    "/calendar/team?day=0001-01-02&span=week", "/calendar/load?day=0001-01-01",
    "/calendar/load?day=9999-12-31", "/calendar/events?start=0001-01-01&end=0001-01-05",
    "/calendar/events?start=9999-12-30&end=9999-12-31", "/calendar/?date=abc&view=x",
    "/calendar/?user=99999999999999999999", "/calendar/load?user=abc",
    "/my_tasks/?start=0001-01-01&end=9999-12-31", "/my_tasks/?type=abc&client=1e99&interest=-5",
    "/my_tasks/?start=99.99.9999", "/handover/?from_user=abc", "/handover/?from_user=99999999999999",
    "/absences/", "/reports/time_spent/?start=0001-01-01&end=9999-12-31",
    "/lookup/contact?client=-1", "/my_tasks/counts",
])
def test_a_page_given_nonsense_answers_without_a_server_error(client_as, path):
    r = client_as("supervisor").get(path)
    assert r.status_code < 500, (path, r.status_code)

@pytest.mark.parametrize("path,data", [
    ("/calendar/move/1", {"start": "0001-01-01T00:00:00", "version": "1"}),
    ("/calendar/move/1", {"start": "9999-12-31T23:59:00", "minutes": "99999999999999999999"}),
    ("/absences/plan", {"user": "x", "deputy": "y", "starts_on": "0001-01-01",
                        "ends_on": "9999-12-31"}),
    ("/absences/1/cancel", {"version": "abc"}),
    ("/handover/", {"from_user": "1", "to_user": "abc", "items": "zzz"}),
    ("/my_tasks/complete/1", {"result": "x", "spent_minutes": "999999999999999999999"}),
    ("/my_tasks/give", {"subject": "x", "planned_at": "01.01.0001 00:00", "to_user": "abc"}),
])
def test_a_form_given_nonsense_answers_without_a_server_error(client_as, dbx, path, data):
    from app.models import Interaction
    dbx.insert(Interaction, [{"subject": "Звонок", "status": "planned",
                              "planned_at": dt.datetime(2027, 1, 1), "version": 1,
                              "responsible_id": dbx.user_id("supervisor")}])
    r = client_as("supervisor").post(path, data=data)
    assert r.status_code < 500, (path, r.status_code, r.get_data(as_text=True)[-500:])


def test_my_tasks_carry_their_filters_and_nothing_else_of_the_query(client_as, dbx):
    """Links and forms take the page's filters only: a stray `pk` or `endpoint` in the
    query string is not passed on (it would clash with the link's own arguments)."""
    from app.models import Interaction

    dbx.insert(Interaction, [{"subject": "Звонок", "status": "planned",
                              "planned_at": dt.datetime(2030, 1, 1), "version": 1,
                              "responsible_id": dbx.user_id("supervisor")}])
    supervisor = client_as("supervisor")
    page = supervisor.get("/my_tasks/?pk=7&endpoint=x&_scheme=javascript&type=1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "endpoint=x" not in text and "javascript" not in text and "type=1" in text
    pk = dbx.scalar(select(Interaction.id))
    done = supervisor.post(f"/my_tasks/complete/{pk}?endpoint=x&pk=3",
                           data={"result": "Поговорили"})
    assert done.status_code == 302 and "endpoint" not in done.headers["Location"]
