"""The navbar's quick search (app.screens.search): the box on every page of a user who may
read clients, the dropdown's matches as JSON, the page of all results, a single match
opening the card, and only the clients the access filter gives."""

from __future__ import annotations

from factories import CLIENT, INTEREST, to_object
from helpers import text_of

from app.models import Client


def _client(dbx, n: int, name: str, owner: str = "manager", **values) -> int:
    deps = {**CLIENT.deps(dbx), "user": dbx.user_id(owner)}
    base = {**CLIENT.values(deps, n), "name": name, **values}
    return dbx.add(lambda s: to_object(s, Client, base), user="admin")


def test_every_page_has_the_box(client_as):
    page = text_of(client_as("manager").get("/"))
    assert 'class="navbar-form navbar-left crm-quick-search"' in page
    assert 'action="/search/"' in page and 'data-quick="/search/quick"' in page
    assert "crm/quicksearch.js" in page


def test_the_login_page_has_no_box(app):
    page = text_of(app.test_client().get("/login/"))
    assert "crm-quick-search" not in page


def test_the_dropdown_lists_the_first_matches(client_as, dbx):
    first = _client(dbx, 11, "ООО «Квазар Трейд»")
    _client(dbx, 12, "АО Квазар")
    answer = client_as("manager").get("/search/quick?q=квазар").get_json()
    names = [found["name"] for found in answer["result"]]
    assert sorted(names) == ["АО Квазар", "ООО «Квазар Трейд»"]
    chosen = next(found for found in answer["result"] if found["name"].startswith("ООО"))
    assert chosen["url"] == f"/clientview/show/{first}"
    assert "client11@example.com" in chosen["details"] and chosen["open"] == 0
    assert chosen["details"].startswith(dbx.get(Client, first).inn)
    assert client_as("manager").get("/search/quick?q=к").get_json() == {"result": []}


def test_a_match_names_its_open_interests(client_as, dbx, api_as):
    pk = _client(dbx, 18, "ООО Интересный")
    deps = {**INTEREST.deps(dbx), "client": pk}
    body = INTEREST.json(deps, 1)
    assert api_as("manager").post("/api/v1/interest/", json=body).status_code == 201
    [found] = client_as("manager").get("/search/quick?q=интересный").get_json()["result"]
    assert found["open"] == 1
    assert found["details"].endswith("1 открытый интерес")  # in the user's language


def test_a_phone_in_any_format_finds_the_client(client_as, dbx):
    pk = _client(dbx, 13, "ИП Телефонов", phone="+7 (495) 660-18-12")
    for typed in ("84956601812", "8 495 660 18 12", "660-18-12"):
        answer = client_as("manager").get(f"/search/quick?q={typed}").get_json()
        assert [found["url"] for found in answer["result"]] == [f"/clientview/show/{pk}"], typed


def test_one_match_opens_the_card_many_the_list(client_as, dbx):
    one = _client(dbx, 14, "ООО Единственный")
    _client(dbx, 15, "ООО Двойник Альфа")
    _client(dbx, 16, "ООО Двойник Бета")
    manager = client_as("manager")
    response = manager.get("/search/?q=единственный")
    assert response.status_code == 302 and response.location.endswith(f"/clientview/show/{one}")
    page = text_of(manager.get("/search/?q=двойник"))
    assert "ООО Двойник Альфа" in page and "ООО Двойник Бета" in page
    assert "crm-search-new-client" in page
    nothing = text_of(manager.get("/search/?q=несуществующий"))
    assert "crm-search-nothing" in nothing


def test_only_readable_clients_are_found(client_as, dbx):
    _client(dbx, 17, "ООО Чужой Маяк", owner="manager_b")
    assert client_as("manager").get("/search/quick?q=маяк").get_json() == {"result": []}
    names = [f["name"] for f in client_as("manager_b").get("/search/quick?q=маяк")
             .get_json()["result"]]
    assert names == ["ООО Чужой Маяк"]


def test_a_long_or_odd_term_is_answered(client_as):
    manager = client_as("manager")
    assert manager.get("/search/quick?q=" + "я" * 5000).status_code == 200
    assert manager.get("/search/?q=%27%22%3C%3E").status_code == 200


def test_the_search_needs_a_login(app):
    response = app.test_client().get("/search/quick?q=квазар")
    assert response.status_code in (302, 401)
