"""Dates, times and money as people type them and as the screens show them: the parsers,
the forms (a prefilled time saved untouched, a time typed the Russian way, money typed as the
list shows it) and the rule that a done interaction has its time of completion."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Inquiry, Interaction, Interest
from app.services.clock import UnreadableTime, parse_typed, to_local, to_local_many, utcnow
from app.services.numbers import UnreadableNumber, parse_decimal
from tests.factories import INQUIRY, INTERACTION, INTEREST
from tests.helpers import form_errors, text_of

# --- the parsers --------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("03.12.2026 14:30", dt.datetime(2026, 12, 3, 14, 30)),
    ("3.12.2026 9:05", dt.datetime(2026, 12, 3, 9, 5)),
    (" 03.12.2026  14:30 ", dt.datetime(2026, 12, 3, 14, 30)),
    ("03/12/2026 14:30", dt.datetime(2026, 12, 3, 14, 30)),
    ("03.12.2026", dt.datetime(2026, 12, 3)),
    ("2026-12-03 14:30", dt.datetime(2026, 12, 3, 14, 30)),
    ("2026-12-03T14:30", dt.datetime(2026, 12, 3, 14, 30)),
    ("2026-12-03 07:07:12.797242", dt.datetime(2026, 12, 3, 7, 7, 12, 797242)),
    ("2026-12-03 07:07:12", dt.datetime(2026, 12, 3, 7, 7, 12)),
    ("2026-12-03", dt.datetime(2026, 12, 3)),
    ("29.02.2028 23:59", dt.datetime(2028, 2, 29, 23, 59)),
])
def test_times_as_people_type_them(text, expected):
    assert parse_typed(text) == expected


@pytest.mark.parametrize("text", [
    "", "tomorrow", "32.12.2026 10:00", "29.02.2027", "03.13.2026", "03.12.2026 25:00",
    "03.12.2026 14:60", "03.12.26 14:30", "14:30", "2026-12-03 14", "03.12.2026 14:30 +03",
    "03.12.2026\x0014:30",
])
def test_what_is_not_a_time_is_refused(text):
    with pytest.raises(UnreadableTime):
        parse_typed(text)


@pytest.mark.parametrize("zone", ["Europe/Moscow", "Europe/Berlin", "America/New_York",
                                  "Australia/Lord_Howe", "Asia/Kolkata"])
def test_many_times_are_made_local_as_one_is(app, monkeypatch, zone):
    """The exports' fast way gives what to_local gives, across changes of the clocks
    (Lord Howe moves its clock by half an hour)."""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", zone)
    start = dt.datetime(2026, 1, 1)
    moments = [start + dt.timedelta(minutes=7 * n) for n in range(0, 365 * 24 * 60 // 7, 13)]
    with app.app_context():
        localise = to_local_many()
        assert [localise(m) for m in moments] == [to_local(m) for m in moments]
        assert localise(None) is None


def test_a_date_field_takes_no_time():
    assert parse_typed("17.05.1985", with_time=False) == dt.date(1985, 5, 17)
    assert parse_typed("1985-05-17", with_time=False) == dt.date(1985, 5, 17)
    with pytest.raises(UnreadableTime):
        parse_typed("17.05.1985 10:00", with_time=False)


@pytest.mark.parametrize("text, expected", [
    ("1 200 000,00", Decimal("1200000.00")),
    ("1\u00a0200\u00a0000,00", Decimal("1200000.00")),
    ("1\u202f200\u202f000,50", Decimal("1200000.50")),
    ("1200000.50", Decimal("1200000.50")),
    ("1 200 000", Decimal("1200000")),
    ("-15,5", Decimal("-15.5")),
    (",5", Decimal("0.5")),
    ("1.500", Decimal("1.5")),
    ("1,200,000.00", Decimal("1200000.00")),
])
def test_money_typed_the_russian_way(text, expected):
    assert parse_decimal(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("1,200,000.00", Decimal("1200000.00")),
    ("1200000.5", Decimal("1200000.5")),
    ("1,500", Decimal("1500")),
    ("1,5", Decimal("1.5")),
    ("1 200 000,00", Decimal("1200000.00")),
    ("1.200.000,00", Decimal("1200000.00")),
])
def test_money_typed_the_english_way(text, expected):
    assert parse_decimal(text, decimal_symbol=".", group_symbol=",") == expected


@pytest.mark.parametrize("text", ["", "abc", "1,2,3", "1.2.3", "12e5", "NaN", "Infinity",
                                  "1 200,00,00", "--1", "1-2", "1,20,000.00", "1.2,3.4",
                                  "+", ",", "1,200.000,00"])
def test_what_is_not_a_number_is_refused(text):
    with pytest.raises(UnreadableNumber):
        parse_decimal(text)


# --- the forms ----------------------------------------------------------------------------


def _input_value(body: str, field: str) -> str:
    match = re.search(rf'<input[^>]*id="{field}"[^>]*>', body)
    assert match, f"no input {field}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def test_a_new_inquirys_time_starts_as_local_now_and_saves_untouched(manager_client, dbx):
    body = text_of(manager_client.get("/inquiryview/add"))
    prefilled = _input_value(body, "received_at")
    assert re.fullmatch(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", prefilled), prefilled
    assert abs(dt.datetime.strptime(prefilled, "%d.%m.%Y %H:%M")
               - to_local(utcnow())) < dt.timedelta(minutes=2)
    assert 'data-crm-picker="datetime"' in body

    deps = INQUIRY.deps(dbx)
    data = {**INQUIRY.form(deps, 701), "received_at": prefilled}
    response = manager_client.post("/inquiryview/add", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    saved = dbx.scalar(select(Inquiry).where(Inquiry.sender_name == "Sender 701"))
    assert to_local(saved.received_at).strftime("%d.%m.%Y %H:%M") == prefilled


def test_a_time_typed_in_moscow_is_kept_in_utc_and_shown_back(manager_client, dbx):
    deps = INTERACTION.deps(dbx)
    data = {**INTERACTION.form(deps, 702), "planned_at": "3.12.2026 14:30"}
    response = manager_client.post("/interactionview/add", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    call = dbx.scalar(select(Interaction).where(Interaction.subject == "Call about the offer 702"))
    assert call.planned_at == dt.datetime(2026, 12, 3, 11, 30)
    body = text_of(manager_client.get(f"/interactionview/edit/{call.id}"))
    assert _input_value(body, "planned_at") == "03.12.2026 14:30"


def test_a_bad_time_is_refused_and_stays_in_the_field(manager_client, dbx):
    deps = INTERACTION.deps(dbx)
    data = {**INTERACTION.form(deps, 703), "planned_at": "31.02.2026 10:00"}
    response = manager_client.post("/interactionview/add", data=data)
    assert response.status_code == 200
    body = text_of(response)
    assert _input_value(body, "planned_at") == "31.02.2026 10:00"
    assert "03.12.2026 14:30" in form_errors(body).get("planned_at", [""])[0] or \
        "03.12.2026 14:30" in body
    assert dbx.scalar(select(Interaction).where(
        Interaction.subject == "Call about the offer 703")) is None


def test_an_unchanged_time_keeps_its_seconds(manager_client, dbx):
    pk = INTERACTION.create(dbx, n=704)
    exact = dt.datetime(2026, 2, 1, 9, 0, 42, 123456)
    with dbx.session() as session:
        session.execute(Interaction.__table__.update().where(Interaction.id == pk)
                        .values(planned_at=exact))
        session.commit()
    body = text_of(manager_client.get(f"/interactionview/edit/{pk}"))
    shown = _input_value(body, "planned_at")
    assert shown == "01.02.2026 12:00"
    deps = INTERACTION.deps(dbx)
    data = {**INTERACTION.form(deps, 704), "client": str(dbx.get(Interaction, pk).client_id),
            "planned_at": shown, "version": "1"}
    response = manager_client.post(f"/interactionview/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    assert dbx.get(Interaction, pk).planned_at == exact


def test_money_typed_as_the_list_shows_it(manager_client, dbx):
    deps = INTEREST.deps(dbx)
    data = {**INTEREST.form(deps, 705), "amount": "1 200 000,00"}
    response = manager_client.post("/interestview/add", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    interest = dbx.scalar(select(Interest).where(Interest.title == "Поставка оборудования 705"))
    assert interest.amount == Decimal("1200000.00")
    body = text_of(manager_client.get(f"/interestview/edit/{interest.id}"))
    assert _input_value(body, "amount") == "1\u00a0200\u00a0000,00"

    data = {**INTEREST.form(deps, 706), "amount": "двести"}
    response = manager_client.post("/interestview/add", data=data)
    assert response.status_code == 200
    assert _input_value(text_of(response), "amount") == "двести"
    assert "amount" in form_errors(text_of(response))


# --- a done interaction has its time of completion ----------------------------------------


def test_marked_done_on_the_screen_it_gets_its_done_time(manager_client, dbx):
    pk = INTERACTION.create(dbx, n=707)
    deps = INTERACTION.deps(dbx)
    data = {**INTERACTION.form(deps, 707), "client": str(dbx.get(Interaction, pk).client_id),
            "status": "done", "result": "Agreed on a meeting", "done_at": "", "version": "1"}
    response = manager_client.post(f"/interactionview/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    done = dbx.get(Interaction, pk)
    assert done.status == "done"
    assert abs(done.done_at - utcnow()) < dt.timedelta(minutes=1)

    data.update(status="planned", version="2", done_at=done.done_at.strftime("%d.%m.%Y %H:%M"))
    response = manager_client.post(f"/interactionview/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    assert dbx.get(Interaction, pk).done_at is None


def test_marked_done_through_the_api_it_gets_its_done_time(api, dbx):
    pk = INTERACTION.create(dbx, n=708)
    response = api.put(f"/api/v1/interaction/{pk}",
                       json={"status": "done", "result": "Sent the offer"})
    assert response.status_code == 200, response.get_json()
    done = dbx.get(Interaction, pk)
    assert abs(done.done_at - utcnow()) < dt.timedelta(minutes=1)
    given = dt.datetime(2026, 1, 10, 8, 0)
    pk2 = INTERACTION.create(dbx, n=709)
    response = api.put(f"/api/v1/interaction/{pk2}", json={
        "status": "done", "result": "Met", "done_at": "2026-01-10T08:00:00+00:00"})
    assert response.status_code == 200, response.get_json()
    assert dbx.get(Interaction, pk2).done_at == given
    response = api.put(f"/api/v1/interaction/{pk2}", json={"status": "cancelled"})
    assert response.status_code == 200, response.get_json()
    assert dbx.get(Interaction, pk2).done_at is None
