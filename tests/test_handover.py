"""Handing work over (app.services.handover): exactly the chosen open work of one employee
moves to another, and nothing of anyone else; `ids` narrows; interests take their plans
along (R1), clients their contacts; one transaction with history and one notification;
the reassign right and its scope over both employees; the API, the page, and
deactivating a user who still has open work."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import default_pipeline, first_stage
from sqlalchemy import select

from app.models import (
    ChangeLog,
    Client,
    Contact,
    CrmUser,
    Inquiry,
    Interaction,
    Interest,
    Notification,
)
from app.services import handover
from app.services.errors import Forbidden, RecordInvalid, RuleBroken
from tests.conftest import json_of
from tests.helpers import text_of, tr

SOON = dt.datetime.utcnow().replace(microsecond=0) + dt.timedelta(days=2)
OWNER = {Client: Client.responsible_id, Contact: Contact.responsible_id,
         Inquiry: Inquiry.manager_id, Interest: Interest.responsible_id,
         Interaction: Interaction.responsible_id}
API = "/api/v1/handover"


@pytest.fixture
def work(dbx):
    """The manager's work: a client with a contact, an open interest with its plan, a task
    without an interest, a done call, a closed interest, a new and a processed inquiry;
    and manager_b's own client, interest, plan and inquiry."""
    manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
    supervisor = dbx.user_id("supervisor")
    pipeline = default_pipeline(dbx)
    stage = first_stage(dbx, pipeline)
    with dbx.session() as s:
        client = Client(name="ООО «Ромашка»", kind="company", responsible_id=manager)
        others_client = Client(name="ООО «Лютик»", kind="company", responsible_id=other)
        s.add_all([client, others_client])
        s.flush()
        interest = Interest(title="Поставка", pipeline_id=pipeline, stage_id=stage,
                            client_id=client.id, responsible_id=manager)
        second = Interest(title="Сервис", pipeline_id=pipeline, stage_id=stage,
                          client_id=client.id, responsible_id=manager)
        closed = Interest(title="Старая сделка", pipeline_id=pipeline, stage_id=stage,
                          client_id=client.id, responsible_id=manager,
                          closed_at=SOON - dt.timedelta(days=30))
        others_interest = Interest(title="Чужая сделка", pipeline_id=pipeline, stage_id=stage,
                                   client_id=others_client.id, responsible_id=other)
        s.add_all([interest, second, closed, others_interest])
        s.flush()
        rows = {
            "contact": Contact(name="Иван Петров", client_id=client.id,
                               responsible_id=manager),
            "plan": Interaction(subject="Презентация", interest_id=interest.id,
                                client_id=client.id, planned_at=SOON, responsible_id=manager),
            "second_plan": Interaction(subject="Звонок по сервису", interest_id=second.id,
                                       client_id=client.id, planned_at=SOON,
                                       responsible_id=manager),
            "task": Interaction(subject="Подготовить КП", planned_at=SOON,
                                responsible_id=manager),
            "done": Interaction(subject="Звонок", status="done", result="Ок",
                                planned_at=SOON - dt.timedelta(days=3),
                                done_at=SOON - dt.timedelta(days=3), responsible_id=manager),
            "others_plan": Interaction(subject="Чужой звонок", planned_at=SOON,
                                       interest_id=others_interest.id,
                                       client_id=others_client.id, responsible_id=other),
            "new_inquiry": Inquiry(sender_name="Пётр", manager_id=manager, status="new"),
            "old_inquiry": Inquiry(sender_name="Анна", manager_id=manager,
                                   status="processed"),
            "others_inquiry": Inquiry(sender_name="Олег", manager_id=other, status="new"),
        }
        s.add_all(rows.values())
        s.commit()
        ids = {key: row.id for key, row in rows.items()}
        ids.update(client=client.id, others_client=others_client.id, interest=interest.id,
                   second=second.id, closed=closed.id, others_interest=others_interest.id,
                   manager=manager, other=other, supervisor=supervisor)
        return ids


KEYS = {"contact": Contact, "plan": Interaction, "second_plan": Interaction,
        "task": Interaction, "done": Interaction, "others_plan": Interaction,
        "new_inquiry": Inquiry, "old_inquiry": Inquiry, "others_inquiry": Inquiry,
        "client": Client, "others_client": Client, "interest": Interest, "second": Interest,
        "closed": Interest, "others_interest": Interest}


def owners(dbx, work) -> dict[str, int]:
    """Who is responsible for each record of the fixture."""
    with dbx.session() as s:
        return {key: s.execute(select(OWNER[model]).where(model.id == work[key])).scalar()
                for key, model in KEYS.items()}


def expect(work, before: dict, to: int, *keys) -> dict:
    return {**before, **{key: to for key in keys}}


def hand(dbx, by="admin", **values):
    with dbx.acting(by):
        return handover.hand_over(values["from_user"], values["to_user"],
                                  values.get("items", ["all"]), values.get("ids"))


# --- what moves -----------------------------------------------------------------------------


def test_all_open_work_moves_and_nothing_of_anyone_else(dbx, work):
    before = owners(dbx, work)
    done = hand(dbx, from_user=work["manager"], to_user=work["supervisor"])
    assert owners(dbx, work) == expect(
        work, before, work["supervisor"], "plan", "second_plan", "task", "interest",
        "second", "new_inquiry", "client", "contact")
    assert done.counts == {"interactions": 3, "interests": 2, "inquiries": 1, "clients": 1,
                           "contacts": 1}
    assert sorted(done.moved["interactions"]) == sorted(
        [work["plan"], work["second_plan"], work["task"]])


@pytest.mark.parametrize("items,moved", [
    (["interactions"], ["plan", "second_plan", "task"]),
    # An interest keeps its plan (R1): its planned interactions go with it.
    (["interests"], ["interest", "second", "plan", "second_plan"]),
    (["inquiries"], ["new_inquiry"]),
    (["clients"], ["client", "contact"]),
    (["interactions", "inquiries"], ["plan", "second_plan", "task", "new_inquiry"]),
])
def test_exactly_the_chosen_kinds_move(dbx, work, items, moved):
    before = owners(dbx, work)
    hand(dbx, from_user=work["manager"], to_user=work["supervisor"], items=items)
    assert owners(dbx, work) == expect(work, before, work["supervisor"], *moved)


def test_ids_narrow_a_kind_to_those_records(dbx, work):
    before = owners(dbx, work)
    done = hand(dbx, from_user=work["manager"], to_user=work["supervisor"],
                items=["interests", "interactions"],
                ids={"interests": [work["second"]], "interactions": [work["task"]]})
    assert owners(dbx, work) == expect(work, before, work["supervisor"],
                                       "second", "second_plan", "task")
    assert done.counts["interests"] == 1 and done.counts["interactions"] == 2
    # A plain list when one kind is chosen.
    hand(dbx, from_user=work["manager"], to_user=work["supervisor"], items=["inquiries"],
         ids=[work["new_inquiry"]])
    assert owners(dbx, work)["new_inquiry"] == work["supervisor"]


@pytest.mark.parametrize("kind,key", [
    ("interactions", "others_plan"), ("interactions", "done"), ("interests", "closed"),
    ("interests", "others_interest"), ("inquiries", "old_inquiry"),
    ("clients", "others_client"), ("interactions", "missing")])
def test_an_id_that_is_not_the_employees_open_work_refuses_the_whole_handover(
        dbx, work, kind, key):
    before = owners(dbx, work)
    record_id = work.get(key, 987654)
    with pytest.raises(RuleBroken) as refused:
        hand(dbx, from_user=work["manager"], to_user=work["supervisor"], items=["all"],
             ids={"inquiries": [work["new_inquiry"]], kind: [record_id]})
    assert refused.value.code == "not_theirs"
    assert str(record_id) in refused.value.message
    assert owners(dbx, work) == before
    assert dbx.count(ChangeLog, ChangeLog.action == "update") == 0


def test_the_history_says_who_handed_what_to_whom(dbx, work):
    hand(dbx, from_user=work["manager"], to_user=work["supervisor"], items=["interests"])
    rows = dbx.all(select(ChangeLog).where(ChangeLog.action == "update")
                   .order_by(ChangeLog.entity, ChangeLog.record_id))
    assert {(row.entity, row.record_id) for row in rows} == {
        ("Interest", work["interest"]), ("Interest", work["second"]),
        ("Interaction", work["plan"]), ("Interaction", work["second_plan"])}
    for row in rows:
        assert row.changes == {"responsible_id": [work["manager"], work["supervisor"]]}
        assert row.user_id == dbx.user_id("admin")
    # The versions rose: an editor who read the record before sees a conflict.
    assert dbx.get(Interest, work["interest"]).version == 2


def test_the_receiver_is_notified_once_with_the_counts(app, dbx, work):
    hand(dbx, from_user=work["manager"], to_user=work["supervisor"], items=["interactions"])
    hand(dbx, from_user=work["manager"], to_user=work["supervisor"], items=["inquiries"])
    notes = dbx.all(select(Notification).where(Notification.kind == "handover"))
    assert len(notes) == 1
    note = notes[0]
    assert note.user_id == work["supervisor"] and note.record_id == work["manager"]
    assert note.payload["interaction"] == 3 and note.payload["inquiry"] == 1
    from app.services import notifications

    with app.test_request_context():
        assert "Manager" in notifications.title(note)
        assert "3" in notifications.details(note)


def test_a_failure_midway_leaves_nothing_moved(dbx, work, monkeypatch):
    before = owners(dbx, work)
    real = handover._update

    def failing(kind, *args):
        if kind == "inquiries":
            raise RuntimeError("the database went away")
        return real(kind, *args)

    monkeypatch.setattr(handover, "_update", failing)
    with pytest.raises(RuntimeError):
        hand(dbx, from_user=work["manager"], to_user=work["supervisor"])
    assert owners(dbx, work) == before
    assert dbx.count(ChangeLog, ChangeLog.action == "update") == 0
    assert dbx.count(Notification, Notification.kind == "handover") == 0


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("change,field", [
    ({"to_user": "manager"}, "to_user"),
    ({"to_user": 987654}, "to_user"),
    ({"from_user": None}, "from_user"),
    ({"from_user": "abc"}, "from_user"),
    ({"items": []}, "items"),
    ({"items": ["everything"]}, "items"),
    ({"items": "interests", "ids": {"clients": [1]}}, "ids"),
    ({"items": ["interests", "clients"], "ids": [1]}, "ids"),
    ({"items": ["interests"], "ids": ["x"]}, "ids"),
])
def test_bad_requests_are_refused_by_field(dbx, work, change, field):
    values = {"from_user": work["manager"], "to_user": work["supervisor"], "items": ["all"]}
    values.update(change)
    if values["to_user"] == "manager":
        values["to_user"] = work["manager"]
    with pytest.raises(RecordInvalid) as refused:
        hand(dbx, **values)
    assert field in refused.value.errors


def test_an_inactive_receiver_is_refused(dbx, work):
    with dbx.session() as s:
        s.get(CrmUser, work["other"]).active = False
        s.commit()
    with pytest.raises(RecordInvalid) as refused:
        hand(dbx, from_user=work["manager"], to_user=work["other"])
    assert "to_user" in refused.value.errors


def test_nothing_to_hand_over_is_said(dbx, work):
    with pytest.raises(RuleBroken) as refused:
        hand(dbx, from_user=dbx.user_id("readonly"), to_user=work["manager"])
    assert refused.value.code == "nothing_to_hand_over"


def test_the_reassign_scope_holds_both_employees(dbx, work):
    before = owners(dbx, work)
    # The supervisor reassigns within Sales (themselves and the manager) only.
    hand(dbx, by="supervisor", from_user=work["manager"], to_user=work["supervisor"],
         items=["interactions"])
    for giver, receiver in ((work["manager"], work["other"]),
                            (work["other"], work["supervisor"])):
        with pytest.raises(Forbidden):
            hand(dbx, by="supervisor", from_user=giver, to_user=receiver)
    # A manager has no reassign right at all.
    with pytest.raises(Forbidden):
        hand(dbx, by="manager", from_user=work["supervisor"], to_user=work["manager"])
    assert owners(dbx, work) == expect(work, before, work["supervisor"],
                                       "plan", "second_plan", "task")


def test_a_thousand_records_take_a_bounded_number_of_statements(dbx, work, count_queries):
    rows = [{"subject": f"Звонок {n}", "planned_at": SOON, "responsible_id": work["manager"],
             "status": "planned", "version": 1, "created_on": SOON, "changed_on": SOON}
            for n in range(1000)]
    dbx.insert(Interaction, rows)
    with count_queries() as counter:
        done = hand(dbx, from_user=work["manager"], to_user=work["supervisor"])
    assert done.counts["interactions"] == 1003
    assert counter.count <= 25, counter.dump()
    assert dbx.count(ChangeLog, ChangeLog.entity == "Interaction",
                     ChangeLog.action == "update") == 1003


# --- the API --------------------------------------------------------------------------------


def test_the_api_hands_over_and_answers_what_moved(api, dbx, work):
    before = owners(dbx, work)
    response = api.post(API, json={"from_user": work["manager"], "to_user": work["supervisor"],
                                   "items": ["interests", "inquiries"]})
    assert response.status_code == 200, json_of(response)
    body = json_of(response)
    assert body["moved"] == {"interactions": 2, "interests": 2, "inquiries": 1, "clients": 0,
                             "contacts": 0}
    assert body["total"] == 5 and body["to_user"] == work["supervisor"]
    assert sorted(body["ids"]["interests"]) == sorted([work["interest"], work["second"]])
    assert owners(dbx, work) == expect(work, before, work["supervisor"], "interest", "second",
                                       "plan", "second_plan", "new_inquiry")


def test_the_api_takes_ids_at_the_path_the_contract_names(api, dbx, work):
    response = api.post("/api/v1/handover", json={
        "from_user": work["manager"], "to_user": work["supervisor"], "items": ["clients"],
        "ids": [work["client"]]})
    assert response.status_code == 200, json_of(response)
    assert json_of(response)["moved"]["clients"] == 1


@pytest.mark.parametrize("body,status,code", [
    ("not an object", 400, "bad_request"),
    ([1, 2], 400, "bad_request"),
    ({"from_user": "$manager", "to_user": "$manager", "items": ["all"]}, 422, "invalid"),
    ({"from_user": "$manager", "to_user": 987654, "items": ["all"]}, 422, "invalid"),
    ({"to_user": "$supervisor", "items": ["all"]}, 422, "invalid"),
    ({"from_user": "$manager", "to_user": "$supervisor"}, 422, "invalid"),
    ({"from_user": "$manager", "to_user": "$supervisor", "items": ["x"]}, 422, "invalid"),
    ({"from_user": "$manager", "to_user": "$supervisor", "items": "interests",
      "ids": {"interests": ["$others_interest"]}}, 422, "not_theirs"),
    ({"from_user": "$readonly", "to_user": "$supervisor", "items": ["all"]}, 422,
     "nothing_to_hand_over"),
    ({"from_user": True, "to_user": {"a": 1}, "items": [None]}, 422, "invalid"),
])
def test_the_api_refuses_with_a_code(api, dbx, work, body, status, code):
    def fill(value):
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            return work.get(name) or dbx.user_id(name)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    before = owners(dbx, work)
    if isinstance(body, str):
        response = api.post(API, data=body, headers={"Content-Type": "application/json"})
    else:
        response = api.post(API, json=fill(body))
    assert response.status_code == status, json_of(response)
    assert json_of(response)["code"] == code
    assert json_of(response)["message"]
    assert owners(dbx, work) == before


def test_the_api_follows_the_reassign_scope(api_as, dbx, work):
    before = owners(dbx, work)
    response = api_as("manager").post(API, json={
        "from_user": work["manager"], "to_user": work["supervisor"], "items": ["all"]})
    assert response.status_code == 403 and json_of(response)["code"] == "forbidden"
    response = api_as("supervisor").post(API, json={
        "from_user": work["manager"], "to_user": work["other"], "items": ["all"]})
    assert response.status_code == 403 and json_of(response)["code"] == "forbidden"
    assert owners(dbx, work) == before
    response = api_as("supervisor").post(API, json={
        "from_user": work["manager"], "to_user": work["supervisor"], "items": ["inquiries"]})
    assert response.status_code == 200, json_of(response)
    assert owners(dbx, work)["new_inquiry"] == work["supervisor"]


def test_the_api_is_for_logged_in_users_only(anon_api, work):
    response = anon_api.post(API, json={"from_user": work["manager"],
                                        "to_user": work["supervisor"], "items": ["all"]})
    assert response.status_code == 401


def test_the_spec_describes_every_answer(api):
    spec = json_of(api.get("/api/v1/_openapi"))
    operation = spec["paths"]["/api/v1/handover"]["post"]
    assert {"200", "400", "401", "403", "422"} <= set(operation["responses"])


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_the_counts_and_hands_over(app, admin_client, dbx, work):
    page = admin_client.get(f"/handover/?from_user={work['manager']}")
    assert page.status_code == 200
    text = text_of(page)
    assert tr(app, "Hand over work") in text
    assert 'value="interactions" checked' in text and 'value="clients"' in text
    assert 'value="clients" checked' not in text
    assert '<span class="badge">3</span>' in text and '<span class="badge">2</span>' in text
    before = owners(dbx, work)
    response = admin_client.post("/handover/", data={
        "from_user": work["manager"], "to_user": work["supervisor"],
        "items": ["interests", "clients"]})
    assert response.status_code == 302
    assert owners(dbx, work) == expect(work, before, work["supervisor"], "interest", "second",
                                       "plan", "second_plan", "client", "contact")
    followed = admin_client.get(response.headers["Location"])
    assert "alert-success" in text_of(followed)


def test_the_page_says_what_is_wrong(admin_client, dbx, work):
    before = owners(dbx, work)
    response = admin_client.post("/handover/", data={
        "from_user": work["manager"], "to_user": work["manager"], "items": ["interests"]})
    assert response.status_code == 422
    assert "alert-danger" in text_of(response)
    response = admin_client.post("/handover/", data={
        "from_user": work["manager"], "to_user": work["supervisor"]})
    assert response.status_code == 422
    assert owners(dbx, work) == before


def test_the_page_and_its_menu_entry_are_for_those_who_may_reassign(
        admin_client, supervisor_client, manager_client, dbx, work):
    assert 'href="/handover/' in text_of(supervisor_client.get("/"))
    assert 'href="/handover/' not in text_of(manager_client.get("/"))
    page = manager_client.get("/handover/")
    assert page.status_code == 200 and "alert-info" in text_of(page)
    # The supervisor chooses among the employees of their subtree only.
    text = text_of(supervisor_client.get(f"/handover/?from_user={work['manager']}"))
    assert f'value="{work["other"]}"' not in text
    response = supervisor_client.post("/handover/", data={
        "from_user": work["manager"], "to_user": work["other"], "items": ["interactions"]})
    assert response.status_code == 422 or response.status_code == 403


# --- deactivating a user --------------------------------------------------------------------

USERS_API = "/api/v1/security/users/"


def user_form(dbx, user_id: int, **more) -> dict:
    with dbx.session() as s:
        user = s.get(CrmUser, user_id)
        form = {"first_name": user.first_name, "last_name": user.last_name,
                "username": user.username, "email": user.email,
                "roles": [str(role.id) for role in user.roles]}  # "active" unchecked
    form.update(more)
    return form


def is_active(dbx, user_id: int) -> bool:
    return dbx.get(CrmUser, user_id).active


def test_a_user_with_open_work_is_not_deactivated_without_a_receiver(dbx, work):
    before = owners(dbx, work)
    with dbx.acting("admin") as s:
        with pytest.raises(RuleBroken) as refused:
            handover.deactivate(s.get(CrmUser, work["manager"]))
        what = handover.work_text({"interactions": 3, "interests": 2, "inquiries": 1,
                                   "clients": 1})
    assert refused.value.code == "open_work"
    assert what in refused.value.message
    assert "hand_over_to" in refused.value.errors
    assert is_active(dbx, work["manager"]) and owners(dbx, work) == before


def test_deactivating_with_a_receiver_hands_everything_over_in_one_command(dbx, work):
    before = owners(dbx, work)
    with dbx.acting("admin") as s:
        done = handover.deactivate(s.get(CrmUser, work["manager"]), work["supervisor"])
    assert done.total == 8
    assert not is_active(dbx, work["manager"])
    assert owners(dbx, work) == expect(
        work, before, work["supervisor"], "plan", "second_plan", "task", "interest", "second",
        "new_inquiry", "client", "contact")


def test_a_user_without_open_work_is_deactivated_as_before(dbx, work):
    with dbx.acting("admin") as s:
        assert handover.deactivate(s.get(CrmUser, dbx.user_id("readonly"))) is None
    assert not is_active(dbx, dbx.user_id("readonly"))


def test_the_users_form_asks_where_the_work_goes(admin_client, dbx, work):
    page = text_of(admin_client.get(f"/users/edit/{work['manager']}"))
    assert 'name="hand_over_to"' in page
    before = owners(dbx, work)
    response = admin_client.post(f"/users/edit/{work['manager']}",
                                 data=user_form(dbx, work["manager"]))
    assert response.status_code == 302
    followed = text_of(admin_client.get(response.headers["Location"]))
    assert "alert-danger" in followed
    assert is_active(dbx, work["manager"]) and owners(dbx, work) == before
    response = admin_client.post(f"/users/edit/{work['manager']}", data=user_form(
        dbx, work["manager"], hand_over_to=str(work["supervisor"])))
    assert response.status_code == 302
    assert not is_active(dbx, work["manager"])
    assert owners(dbx, work)["client"] == work["supervisor"]
    assert dbx.count(Notification, Notification.kind == "handover",
                     Notification.user_id == work["supervisor"]) == 1


def test_the_users_form_changes_an_active_user_without_asking(admin_client, dbx, work):
    form = user_form(dbx, work["manager"], active="y", first_name="Мария")
    response = admin_client.post(f"/users/edit/{work['manager']}", data=form)
    assert response.status_code == 302
    assert dbx.get(CrmUser, work["manager"]).first_name == "Мария"
    assert is_active(dbx, work["manager"])


def test_the_users_api_asks_where_the_work_goes(api, dbx, work):
    before = owners(dbx, work)
    response = api.put(f"{USERS_API}{work['manager']}", json={"active": False})
    assert response.status_code == 422, json_of(response)
    assert json_of(response)["code"] == "open_work"
    assert "hand_over_to" in json_of(response)["message"]
    assert is_active(dbx, work["manager"]) and owners(dbx, work) == before
    response = api.put(f"{USERS_API}{work['manager']}",
                       json={"active": False, "hand_over_to": work["manager"]})
    assert response.status_code == 422 and json_of(response)["code"] == "invalid"
    assert is_active(dbx, work["manager"])
    response = api.put(f"{USERS_API}{work['manager']}",
                       json={"active": False, "hand_over_to": work["supervisor"]})
    assert response.status_code == 200, json_of(response)
    assert "hand_over_to" not in json_of(response)["result"]
    assert not is_active(dbx, work["manager"])
    assert owners(dbx, work)["interest"] == work["supervisor"]


def test_a_receiver_refused_on_deactivating_names_the_deactivating_forms_field(dbx, work):
    before = owners(dbx, work)
    with dbx.acting("admin") as s:
        with pytest.raises(RecordInvalid) as refused:
            handover.deactivate(s.get(CrmUser, work["manager"]), work["manager"])
    assert list(refused.value.errors) == ["hand_over_to"]
    assert is_active(dbx, work["manager"]) and owners(dbx, work) == before
