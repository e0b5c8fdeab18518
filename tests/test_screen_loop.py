"""A manager's way through the screens: Add on a related tab fills in the parent, a save
lands on the saved record, the start page's tiles open exactly the rows they count (and those
rows are highlighted), the history reads in words, the stage box knows its pipeline."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from app.models import ChangeLog, Client, Inquiry, Interaction, Pipeline, Stage
from app.services.clock import local_day_bounds_utc, local_today, to_local, utcnow
from tests.factories import CLIENT, INQUIRY, INTERACTION, INTEREST, dictionary_item, system_item
from tests.helpers import form_errors, text_of


def selected_option(body: str, field: str):
    """The value of the selected option of a select box, or None."""
    select_html = re.search(rf'<select[^>]*id="{field}"[^>]*>(.*?)</select>', body, re.S)
    assert select_html, f"no select box {field}"
    chosen = re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', select_html.group(1))
    return chosen.group(1) if chosen else None


# --- Add on a related tab -----------------------------------------------------------------


def test_add_from_a_clients_tab_fills_in_the_client(manager_client, dbx):
    client_id = CLIENT.create(dbx, n=501)
    client_page = text_of(manager_client.get(f"/clientview/show/{client_id}"))
    add_link = re.search(r'href="(/interestview/add\?[^"]*)"', client_page)
    assert add_link, "the client's interests tab has no Add button"
    body = text_of(manager_client.get(add_link.group(1).replace("&amp;", "&")))
    assert selected_option(body, "client") == str(client_id)


def test_a_call_added_to_an_interest_is_the_interests_and_its_clients(manager_client, dbx):
    interest_id = INTEREST.create(dbx, n=502)
    interest = dbx.get(__import__("app.models", fromlist=["Interest"]).Interest, interest_id)
    body = text_of(manager_client.get(f"/interactionview/add?_flt_0_interest={interest_id}"))
    assert selected_option(body, "interest") == str(interest_id)
    assert selected_option(body, "client") == str(interest.client_id)


def test_a_hidden_or_unknown_parent_fills_in_nothing(client_as, dbx):
    others = CLIENT.create(dbx, deps={**CLIENT.deps(dbx), "user": dbx.user_id("manager_b")},
                           n=503)
    manager = client_as("manager")
    assert manager.get(f"/clientview/show/{others}").status_code == 404
    for value in (str(others), "999999", "99999999999999999999999", "abc", "'"):
        response = manager.get(f"/interestview/add?_flt_0_client={value}")
        assert response.status_code == 200, value
        body = text_of(response)
        assert selected_option(body, "client") is None, value
        assert "ООО Ромашка 503" not in body


# --- after saving: the saved record -------------------------------------------------------


def test_add_and_edit_land_on_the_saved_record(manager_client, dbx):
    deps = CLIENT.deps(dbx)
    response = manager_client.post("/clientview/add", data=CLIENT.form(deps, 504))
    assert response.status_code == 302, form_errors(text_of(response))
    pk = dbx.scalar(select(Client.id).where(Client.name == "ООО Ромашка 504"))
    assert response.headers["Location"].endswith(f"/clientview/show/{pk}")

    data = {**CLIENT.form(deps, 504), "comment": "Changed", "version": "1"}
    response = manager_client.post(f"/clientview/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    assert response.headers["Location"].endswith(f"/clientview/show/{pk}")


# --- the start page's tiles and the lists behind them -------------------------------------


def _plan_calls(dbx, user: str) -> dict[str, int]:
    now = utcnow()
    _start, end = local_day_bounds_utc(local_today())
    deps = INTERACTION.deps(dbx)
    deps["user"] = dbx.user_id(user)
    moments = {
        "overdue": now - dt.timedelta(days=2),
        "overdue_minute": now - dt.timedelta(minutes=1),
        "today": now + (end - now) / 2,
        "tomorrow": end + dt.timedelta(hours=10),
        "done_overdue": now - dt.timedelta(days=3),
    }
    ids = {}
    for n, (name, moment) in enumerate(moments.items(), start=600):
        ids[name] = INTERACTION.create(dbx, deps=deps, n=n, user=user)
        with dbx.session() as session:
            session.execute(Interaction.__table__.update().where(Interaction.id == ids[name])
                            .values(planned_at=moment,
                                    status="done" if name.startswith("done") else "planned"))
            session.commit()
    return ids


def _tile(body: str, name: str) -> tuple[int, str]:
    tile = re.search(rf'<a class="[^"]*crm-tile-{name}" href="([^"]+)">.*?'
                     r'crm-figure[^"]*">\s*(\d+)\s*<', body, re.S)
    assert tile, f"no tile {name}"
    return int(tile.group(2)), tile.group(1).replace("&amp;", "&")


def _rows(body: str) -> list[tuple[str, str]]:
    """(class, text) of every row of the list's table."""
    table = body.split('<table class="table table-bordered table-hover">', 1)
    if len(table) < 2:
        return []
    rows = re.findall(r"<tr( class=\"[^\"]*\")?>(.*?)</tr>", table[1].split("</table>")[0], re.S)
    return [(css, text) for css, text in rows if "<td" in text]


def test_each_tile_opens_exactly_the_rows_it_counts(manager_client, dbx):
    ids = _plan_calls(dbx, "manager")
    home = text_of(manager_client.get("/"))
    for name, expected in (("overdue", {"overdue", "overdue_minute"}), ("today", {"today"})):
        figure, url = _tile(home, name)
        assert url.endswith(f"?worklist={name}")
        assert figure == len(expected)
        body = text_of(manager_client.get(url))
        rows = _rows(body)
        assert len(rows) == figure
        shown = {key for key, pk in ids.items() for _css, text in rows
                 if f"/interactionview/show/{pk}" in text}
        assert shown == expected
        # The list says what it is narrowed to, and how to see everything again.
        chip = re.search(r'class="crm-worklist-chip">([^<]*)<a href="([^"]+)"', body)
        assert chip and chip.group(2) == "/interactionview/list/"
    for name in ("my_open_interests", "new_inquiries"):
        figure, url = _tile(home, name)
        assert len(_rows(text_of(manager_client.get(url)))) == figure


def test_overdue_and_todays_rows_are_highlighted(manager_client, dbx):
    ids = _plan_calls(dbx, "manager")
    body = text_of(manager_client.get("/interactionview/list/?psize_InteractionView=100"))
    classes = {key: css for key, pk in ids.items() for css, text in _rows(body)
               if f"/interactionview/show/{pk}" in text}
    assert "crm-row-overdue" in classes["overdue"]
    assert "crm-row-overdue" in classes["overdue_minute"]
    assert "crm-row-today" in classes["today"]
    assert classes["tomorrow"] == "" and classes["done_overdue"] == ""
    # On the client's card, and in the list of its interactions the card links to.
    client_id = dbx.get(Interaction, ids["overdue"]).client_id
    card = text_of(manager_client.get(f"/clientview/show/{client_id}"))
    assert re.search(rf'<li class="list-group-item crm-planned-item crm-overdue">'
                     rf'(?:(?!</li>).)*/interactionview/show/{ids["overdue"]}"', card, re.S)
    assert not re.search(rf'crm-overdue">(?:(?!</li>).)*/interactionview/show/'
                         rf'{ids["tomorrow"]}"', card, re.S)
    narrowed = text_of(manager_client.get(f"/interactionview/list/?client={client_id}"))
    assert re.search(rf'<tr class="crm-row-overdue">(?:(?!</tr>).)*'
                     rf'/interactionview/show/{ids["overdue"]}', narrowed, re.S)


def test_an_unknown_worklist_shows_the_whole_list(manager_client, dbx):
    _plan_calls(dbx, "manager")
    whole = _rows(text_of(manager_client.get("/interactionview/list/")))
    for name in ("nonsense", "new_inquiries", ""):
        body = text_of(manager_client.get(f"/interactionview/list/?worklist={name}"))
        assert len(_rows(body)) == len(whole)
        assert "crm-worklist-chip" not in body


# --- the history in words -----------------------------------------------------------------


def test_saving_an_unchanged_record_writes_no_change(manager_client, dbx):
    deps = CLIENT.deps(dbx)
    data = {**CLIENT.form(deps, 505), "site": "", "comment": ""}
    manager_client.post("/clientview/add", data=data)
    pk = dbx.scalar(select(Client.id).where(Client.name == "ООО Ромашка 505"))
    before = dbx.count(ChangeLog, ChangeLog.record_id == pk, ChangeLog.entity == "Client")
    for version in ("1", "1"):  # nothing changed: the version stays
        response = manager_client.post(f"/clientview/edit/{pk}",
                                       data={**data, "version": version})
        assert response.status_code == 302, form_errors(text_of(response))
    assert dbx.count(ChangeLog, ChangeLog.record_id == pk, ChangeLog.entity == "Client") == before


def test_an_inquiry_saved_as_shown_writes_no_change(manager_client, dbx):
    """Its time kept to the microsecond and an empty e-mail, saved back as the form shows
    them (whole seconds, an empty text): nothing changed, nothing is written."""
    deps = INQUIRY.deps(dbx)
    pk = INQUIRY.create(dbx, deps=deps, n=508, user="manager")
    with dbx.session() as session:
        session.execute(Inquiry.__table__.update().where(Inquiry.id == pk).values(
            received_at=dt.datetime(2026, 1, 15, 7, 30, 12, 797242), sender_email=None))
        session.commit()
    before = dbx.count(ChangeLog, ChangeLog.record_id == pk, ChangeLog.entity == "Inquiry")
    data = {**INQUIRY.form(deps, 508), "sender_email": "",
            "received_at": "2026-01-15 10:30:12", "version": "1"}
    response = manager_client.post(f"/inquiryview/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    assert dbx.count(ChangeLog, ChangeLog.record_id == pk, ChangeLog.entity == "Inquiry") == before


def test_the_history_shows_local_times_and_words(admin_client, dbx):
    pk = INTERACTION.create(dbx, n=506)
    planned = dt.datetime(2026, 3, 2, 6, 3)  # UTC; 09:03 in Moscow
    response = admin_client.post(f"/interactionview/edit/{pk}", data={
        "type": str(system_item(dbx, "interaction_type", "call")),
        "subject": "Call about the offer 506", "client": str(dbx.get(Interaction, pk).client_id),
        "responsible": str(dbx.user_id("manager")), "planned_at": "2026-03-02 09:03:00",
        "status": "planned", "version": "1"})
    assert response.status_code == 302, form_errors(text_of(response))
    assert dbx.get(Interaction, pk).planned_at == planned
    page = text_of(admin_client.get(f"/interactionview/show/{pk}"))
    history = page.split("crm-history", 1)[1]
    assert "02.03.2026 09:03" in history
    assert "2026-03-02T" not in history and "2026-02-01T" not in history

    # Settings → History: the entity and the action in words, the record by its name.
    listing = text_of(admin_client.get("/changelogview/list/"))
    assert f'<a href="/interactionview/show/{pk}">Call about the offer 506</a>' in listing
    assert ">Interaction<" not in listing and ">update<" not in listing
    assert re.search(r">\s*(Взаимодействие|Interaction)\s*<", listing) or \
        "Взаимодействие" in listing
    row = dbx.scalar(select(ChangeLog.id).where(ChangeLog.entity == "Interaction",
                                                ChangeLog.record_id == pk,
                                                ChangeLog.action == "update"))
    shown = text_of(admin_client.get(f"/changelogview/show/{row}"))
    assert "02.03.2026 09:03" in shown.split("crm-history", 1)[1]
    assert f'/interactionview/show/{pk}' in shown
    assert to_local(planned).strftime("%H:%M") == "09:03"


# --- the stage box knows its pipeline -----------------------------------------------------


def test_stage_options_name_their_pipeline(manager_client, dbx):
    other = dbx.add(lambda s: Pipeline(name="Сервис", sort=50))
    dbx.add(lambda s: Stage(name="Диагностика", pipeline_id=other, kind="open", sort=1))
    body = text_of(manager_client.get("/interestview/add"))
    select_html = re.search(r'<select[^>]*id="stage"[^>]*>(.*?)</select>', body, re.S).group(0)
    assert "crm-stage-select" in select_html
    stages = dbx.all(select(Stage))
    # A new interest starts in an open stage: won and lost are not offered.
    assert all(f'value="{stage.id}"' not in select_html
               for stage in stages if stage.kind != "open")
    for stage in (stage for stage in stages if stage.kind == "open"):
        assert re.search(rf'<option[^>]*data-pipeline="{stage.pipeline_id}"[^>]*'
                         rf'value="{stage.id}"|<option[^>]*value="{stage.id}"[^>]*'
                         rf'data-pipeline="{stage.pipeline_id}"', select_html), stage.name


def test_a_stage_of_another_pipeline_is_refused(manager_client, dbx):
    other = dbx.add(lambda s: Pipeline(name="Сервис 2", sort=51))
    foreign = dbx.add(lambda s: Stage(name="Чужая", pipeline_id=other, kind="open", sort=1))
    deps = INTEREST.deps(dbx)
    data = {**INTEREST.form(deps, 507), "stage": str(foreign)}
    response = manager_client.post("/interestview/add", data=data)
    assert response.status_code == 200
    assert "Поставка оборудования 507" in text_of(response)
    _ = dictionary_item
