"""The board's page and its JSON: what each user sees, the toolbar's filters, "show more",
the list mode, the pin, the day's load, and the move dialog's form with its refusals."""

from __future__ import annotations

import pytest
from factories import CLIENT, INQUIRY, plan, to_json
from helpers import text_of
from sqlalchemy import select

from app.models import Interest, Pipeline, Stage


@pytest.fixture
def stages(dbx) -> dict:
    pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
    rows = dbx.all(select(Stage).where(Stage.pipeline_id == pipeline).order_by(Stage.sort))
    return {"pipeline": pipeline, "first": rows[0].id, "second": rows[1].id,
            "contract": rows[2].id, "won": next(s.id for s in rows if s.kind == "won")}


def new_interest(api_as, dbx, stages, user="manager", *, title="Поставка", client=True,
                 when="2027-01-15T10:00:00") -> int:
    body = {"title": title, "pipeline": stages["pipeline"], "stage": stages["first"],
            "amount": "1000", "next": {**to_json(plan(1)), "planned_at": when}}
    if client:
        deps = {**CLIENT.deps(dbx), "user": dbx.user_id(user)}
        body["client"] = CLIENT.create(dbx, deps, n=700 + dbx.count(Interest), user=user)
    else:
        body["potential_name"] = "Пётр"
    response = api_as(user).post("/api/v1/interest/", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_the_board_page_shows_my_cards_in_their_columns(client_as, api_as, dbx, stages):
    mine = new_interest(api_as, dbx, stages, title="Моя сделка")
    new_interest(api_as, dbx, stages, "manager_b", title="Чужая сделка")
    INQUIRY.create(dbx, n=3, user="manager")
    page = text_of(client_as("manager").get("/board/"))
    assert "Моя сделка" in page and "Чужая сделка" not in page
    assert f'data-stage="{stages["first"]}"' in page and f'data-id="{mine}"' in page
    assert "crm-kcol-inquiries" in page and "Sender 3" in page
    assert 'name="manager"' not in page  # a manager sees only their own: no manager filter
    head = text_of(client_as("supervisor").get("/board/"))
    assert "Моя сделка" in head and 'name="manager"' in head


def test_the_board_is_in_the_menu_of_whoever_reads_interests(client_as):
    assert "/board/" in text_of(client_as("manager").get("/"))


def test_the_kanban_api(api_as, dbx, stages):
    pk = new_interest(api_as, dbx, stages, when="2020-01-01T10:00:00")
    answer = api_as("manager").get(f"/api/v1/kanban?pipeline={stages['pipeline']}&depth=all")
    assert answer.status_code == 200, answer.get_json()
    columns = answer.get_json()["columns"]
    assert columns[0]["key"] == "inquiries"
    first = next(c for c in columns if c["key"] == f"stage-{stages['first']}")
    assert first["count"] == 1 and first["sum"] == "1000.00"
    (card,) = first["cards"]
    assert (card["id"], card["color"], card["flagged"]) == (pk, "red", False)
    assert card["next_at"].startswith("2020-01-01T10:00:00")
    assert set(card) >= {"id", "title", "client", "amount", "next_at", "color", "flagged"}
    more = api_as("manager").get(f"/api/v1/kanban?column=stage-{stages['first']}&offset=0")
    assert [c["id"] for c in more.get_json()["columns"][0]["cards"]] == [pk]
    assert api_as("manager").get("/api/v1/kanban?column=nowhere&offset=1").status_code == 404
    assert api_as("manager_b").get("/api/v1/kanban").get_json()["columns"][1]["cards"] == []


def test_the_list_mode_and_show_more(client_as, api_as, dbx, stages):
    for n in range(3):
        new_interest(api_as, dbx, stages, title=f"Сделка {n}")
    manager = client_as("manager")
    page = text_of(manager.get("/board/?mode=list"))
    assert page.count("/interestview/show/") >= 3 and "crm-board-list" in page
    more = manager.get(f"/board/more?column=stage-{stages['first']}&offset=1")
    assert more.status_code == 200 and text_of(more).count("crm-kcard ") == 2
    assert manager.get("/board/more?column=nowhere&offset=0").status_code == 404


def test_the_pin_puts_a_card_first(client_as, api_as, dbx, stages):
    pk = new_interest(api_as, dbx, stages)
    manager = client_as("manager")
    version = dbx.get(Interest, pk).version
    answer = manager.post(f"/board/flag/{pk}", data={"version": version})
    assert answer.status_code == 200 and answer.get_json()["flagged"] is True
    assert manager.post(f"/board/flag/{pk}", data={"version": version}).status_code == 409
    assert client_as("manager_b").post(f"/board/flag/{pk}").status_code == 404


def test_the_days_load_for_the_move_dialog(client_as, api_as, dbx, stages):
    pk = new_interest(api_as, dbx, stages, when="2027-03-10T09:00:00")
    load = client_as("manager").get(f"/board/load?interest={pk}&day=10.03.2027")
    assert load.status_code == 200 and load.get_json()["count"] == 1
    assert client_as("manager").get(f"/board/load?interest={pk}&day=x").status_code == 400
    assert client_as("manager_b").get(
        f"/board/load?interest={pk}&day=10.03.2027").status_code == 404


def test_the_dialog_gets_the_form_alone_and_json_when_done(client_as, api_as, dbx, stages):
    pk = new_interest(api_as, dbx, stages, client=False)
    manager = client_as("manager")
    form = text_of(manager.get(f"/interestview/move/{pk}?stage={stages['contract']}&dialog=1"))
    assert "<html" not in form and "crm-command-form" in form and "crm-day-load" in form
    refused = manager.post(f"/interestview/move/{pk}?stage={stages['contract']}&dialog=1",
                           data={"stage": stages["contract"], "result": "ok",
                                 "next_subject": "Call", "next_planned_at": "20.01.2027 10:00",
                                 "version": dbx.get(Interest, pk).version})
    assert refused.status_code == 422 and "crm-offers" in text_of(refused)
    assert "crm-refusal" in text_of(refused)
    again = f"/interestview/move/{pk}?stage={stages['contract']}&dialog=1"
    created = manager.post(f"/interestview/create_client/{pk}?dialog=1",
                           data={"version": dbx.get(Interest, pk).version, "again": again})
    assert created.get_json() == {"ok": True, "again": again,
                                  "message": created.get_json()["message"]}
    done = manager.post(again, data={"stage": stages["contract"], "result": "ok",
                                     "next_subject": "Call",
                                     "next_planned_at": "20.01.2027 10:00",
                                     "version": dbx.get(Interest, pk).version})
    assert done.status_code == 200 and done.get_json()["ok"] is True
    assert dbx.get(Interest, pk).stage_id == stages["contract"]


def test_a_pipeline_without_stages_and_offsets_out_of_range_answer_calmly(client_as, api_as,
                                                                          dbx, stages):
    empty = dbx.add(Pipeline(name="Пустое направление", sort=90))
    answer = api_as("admin").get(f"/api/v1/kanban?pipeline={empty}&offset=34731117565")
    assert answer.status_code == 200
    assert [c["key"] for c in answer.get_json()["columns"]] == ["inquiries"]
    huge = f"column=stage-{stages['first']}&offset=34731117565"
    assert api_as("admin").get(f"/api/v1/kanban?{huge}").status_code == 200
    admin = client_as("admin")
    assert admin.get(f"/board/?pipeline={empty}").status_code == 200
    assert admin.get(f"/board/more?{huge}").status_code == 200
    assert admin.get("/board/?mode=list&offset=34731117565").status_code == 200
    assert admin.get("/board/more?column=inquiries&offset=-5").status_code == 200


def test_the_board_narrowed_to_one_client_from_its_card(client_as, api_as, dbx, stages):
    first = new_interest(api_as, dbx, stages, title="Первая сделка")
    new_interest(api_as, dbx, stages, title="Другая сделка")
    client_id = dbx.get(Interest, first).client_id
    manager = client_as("manager")
    card = text_of(manager.get(f"/clientview/show/{client_id}"))
    assert f'href="/board/?client={client_id}"' in card  # "On the board"
    page = text_of(manager.get(f"/board/?client={client_id}"))
    assert "Первая сделка" in page and "Другая сделка" not in page
    # The toolbar's client box says which client, and can be cleared or changed.
    assert f'<option value="{client_id}" selected>ООО Ромашка' in page
    assert 'data-endpoint="/lookup/client"' in page
    everything = text_of(manager.get("/board/"))
    assert "Первая сделка" in everything and "Другая сделка" in everything
    # A client the manager may not read is not found, as in the lists.
    foreign = CLIENT.create(dbx, {**CLIENT.deps(dbx), "user": dbx.user_id("manager_b")},
                            n=950, user="admin")
    assert manager.get(f"/board/?client={foreign}").status_code == 404
