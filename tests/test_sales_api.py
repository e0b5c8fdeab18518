"""The commands of the sales process through the REST API: the bodies integrators rely on,
every refusal as JSON with its `code`, 409 on a stale version, and a generic PUT that no
longer writes an interest's stage or closing."""

from __future__ import annotations

import pytest
from factories import CLIENT, INQUIRY, INTEREST, plan, system_item, to_json
from sqlalchemy import select

from app.models import Client, Inquiry, Interaction, Interest, Pipeline, Stage, StageChange

PLAN = to_json(plan(1))


@pytest.fixture
def stages(dbx) -> dict:
    pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
    rows = dbx.all(select(Stage).where(Stage.pipeline_id == pipeline).order_by(Stage.sort))
    return {"pipeline": pipeline, "first": rows[0].id, "second": rows[1].id,
            "contract": rows[2].id, "won": next(s.id for s in rows if s.kind == "won")}


def new_interest(api, dbx, stages, *, client=True, **more) -> dict:
    body = {"title": "Поставка", "pipeline": stages["pipeline"], "stage": stages["first"],
            "amount": "1000", "next": PLAN, **more}
    if client:
        body["client"] = CLIENT.create(dbx, n=900 + dbx.count(Client))
    elif "potential_name" not in more:
        body.update(potential_name="Пётр", potential_company="ООО Новый",
                    potential_phone="+7 916 555-44-33")
    response = api.post("/api/v1/interest/", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def planned(dbx, interest_id) -> list[str]:
    return dbx.all(select(Interaction.subject).where(Interaction.interest_id == interest_id,
                                                     Interaction.status == "planned"))


def refusal(response, status: int, code: str) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert body["message"]
    return body


# --- creating ---------------------------------------------------------------------------------


def test_creating_an_interest_takes_its_first_plan_and_is_refused_without_it(api, dbx, stages):
    body = {"title": "Без плана", "pipeline": stages["pipeline"], "stage": stages["first"],
            "potential_name": "Иван"}
    refusal(api.post("/api/v1/interest/", json=body), 422, "next_plan_required")
    assert dbx.count(Interest) == 0
    bad_plan = api.post("/api/v1/interest/", json={**body, "next": {"subject": "Call"}})
    assert bad_plan.status_code == 422
    assert "planned_at" in str(bad_plan.get_json()["message"])
    created = new_interest(api, dbx, stages)
    assert planned(dbx, created["id"]) == ["Call back 1"]
    assert dbx.count(StageChange, StageChange.interest_id == created["id"]) == 1


def test_the_generic_put_refuses_the_stage_and_the_closing_fields(api, dbx, stages):
    created = new_interest(api, dbx, stages)
    url = f"/api/v1/interest/{created['id']}"
    for field, value in (("stage", stages["second"]), ("pipeline", stages["pipeline"]),
                         ("closed_at", "2027-01-01T10:00:00"), ("lost_reason", 1)):
        body = refusal(api.put(url, json={field: value}), 422, "use_command")
        assert list(body["message"]) == [field]
        assert "/api/v1/interest/<id>/move" in body["message"][field][0]
    assert dbx.get(Interest, created["id"]).stage_id == stages["first"]
    assert api.put(url, json={"title": "Новое название"}).status_code == 200


# --- moving, closing, reopening ------------------------------------------------------------------


def test_move_changes_the_stage_with_the_result_and_the_next_plan(api, dbx, stages):
    created = new_interest(api, dbx, stages)
    url = f"/api/v1/interest/{created['id']}/move"
    response = api.post(url, json={"stage": stages["second"], "result": "Interested",
                                   "next": to_json(plan(2)), "version": created["version"]})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["version"] == created["version"] + 1
    assert answer["result"]["stage"]["id"] == stages["second"]
    assert planned(dbx, created["id"]) == ["Call back 2"]
    refusal(api.post(url, json={"stage": stages["first"], "result": "x",
                                "next": PLAN, "version": created["version"]}),
            409, "stale_version")
    refusal(api.post(url, json={"stage": stages["first"], "result": "x", "next": PLAN},
                     headers={"If-Match": str(created["version"])}), 409, "stale_version")
    refusal(api.post(url, json={"stage": stages["first"], "result": "x"}), 422,
            "next_plan_required")
    refusal(api.post(url, json={"stage": stages["first"], "next": PLAN}), 422,
            "result_required")
    refusal(api.post(url, json={"stage": stages["won"], "result": "x", "next": PLAN}), 422,
            "invalid_stage")
    refusal(api.post(url, json={"stage": 10**6, "result": "x", "next": PLAN}), 422, "invalid")
    refusal(api.post(url, json={"result": "x"}), 422, "invalid")
    assert api.post(url, data="stage=1").status_code == 400
    assert dbx.get(Interest, created["id"]).stage_id == stages["second"]


def test_commands_on_an_interest_the_user_cannot_see_answer_404(api, api_as, dbx, stages):
    created = new_interest(api_as("manager"), dbx, stages)
    other = api_as("manager_b")
    for command, body in (("move", {"stage": stages["second"], "result": "x", "next": PLAN}),
                          ("close", {"outcome": "won", "result": "x"}),
                          ("reopen", {"next": PLAN}), ("create_client", {}),
                          ("link_client", {"client": 1})):
        response = other.post(f"/api/v1/interest/{created['id']}/{command}", json=body)
        assert response.status_code == 404, command


def test_close_and_reopen(api, dbx, stages):
    created = new_interest(api, dbx, stages)
    base = f"/api/v1/interest/{created['id']}"
    refusal(api.post(f"{base}/close", json={"outcome": "lost", "result": "No budget"}), 422,
            "lost_reason_required")
    refusal(api.post(f"{base}/close", json={"outcome": "maybe", "result": "x"}), 422,
            "invalid")
    reason = system_item(dbx, "lost_reason", "price")
    response = api.post(f"{base}/close", json={"outcome": "lost", "result": "No budget",
                                               "reason": reason})
    assert response.status_code == 200, response.get_json()
    closed = response.get_json()["result"]
    assert closed["closed_at"] and closed["lost_reason"]["id"] == reason
    refusal(api.post(f"{base}/move", json={"stage": stages["second"], "result": "x",
                                           "next": PLAN}), 422, "interest_closed")
    refusal(api.post(f"{base}/reopen", json={}), 422, "next_plan_required")
    response = api.post(f"{base}/reopen", json={"next": to_json(plan(3))})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["closed_at"] is None
    assert planned(dbx, created["id"]) == ["Call back 3"]
    refusal(api.post(f"{base}/reopen", json={"next": PLAN}), 422, "interest_open")


def test_a_stage_requiring_a_client_offers_both_ways_out(api, dbx, stages):
    created = new_interest(api, dbx, stages, client=False)
    base = f"/api/v1/interest/{created['id']}"
    body = refusal(api.post(f"{base}/move", json={"stage": stages["contract"], "result": "ok",
                                                  "next": PLAN}), 422, "client_required")
    assert body["offers"] == [
        {"command": "create_client", "url": f"{base}/create_client"},
        {"command": "link_client", "url": f"{base}/link_client"}]
    assert "client" in body["errors"]
    response = api.post(f"{base}/create_client", json={})
    assert response.status_code == 200, response.get_json()
    client_id = response.get_json()["result"]["client"]["id"]
    assert dbx.get(Client, client_id).name == "ООО Новый"
    refusal(api.post(f"{base}/create_client"), 422, "has_client")
    response = api.post(f"{base}/move", json={"stage": stages["contract"], "result": "ok",
                                              "next": PLAN})
    assert response.status_code == 200, response.get_json()

    another = new_interest(api, dbx, stages, client=False)
    url = f"/api/v1/interest/{another['id']}/link_client"
    refusal(api.post(url, json={"client": 10**6}), 422, "invalid")
    response = api.post(url, json={"client": client_id, "version": another["version"]})
    assert response.status_code == 200, response.get_json()
    assert dbx.get(Interest, another["id"]).client_id == client_id


# --- interactions ---------------------------------------------------------------------------------


def test_complete_and_cancel_an_interaction(api, dbx, stages):
    created = new_interest(api, dbx, stages)
    (first,) = dbx.all(select(Interaction.id).where(Interaction.interest_id == created["id"]))
    url = f"/api/v1/interaction/{first}/complete"
    refusal(api.post(url, json={"result": "Called"}), 422, "next_plan_required")
    refusal(api.post(url, json={"next": PLAN}), 422, "result_required")
    response = api.post(url, json={"result": "Called", "next": to_json(plan(4)),
                                   "version": 1})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["status"] == "done"
    refusal(api.post(url, json={"result": "again", "next": PLAN}), 422, "not_planned")
    (second,) = dbx.all(select(Interaction.id).where(Interaction.interest_id == created["id"],
                                                      Interaction.status == "planned"))
    cancel = f"/api/v1/interaction/{second}/cancel"
    refusal(api.post(cancel, json={"reason": "Not needed"}), 422, "next_plan_required")
    refusal(api.put(f"/api/v1/interaction/{second}", json={"status": "cancelled"}), 422,
            "next_plan_required")
    refusal(api.delete(f"/api/v1/interaction/{second}"), 422, "next_plan_required")
    response = api.post(cancel, json={"reason": "Not needed", "next": to_json(plan(5))})
    assert response.status_code == 200, response.get_json()
    assert planned(dbx, created["id"]) == ["Call back 5"]


# --- inquiries --------------------------------------------------------------------------------------


def test_dismiss_one_and_many_inquiries(api, api_as, dbx):
    one, two, three = (INQUIRY.create(dbx, n=n) for n in (1, 2, 3))
    response = api.post(f"/api/v1/inquiry/{one}/dismiss", json={"version": 1})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["status"] == "processed"
    refusal(api.post(f"/api/v1/inquiry/{one}/dismiss"), 422, "inquiry_processed")
    refusal(api.post("/api/v1/inquiry/dismiss", json={"ids": [two, one]}), 422,
            "inquiry_processed")
    assert dbx.get(Inquiry, two).status == "new"
    assert api.post("/api/v1/inquiry/dismiss", json={"ids": []}).status_code == 422
    assert api_as("manager_b").post("/api/v1/inquiry/dismiss",
                                    json={"ids": [two]}).status_code == 404
    response = api.post("/api/v1/inquiry/dismiss", json={"ids": [two, three]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["ids"] == [two, three]
    assert {dbx.get(Inquiry, i).status for i in (two, three)} == {"processed"}


def test_convert_an_inquiry_for_a_new_client_and_link_another(api, dbx, stages):
    lead = INQUIRY.create(dbx, n=11)
    interest = {"title": "Из обращения", "pipeline": stages["pipeline"],
                "stage": stages["first"]}
    url = f"/api/v1/inquiry/{lead}/convert"
    refusal(api.post(url, json={"interest": interest}), 422, "next_plan_required")
    bad = api.post(url, json={"interest": interest, "next": PLAN,
                              "new_client": {"kind": "company"}})
    assert bad.status_code == 422 and "new_client" in bad.get_json()["message"]
    response = api.post(url, json={
        "interest": interest, "next": PLAN,
        "new_client": {"kind": "company", "name": "ООО Из обращения"},
        "contact": {"name": "Анна", "phone": "+7 916 111-22-33"}})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()["result"]
    assert answer["status"] == "converted" and answer["interest"]["id"]
    client = dbx.get(Client, answer["client"]["id"])
    assert client.name == "ООО Из обращения"
    assert planned(dbx, answer["interest"]["id"]) == ["Call back 1"]

    other = INQUIRY.create(dbx, n=12)
    response = api.post(f"/api/v1/inquiry/{other}/link",
                        json={"interest": answer["interest"]["id"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["status"] == "linked"
    refusal(api.post(f"/api/v1/inquiry/{other}/link",
                     json={"interest": answer["interest"]["id"]}), 422, "inquiry_processed")


def test_the_commands_are_in_the_openapi_spec(api):
    paths = api.get("/api/v1/_openapi").get_json()["paths"]
    for path in ("/api/v1/interest/{pk}/move", "/api/v1/interest/{pk}/close",
                 "/api/v1/interest/{pk}/reopen", "/api/v1/interest/{pk}/create_client",
                 "/api/v1/interest/{pk}/link_client", "/api/v1/interaction/{pk}/complete",
                 "/api/v1/interaction/{pk}/cancel", "/api/v1/inquiry/{pk}/dismiss",
                 "/api/v1/inquiry/dismiss", "/api/v1/inquiry/{pk}/convert",
                 "/api/v1/inquiry/{pk}/link"):
        answers = paths[path]["post"]["responses"]
        assert {"200", "400", "401", "404", "422"} <= set(answers), path
        # Each takes the version it read, and so may find it stale; but the bulk dismiss.
        assert ("409" in answers) is (path != "/api/v1/inquiry/dismiss"), path
        takes_id = "{pk}" in path
        assert any(p["name"] == "pk" for p in paths[path]["post"].get("parameters", [])) \
            is takes_id, path
    schema = paths["/api/v1/interest/{pk}/move"]["post"]["requestBody"]["content"]
    assert schema["application/json"]["schema"]["$ref"].endswith("MoveSchema")
    convert = paths["/api/v1/inquiry/{pk}/convert"]["post"]
    assert convert["responses"]["200"]["description"].startswith("The interest is created")
    assert paths["/api/v1/inquiry/dismiss"]["post"]["responses"]["200"]["description"] == \
        "Processed"


def test_an_interest_factory_body_is_what_post_takes(api, dbx):
    deps = INTEREST.deps(dbx)
    response = api.post("/api/v1/interest/", json=INTEREST.json(deps, 1))
    assert response.status_code == 201, response.get_json()


def test_ids_beyond_any_key_are_refused_as_invalid_not_failed(api, dbx, stages):
    created = new_interest(api, dbx, stages)
    base = f"/api/v1/interest/{created['id']}"
    huge = 10**12  # fits no integer key column, and PostgreSQL would refuse to look
    for url, body in ((f"{base}/move", {"stage": huge, "result": "x", "next": PLAN}),
                      (f"{base}/move", {"stage": stages["second"], "result": "x",
                                        "next": {**PLAN, "type": huge}}),
                      (f"{base}/close", {"outcome": "lost", "result": "x", "reason": huge}),
                      (f"{base}/link_client", {"client": huge}),
                      ("/api/v1/inquiry/dismiss", {"ids": [huge]})):
        refusal(api.post(url, json=body), 422, "invalid")
    assert dbx.get(Interest, created["id"]).stage_id == stages["first"]
