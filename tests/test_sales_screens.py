"""The sales process on the screens, without JavaScript: the interest's card and the
commands as forms (move, close, reopen, create or link the client, complete and cancel an
interaction), each calling the same command as the API and showing its refusal."""

from __future__ import annotations

import re

import pytest
from factories import CLIENT, INTEREST, plan, system_item, to_json
from helpers import text_of
from sqlalchemy import select

from app.models import Client, Interaction, Interest, Pipeline, Stage

NEXT = {"next_subject": "Send the offer", "next_planned_at": "20.01.2027 11:00"}


@pytest.fixture
def stages(dbx) -> dict:
    pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
    rows = dbx.all(select(Stage).where(Stage.pipeline_id == pipeline).order_by(Stage.sort))
    return {"pipeline": pipeline, "first": rows[0].id, "second": rows[1].id,
            "contract": rows[2].id}


@pytest.fixture
def manager(client_as):
    return client_as("manager")


def make_interest(api_as, dbx, stages, *, client=True) -> int:
    body = {"title": "Поставка станков", "pipeline": stages["pipeline"],
            "stage": stages["first"], "amount": "250000", "next": to_json(plan(1))}
    if client:
        body["client"] = CLIENT.create(dbx, n=800 + dbx.count(Client), user="manager")
    else:
        body.update(potential_name="Пётр Сидоров", potential_company="ООО Новый",
                    potential_phone="+7 916 555-44-33", potential_email="petr@new.example")
    response = api_as("manager").post("/api/v1/interest/", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def version(dbx, pk: int) -> int:
    return dbx.get(Interest, pk).version


def test_the_card_shows_the_stages_the_next_step_and_the_commands(manager, api_as, dbx,
                                                                   stages):
    pk = make_interest(api_as, dbx, stages, client=False)
    page = text_of(manager.get(f"/interestview/show/{pk}"))
    assert "crm-stagebar" in page and "crm-stage-current" in page
    assert f'/interestview/move/{pk}?stage={stages["second"]}' in page
    assert "Call back 1" in page and "/interactionview/complete/" in page
    assert f"/interestview/create_client/{pk}" in page  # the potential client's ways out
    assert f"/interestview/link_client/{pk}" in page
    assert "Пётр Сидоров" in page


def test_the_edit_form_has_no_stage_and_the_add_form_asks_for_the_first_plan(manager, api_as,
                                                                             dbx, stages):
    pk = make_interest(api_as, dbx, stages)
    edit = text_of(manager.get(f"/interestview/edit/{pk}"))
    assert 'name="stage"' not in edit and 'name="pipeline"' not in edit
    add = text_of(manager.get("/interestview/add"))
    assert 'name="next_subject"' in add and 'name="next_planned_at"' in add


def test_moving_with_the_form(manager, api_as, dbx, stages):
    pk = make_interest(api_as, dbx, stages)
    form = text_of(manager.get(f"/interestview/move/{pk}?stage={stages['second']}"))
    assert "Call back 1" in form  # the current interaction whose result is asked for
    response = manager.post(f"/interestview/move/{pk}", data={
        "stage": stages["second"], "result": "Interested", **NEXT,
        "version": version(dbx, pk)})
    assert response.status_code == 302, text_of(response)
    assert response.headers["Location"].endswith(f"/interestview/show/{pk}")
    assert dbx.get(Interest, pk).stage_id == stages["second"]
    planned = dbx.all(select(Interaction.subject).where(Interaction.interest_id == pk,
                                                        Interaction.status == "planned"))
    assert planned == ["Send the offer"]


def test_a_refused_move_says_why_next_to_the_field_and_changes_nothing(manager, api_as, dbx,
                                                                      stages):
    pk = make_interest(api_as, dbx, stages)
    response = manager.post(f"/interestview/move/{pk}", data={
        "stage": stages["second"], "result": "", **NEXT, "version": version(dbx, pk)})
    assert response.status_code == 200
    assert re.search(r'crm-field-result[^>]*>.*?help-block', text_of(response), re.S)
    response = manager.post(f"/interestview/move/{pk}", data={
        "stage": stages["second"], "result": "ok", **NEXT, "version": version(dbx, pk) - 1})
    assert response.status_code == 200
    assert "изменил другой пользователь" in text_of(response)
    assert dbx.get(Interest, pk).stage_id == stages["first"]


def test_a_stage_requiring_a_client_offers_to_create_it_from_the_form(manager, api_as, dbx,
                                                                     stages):
    pk = make_interest(api_as, dbx, stages, client=False)
    response = manager.post(f"/interestview/move/{pk}", data={
        "stage": stages["contract"], "result": "ok", **NEXT, "version": version(dbx, pk)})
    page = text_of(response)
    assert "crm-offers" in page and f"/interestview/create_client/{pk}" in page
    response = manager.post(f"/interestview/create_client/{pk}",
                            data={"version": version(dbx, pk)})
    assert response.status_code == 302
    interest = dbx.get(Interest, pk)
    assert interest.client_id is not None
    assert dbx.get(Client, interest.client_id).name == "ООО Новый"


def test_linking_an_existing_client_with_the_form(manager, api_as, dbx, stages):
    pk = make_interest(api_as, dbx, stages, client=False)
    client = CLIENT.create(dbx, n=870, user="manager")
    response = manager.post(f"/interestview/link_client/{pk}",
                            data={"client": client, "version": version(dbx, pk)})
    assert response.status_code == 302, text_of(response)
    assert dbx.get(Interest, pk).client_id == client


def test_closing_and_reopening_with_the_forms(manager, api_as, dbx, stages):
    pk = make_interest(api_as, dbx, stages)
    page = text_of(manager.post(f"/interestview/close/{pk}", data={
        "outcome": "lost", "result": "No budget", "version": version(dbx, pk)}))
    assert "crm-field-reason" in page and "has-error" in page
    reason = system_item(dbx, "lost_reason", "price")
    response = manager.post(f"/interestview/close/{pk}", data={
        "outcome": "lost", "result": "No budget", "reason": reason,
        "version": version(dbx, pk)})
    assert response.status_code == 302, text_of(response)
    assert dbx.get(Interest, pk).closed_at is not None
    card = text_of(manager.get(f"/interestview/show/{pk}"))
    assert f"/interestview/reopen/{pk}" in card and "/interestview/move/" not in card
    response = manager.post(f"/interestview/reopen/{pk}", data={
        "stage": stages["first"], **NEXT, "version": version(dbx, pk)})
    assert response.status_code == 302, text_of(response)
    assert dbx.get(Interest, pk).closed_at is None


def test_completing_the_last_plan_asks_for_the_next_in_the_same_form(manager, api_as, dbx,
                                                                    stages):
    pk = make_interest(api_as, dbx, stages)
    (call,) = dbx.all(select(Interaction).where(Interaction.interest_id == pk))
    form = text_of(manager.get(f"/interactionview/complete/{call.id}"))
    assert "crm-command-note" in form  # "the last planned interaction: plan the next one"
    response = manager.post(f"/interactionview/complete/{call.id}",
                            data={"result": "Called", "version": call.version})
    assert response.status_code == 200 and "has-error" in text_of(response)
    assert dbx.get(Interaction, call.id).status == "planned"
    response = manager.post(f"/interactionview/complete/{call.id}",
                            data={"result": "Called", **NEXT, "version": call.version})
    assert response.status_code == 302, text_of(response)
    assert response.headers["Location"].endswith(f"/interestview/show/{pk}")
    assert dbx.get(Interaction, call.id).status == "done"


def test_the_commands_of_someone_elses_interest_answer_404(client_as, api_as, dbx, stages):
    pk = make_interest(api_as, dbx, stages)
    other = client_as("manager_b")
    for page in ("move", "close", "reopen", "link_client"):
        assert other.get(f"/interestview/{page}/{pk}").status_code == 404, page
    assert other.post(f"/interestview/create_client/{pk}").status_code == 404
    (call,) = dbx.all(select(Interaction.id).where(Interaction.interest_id == pk))
    assert other.get(f"/interactionview/complete/{call}").status_code == 404


def test_the_read_only_role_has_no_commands(client_as, api_as, dbx, stages):
    pk = make_interest(api_as, dbx, stages)
    reader = client_as("readonly")
    response = reader.get(f"/interestview/move/{pk}")
    assert response.status_code in (302, 403, 404)
    assert INTEREST  # the factory module is the one the generic tests use
