"""Owner, audit and read-only columns cannot be written through the API or a form.

The owner of a record (its responsible, an inquiry's manager) is chosen only with the
reassign right and only among the users that right covers: a manager without it stays the
owner whatever a form posts (the field is read-only for them), and the API refuses another
owner with 403; a supervisor assigns within their subtree and not outside it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.api import RESOURCES
from app.entities import SEARCH_SHADOWS
from app.models import Client, Interest, Stage
from tests.access_rules import OWNED_MODELS, OWNER_COLUMN, build_company, deps_for
from tests.factories import CLIENT, FACTORIES, INTEREST, STAGE
from tests.helpers import form_errors, form_fields, text_of

FORBIDDEN = {
    "id": 4242,
    "created_by_fk": "supervisor",
    "changed_by_fk": "supervisor",
    "created_on": "2001-01-01T00:00:00",
    "changed_on": "2001-01-01T00:00:00",
    "name_search": "forged",
}
# Per resource: columns shown by the API that only the application writes.
READ_ONLY_COLUMNS = {
    "client": {"abc_class": "A", "xyz_class": "Z"},
    "interest": {"closed_at": "2001-01-01T00:00:00", "closed_by": 1, "lost_reason": 1},
    "stage": {"is_system": True},
    "dictionary": {"is_system": True},
}
CASES = [("client", Client, CLIENT), ("interest", Interest, INTEREST), ("stage", Stage, STAGE)]
# Who tries: the administrator everywhere; a manager where they may write (owned records).
USER_CASES = [pytest.param("admin", *case, id=f"admin-{case[0]}") for case in CASES] + [
    pytest.param("manager", *case, id=f"manager-{case[0]}") for case in CASES
    if case[1] in OWNER_COLUMN]


def forged(dbx, field):
    value = FORBIDDEN[field]
    return dbx.user_id(value) if value == "supervisor" else value


@pytest.mark.parametrize("field", [*FORBIDDEN, "version"])
@pytest.mark.parametrize("login,name,model,factory", USER_CASES)
def test_api_post_refuses_protected_columns(api_as, dbx, login, name, model, factory, field):
    deps = factory.deps(dbx)
    before = dbx.count(model)
    body = factory.json(deps, 1)
    body[field] = 7 if field == "version" else forged(dbx, field)
    response = api_as(login).post(f"/api/v1/{name}/", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["message"]
    assert dbx.count(model) == before


@pytest.mark.parametrize("field", list(FORBIDDEN))
@pytest.mark.parametrize("login,name,model,factory", USER_CASES)
def test_api_put_refuses_protected_columns(api_as, dbx, login, name, model, factory, field):
    pk = factory.create(dbx, n=1)
    before = dbx.get(model, pk)
    edit_field, value = factory.edit
    response = api_as(login).put(f"/api/v1/{name}/{pk}", json={edit_field: value,
                                                               field: forged(dbx, field)})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["message"]
    after = dbx.get(model, pk)
    for column in ("id", "created_by_fk", "changed_by_fk", "created_on", "changed_on",
                   "version", edit_field):
        assert getattr(after, column, None) == getattr(before, column, None)


@pytest.mark.parametrize("name", list(READ_ONLY_COLUMNS))
def test_api_refuses_columns_it_only_shows(api, dbx, name):
    model = next(r.datamodel.obj for r in RESOURCES if r.resource_name == name)
    factory = FACTORIES[model]
    pk = factory.create(dbx, n=1)
    before = dbx.count(model)
    for field, value in READ_ONLY_COLUMNS[name].items():
        response = api.post(f"/api/v1/{name}/", json={**factory.json(factory.deps(dbx), 2),
                                                      field: value})
        assert response.status_code == 422, (field, response.get_json())
        response = api.put(f"/api/v1/{name}/{pk}", json={field: value})
        assert response.status_code == 422, (field, response.get_json())
    assert dbx.count(model) == before
    saved = dbx.get(model, pk)
    for field in READ_ONLY_COLUMNS[name]:
        column = f"{field}_id" if hasattr(model, f"{field}_id") else field
        assert getattr(saved, column) in (None, False)


@pytest.mark.parametrize("login", ["admin", "manager"])
def test_form_ignores_protected_columns(app, client_as, dbx, login):
    deps = CLIENT.deps(dbx)
    supervisor = dbx.user_id("supervisor")
    data = {**CLIENT.form(deps, 1), "id": "4242", "created_by_fk": str(supervisor),
            "changed_by_fk": str(supervisor), "created_on": "2001-01-01 00:00:00",
            "version": "9", "abc_class": "A", "name_search": "forged"}
    browser = client_as(login)
    response = browser.post("/clientview/add", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    [client] = dbx.all(select(Client))
    assert client.id != 4242
    assert client.created_by_fk == client.changed_by_fk == dbx.user_id(login)
    assert client.created_on > dt.datetime(2020, 1, 1)
    assert client.version == 1
    assert client.abc_class is None
    shadow, normalise = SEARCH_SHADOWS[Client]["name"]
    assert getattr(client, shadow) == normalise("ООО Ромашка 1")

    # And on edit: the version is a check, the others are ignored.
    data.update(version="1", name="Renamed")
    response = browser.post(f"/clientview/edit/{client.id}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    saved = dbx.get(Client, client.id)
    assert saved.name == "Renamed"
    assert saved.created_by_fk == dbx.user_id(login)
    assert saved.created_on == client.created_on
    assert saved.version == 2
    assert saved.abc_class is None


# --- the owner -----------------------------------------------------------------------------

OWNED_CASES = [pytest.param(model, id=model.__name__) for model in OWNED_MODELS]
# The relation naming the owner in forms and the API.
OWNER_FIELD = {model: column[:-3] for model, column in OWNER_COLUMN.items()}


def _resource(model):
    return next(r for r in RESOURCES if r.datamodel.obj is model)


def _base(model) -> str:
    return f"/{model.__name__.lower()}view"


def _owner(dbx, model, pk):
    return getattr(dbx.get(model, pk), OWNER_COLUMN[model])


def _new_ids(dbx, model, before: set) -> set:
    return set(dbx.all(select(model.id))) - before


@pytest.mark.parametrize("model", OWNED_CASES)
def test_manager_stays_the_owner_whatever_the_form_says(dbx, client_as, model):
    company = build_company(dbx)
    factory = FACTORIES[model]
    deps = deps_for(factory.deps(dbx), company, "manager")
    manager, other = dbx.user_id("manager"), dbx.user_id("manager_b")
    browser = client_as("manager")
    field = OWNER_FIELD[model]

    form = text_of(browser.get(f"{_base(model)}/add"))
    assert field not in form_fields(form), "the owner field is read-only for a manager"

    before = set(dbx.all(select(model.id)))
    response = browser.post(f"{_base(model)}/add", data=factory.form({**deps, "user": other}, 1))
    assert response.status_code == 302, form_errors(text_of(response))
    [pk] = _new_ids(dbx, model, before)
    assert _owner(dbx, model, pk) == manager

    data = {**factory.form({**deps, "user": other}, 2), "version": "1"}
    response = browser.post(f"{_base(model)}/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    saved = dbx.get(model, pk)
    assert getattr(saved, OWNER_COLUMN[model]) == manager
    assert saved.version == 2


@pytest.mark.parametrize("model", OWNED_CASES)
def test_api_refuses_another_owner_from_a_manager(dbx, api_as, model):
    company = build_company(dbx)
    factory = FACTORIES[model]
    deps = deps_for(factory.deps(dbx), company, "manager")
    api = api_as("manager")
    url = f"/api/v1/{_resource(model).resource_name}/"
    field = OWNER_FIELD[model]
    before = set(dbx.all(select(model.id)))
    for other in ("manager_b", "supervisor", "admin"):
        response = api.post(url, json=factory.json({**deps, "user": dbx.user_id(other)}, 1))
        assert response.status_code == 403, (other, response.get_json())
    assert _new_ids(dbx, model, before) == set()

    response = api.post(url, json=factory.json(deps, 2))
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    assert _owner(dbx, model, pk) == dbx.user_id("manager")
    saved = row_of(dbx, model, pk)
    response = api.put(f"{url}{pk}", json={field: dbx.user_id("manager_b")})
    assert response.status_code == 403, response.get_json()
    assert row_of(dbx, model, pk) == saved


@pytest.mark.parametrize("model", OWNED_CASES)
def test_supervisor_assigns_within_the_subtree_only(dbx, api_as, client_as, model):
    company = build_company(dbx)
    factory = FACTORIES[model]
    deps = deps_for(factory.deps(dbx), company, "supervisor")
    api = api_as("supervisor")
    url = f"/api/v1/{_resource(model).resource_name}/"
    field = OWNER_FIELD[model]
    manager, outsider = dbx.user_id("manager"), dbx.user_id("manager_b")

    response = api.post(url, json=factory.json({**deps, "user": manager}, 1))
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    assert _owner(dbx, model, pk) == manager
    before = set(dbx.all(select(model.id)))
    for other in (outsider, dbx.user_id("readonly"), dbx.user_id("admin")):
        response = api.post(url, json=factory.json({**deps, "user": other}, 2))
        assert response.status_code == 403, (other, response.get_json())
    assert _new_ids(dbx, model, before) == set()
    saved = row_of(dbx, model, pk)
    response = api.put(f"{url}{pk}", json={field: outsider})
    assert response.status_code == 403, response.get_json()
    assert row_of(dbx, model, pk) == saved

    # The form offers the subtree's users only; another one is not a valid choice.
    browser = client_as("supervisor")
    form = text_of(browser.get(f"{_base(model)}/add"))
    assert f'value="{outsider}"' not in form.split(f'name="{field}"')[1].split("</select>")[0]
    response = browser.post(f"{_base(model)}/add",
                            data=factory.form({**deps, "user": manager}, 3))
    assert response.status_code == 302, form_errors(text_of(response))
    [added] = _new_ids(dbx, model, before)
    assert _owner(dbx, model, added) == manager
    response = browser.post(f"{_base(model)}/add",
                            data=factory.form({**deps, "user": outsider}, 4))
    assert response.status_code == 200
    assert field in form_errors(text_of(response))
    assert _new_ids(dbx, model, before) == {added}


def row_of(dbx, model, pk) -> dict:
    from tests.access_rules import row_dicts

    return row_dicts(dbx, model, [pk])[pk]
