"""The client search (app.services.client_search) and GET /api/v1/client/search: any word of
the name, the INN, a phone in any format or without its area code, an e-mail or its domain,
the contacts' phones and e-mails; only what the user may see; with the open interests."""

from __future__ import annotations

import pytest
from factories import plan, to_json
from sqlalchemy import select

from app.models import Client, Contact, Pipeline, Stage
from app.rules.validation import normalize_phone, phone_tail, typed_phone_tail
from app.services import client_search
from app.services.actor import acting_as


@pytest.fixture
def clients(app, dbx):
    manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
    green = dbx.add(Client(kind="company", name="ООО «Зелёный Берег»", inn="7707083893",
                           phone="+7 (495) 660-18-12", email="Office@Bereg.RU",
                           responsible_id=manager), user="manager")
    dbx.add(Contact(client_id=green, name="Анна Смирнова", phone="8 916 555-44-33",
                    email="anna@smirnova.example"), user="manager")
    hidden = dbx.add(Client(kind="company", name="АО «Берег Дальний»",
                            phone="+7 812 100-20-30", responsible_id=other), user="manager_b")
    return {"green": green, "hidden": hidden}


def found(app, dbx, term, user="manager") -> list[int]:
    with app.test_request_context(), acting_as(dbx.user_id(user)):
        return [item.client.id for item in client_search.find_clients(term)]


def test_phones_are_stored_in_e164_and_found_in_any_format(app, dbx, clients):
    client = dbx.get(Client, clients["green"])
    assert client.phone_normalized == "+74956601812"
    assert client.phone_tail == phone_tail("+74956601812") == "21810665947"
    for typed in ("+7 (495) 660-18-12", "84956601812", "8 495 660 18 12", "4956601812",
                  "660-18-12", "6601812"):
        assert found(app, dbx, typed) == [clients["green"]], typed
    assert found(app, dbx, "8 916 555 44 33") == [clients["green"]]  # a contact's phone
    assert typed_phone_tail("12") == ""


def test_any_word_of_the_name_whatever_the_case_yo_quotes_and_legal_form(app, dbx, clients):
    for typed in ("берег", "Зеленый", "ЗЕЛЁНЫЙ бер", "«зелёный»", "ООО Зеленый", "бер зел"):
        assert found(app, dbx, typed) == [clients["green"]], typed
    assert found(app, dbx, "берег", user="manager_b") == [clients["hidden"]]
    assert found(app, dbx, "дальний") == []  # someone else's client stays unseen


def test_inn_e_mail_and_domain(app, dbx, clients):
    assert found(app, dbx, "7707083893") == [clients["green"]]
    assert found(app, dbx, "770708") == [clients["green"]]
    assert found(app, dbx, "office@bereg.ru") == [clients["green"]]
    assert found(app, dbx, "OFFICE@") == [clients["green"]]
    assert found(app, dbx, "bereg.ru") == [clients["green"]]
    assert found(app, dbx, "@bereg") == [clients["green"]]
    assert found(app, dbx, "anna@smirnova.example") == [clients["green"]]
    assert found(app, dbx, "@smirnova.example") == [clients["green"]]
    assert found(app, dbx, "") == [] and found(app, dbx, "   ") == []


def test_a_changed_name_or_phone_is_found_by_its_new_words(app, dbx, clients):
    from app.services import commands

    with app.test_request_context(), acting_as(dbx.user_id("manager")):
        from app.database import db

        client = db.session.get(Client, clients["green"])
        commands.update(client, lambda c: (setattr(c, "name", "ООО «Синий Утёс»"),
                                           setattr(c, "phone", "+7 495 111-22-33")))
    assert found(app, dbx, "утес") == [clients["green"]]
    assert found(app, dbx, "берег") == []
    assert found(app, dbx, "111-22-33") == [clients["green"]]
    assert found(app, dbx, "660-18-12") == []


def test_the_api_answers_the_clients_with_their_open_interests(app, dbx, api_as, clients):
    pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
    stage = dbx.scalar(select(Stage.id).where(Stage.pipeline_id == pipeline)
                       .order_by(Stage.sort).limit(1))
    created = api_as("manager").post("/api/v1/interest/", json={
        "title": "Поставка", "pipeline": pipeline, "stage": stage,
        "client": clients["green"], "next": to_json(plan(1))})
    assert created.status_code == 201, created.get_json()
    answer = api_as("manager").get("/api/v1/client/search?q=8 495 660 18 12")
    assert answer.status_code == 200, answer.get_json()
    (item,) = answer.get_json()["result"]
    assert (item["id"], item["name"], item["inn"]) == (
        clients["green"], "ООО «Зелёный Берег»", "7707083893")
    assert [i["title"] for i in item["open_interests"]] == ["Поставка"]
    assert api_as("manager_b").get("/api/v1/client/search?q=зеленый").get_json() == {
        "result": []}
    assert api_as("manager").get("/api/v1/client/search?q=" + "x" * 201).status_code == 400
    # `q` is what a person typed, not FAB's rison: "660-18-12" or "(((" are searched.
    for typed in ("660-18-12", "(((", "1e+5", "!('x')"):
        answer = api_as("manager").get("/api/v1/client/search", query_string={"q": typed})
        assert answer.status_code == 200, (typed, answer.get_json())
    local = api_as("manager").get("/api/v1/client/search", query_string={"q": "660-18-12"})
    assert [item["id"] for item in local.get_json()["result"]] == [clients["green"]]


def test_normalize_phone_reads_russian_numbers():
    assert normalize_phone("8 (916) 123-45-67") == "+79161234567"
    assert normalize_phone("+1 650 253 0000") == "+16502530000"
    assert normalize_phone("") == ""


def test_the_clients_list_contains_filters_use_the_same_indexes(client_as, clients):
    manager = client_as("manager")

    def listed(query: str) -> bool:
        page = manager.get(f"/clientview/list/?{query}").get_data(as_text=True)
        return f"/clientview/show/{clients['green']}" in page

    assert listed("_flt_1_name=зеленый")
    assert listed("_flt_1_phone=660-18-12")
    assert listed("_flt_1_email=bereg.ru")
    assert not listed("_flt_1_name=дальний")
    assert not listed("_flt_1_phone=111-11-11")


def test_the_api_contains_filter_too(api_as, clients):
    import json

    query = json.dumps({"filters": [{"col": "name", "opr": "ct", "value": "берег"}]})
    answer = api_as("manager").get(f"/api/v1/client/?q={query}")
    assert answer.status_code == 200, answer.get_json()
    assert [row["id"] for row in answer.get_json()["result"]] == [clients["green"]]
