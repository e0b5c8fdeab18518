"""R8: a client repeating another's INN and KPP is refused; one repeating a phone or an
e-mail is saved only when confirmed; the other client is offered instead, and one the user
may not see is told only by whose it is. The same through the service, the API and the
form."""

from __future__ import annotations

import pytest
from helpers import text_of

from app.models import Client
from app.services import commands, duplicates
from app.services.actor import acting_as


@pytest.fixture
def existing(dbx):
    mine = dbx.add(Client(kind="company", name="ООО «Первый»", inn="7707083893",
                          kpp="773601001", phone="+7 495 660-18-12", email="first@one.ru",
                          responsible_id=dbx.user_id("manager")), user="manager")
    theirs = dbx.add(Client(kind="company", name="ООО «Чужой»", phone="+7 812 100-20-30",
                            responsible_id=dbx.user_id("manager_b")), user="manager_b")
    return {"mine": mine, "theirs": theirs}


def save(app, dbx, client, *, confirm=False, user="manager"):
    from contextlib import nullcontext

    with app.test_request_context(), acting_as(dbx.user_id(user)):
        with duplicates.confirmed() if confirm else nullcontext():
            commands.create(client)
        return client.id


def test_the_same_inn_and_kpp_is_refused_even_when_confirmed(app, dbx, existing):
    for confirm in (False, True):
        with pytest.raises(duplicates.DuplicateFound) as refused:
            save(app, dbx, Client(kind="company", name="Другое имя", inn="7707083893",
                                  kpp="773601001"), confirm=confirm)
        assert refused.value.code == "duplicate" and not refused.value.confirmable
        assert [m.as_dict() for m in refused.value.matches] == [
            {"id": existing["mine"], "name": "ООО «Первый»", "responsible": "Manager Test",
             "fields": ["inn"]}]
    # Another KPP of the same INN is a branch: not a duplicate.
    assert save(app, dbx, Client(kind="company", name="Филиал", inn="7707083893",
                                 kpp="773602001"))


def test_the_same_phone_or_e_mail_asks_for_confirmation(app, dbx, existing):
    with pytest.raises(duplicates.DuplicateFound) as refused:
        save(app, dbx, Client(kind="person", name="Иван", phone="8 (495) 660 18 12"))
    assert refused.value.confirmable and set(refused.value.errors) == {"phone"}
    with pytest.raises(duplicates.DuplicateFound):
        save(app, dbx, Client(kind="person", name="Иван", email="FIRST@one.ru"))
    assert save(app, dbx, Client(kind="person", name="Иван", phone="84956601812"),
                confirm=True)


def test_a_client_the_user_cannot_see_is_told_only_by_whose_it_is(app, dbx, existing):
    with pytest.raises(duplicates.DuplicateFound) as refused:
        save(app, dbx, Client(kind="company", name="Новый", phone="8 812 100 20 30"))
    (match,) = refused.value.matches
    assert match.as_dict() == {"id": None, "name": None, "responsible": "Manager_b Test",
                               "fields": ["phone"]}
    assert "ООО «Чужой»" not in str(refused.value.errors)


def test_a_change_is_checked_only_when_a_key_changes(app, dbx, existing):
    second = save(app, dbx, Client(kind="company", name="Второй", phone="+7 495 111-22-33"))
    with app.test_request_context(), acting_as(dbx.user_id("manager")):
        from app.database import db

        client = db.session.get(Client, second)
        commands.update(client, lambda c: setattr(c, "name", "Второй, переименован"))
        with pytest.raises(duplicates.DuplicateFound):
            commands.update(client, lambda c: setattr(c, "phone", "+7 495 660-18-12"))


def test_the_api_refuses_with_the_duplicates_and_saves_when_confirmed(api_as, existing):
    body = {"kind": "person", "name": "Иван", "phone": "84956601812"}
    refused = api_as("manager").post("/api/v1/client/", json=body)
    answer = refused.get_json()
    assert refused.status_code == 422 and answer["code"] == "duplicate"
    assert answer["confirmable"] is True
    assert answer["duplicates"][0]["id"] == existing["mine"]
    saved = api_as("manager").post("/api/v1/client/", json={**body, "confirm_duplicates": True})
    assert saved.status_code == 201, saved.get_json()
    same_inn = api_as("manager").post("/api/v1/client/", json={
        "kind": "company", "name": "X", "inn": "7707083893", "kpp": "773601001",
        "confirm_duplicates": True})
    assert same_inn.status_code == 422 and same_inn.get_json()["confirmable"] is False
    pk = saved.get_json()["id"]
    changed = api_as("manager").put(f"/api/v1/client/{pk}", json={"email": "first@one.ru"})
    assert changed.status_code == 422 and changed.get_json()["code"] == "duplicate"
    changed = api_as("manager").put(f"/api/v1/client/{pk}", json={
        "email": "first@one.ru", "confirm_duplicates": True})
    assert changed.status_code == 200, changed.get_json()


def test_the_form_names_the_other_client_and_saves_when_confirmed(client_as, dbx, existing):
    manager = client_as("manager")
    # The box is offered only once there is something to confirm.
    assert 'name="confirm_duplicates"' not in text_of(manager.get("/clientview/add"))
    form = {"kind": "person", "name": "Иван Повтор", "phone": "8 495 660 18 12",
            "responsible": dbx.user_id("manager")}
    page = text_of(manager.post("/clientview/add", data=form))
    assert "ООО «Первый»" in page and 'name="confirm_duplicates"' in page
    assert dbx.count(Client, Client.name == "Иван Повтор") == 0
    saved = manager.post("/clientview/add", data={**form, "confirm_duplicates": "y"})
    assert saved.status_code == 302
    assert dbx.count(Client, Client.name == "Иван Повтор") == 1
