"""Owner, audit and read-only columns cannot be written through the API or a form."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.api import RESOURCES
from app.models import SEARCH_SHADOWS, Client, Interest, Stage
from tests.factories import CLIENT, FACTORIES, INTEREST, STAGE
from tests.helpers import form_errors, text_of

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


def forged(dbx, field):
    value = FORBIDDEN[field]
    return dbx.user_id(value) if value == "supervisor" else value


@pytest.mark.parametrize("field", [*FORBIDDEN, "version"])
@pytest.mark.parametrize("name,model,factory", CASES, ids=[c[0] for c in CASES])
def test_api_post_refuses_protected_columns(api, dbx, name, model, factory, field):
    deps = factory.deps(dbx)
    before = dbx.count(model)
    body = factory.json(deps, 1)
    body[field] = 7 if field == "version" else forged(dbx, field)
    response = api.post(f"/api/v1/{name}/", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["message"]
    assert dbx.count(model) == before


@pytest.mark.parametrize("field", list(FORBIDDEN))
@pytest.mark.parametrize("name,model,factory", CASES, ids=[c[0] for c in CASES])
def test_api_put_refuses_protected_columns(api, dbx, name, model, factory, field):
    pk = factory.create(dbx, n=1)
    before = dbx.get(model, pk)
    edit_field, value = factory.edit
    response = api.put(f"/api/v1/{name}/{pk}", json={edit_field: value,
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


def test_form_ignores_protected_columns(app, admin_client, dbx):
    deps = CLIENT.deps(dbx)
    supervisor = dbx.user_id("supervisor")
    data = {**CLIENT.form(deps, 1), "id": "4242", "created_by_fk": str(supervisor),
            "changed_by_fk": str(supervisor), "created_on": "2001-01-01 00:00:00",
            "version": "9", "abc_class": "A", "name_search": "forged"}
    response = admin_client.post("/clientview/add", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    [client] = dbx.all(select(Client))
    assert client.id != 4242
    assert client.created_by_fk == client.changed_by_fk == dbx.user_id("admin")
    assert client.created_on > dt.datetime(2020, 1, 1)
    assert client.version == 1
    assert client.abc_class is None
    shadow, normalise = SEARCH_SHADOWS[Client]["name"]
    assert getattr(client, shadow) == normalise("ООО Ромашка 1")

    # And on edit: the version is a check, the others are ignored.
    data.update(version="1", name="Renamed")
    response = admin_client.post(f"/clientview/edit/{client.id}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    saved = dbx.get(Client, client.id)
    assert saved.name == "Renamed"
    assert saved.created_by_fk == dbx.user_id("admin")
    assert saved.created_on == client.created_on
    assert saved.version == 2
    assert saved.abc_class is None
