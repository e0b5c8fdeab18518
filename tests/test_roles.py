"""The built-in roles at the level of screens and resources (the scopes of records are the
access filter's tests): who may add, change and delete what."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Client, Product
from tests.factories import CLIENT, PRODUCT
from tests.helpers import form_errors, text_of


def test_manager_adds_clients_but_does_not_delete_them(client_as, api_as, dbx):
    manager = client_as("manager")
    deps = {**CLIENT.deps(dbx), "user": dbx.user_id("manager")}
    response = manager.post("/clientview/add", data=CLIENT.form(deps, 1))
    assert response.status_code == 302, form_errors(text_of(response))
    response = api_as("manager").post("/api/v1/client/", json=CLIENT.json(deps, 2))
    assert response.status_code == 201, response.get_json()
    assert dbx.count(Client) == 2
    assert {c.created_by_fk for c in dbx.all(select(Client))} == \
        {dbx.user_id("manager")}
    pk = response.get_json()["id"]
    manager.post(f"/clientview/delete/{pk}")
    assert api_as("manager").delete(f"/api/v1/client/{pk}").status_code == 403
    assert dbx.get(Client, pk) is not None


def test_manager_reads_but_does_not_change_the_price_list(client_as, api_as, dbx):
    deps = PRODUCT.deps(dbx)
    pk = PRODUCT.create(dbx, deps, n=1)
    api = api_as("manager")
    assert api.get(f"/api/v1/product/{pk}").status_code == 200
    assert api.post("/api/v1/product/", json=PRODUCT.json(deps, 2)).status_code == 403
    assert api.put(f"/api/v1/product/{pk}", json={"name": "X"}).status_code == 403
    assert api.delete(f"/api/v1/product/{pk}").status_code == 403
    manager = client_as("manager")
    assert manager.get("/productview/list/").status_code == 200
    manager.post("/productview/add", data=PRODUCT.form(deps, 3))
    manager.post(f"/productview/delete/{pk}")
    assert dbx.count(Product) == 1
    assert dbx.get(Product, pk).name == "Widget 1"


def test_supervisor_reads_the_crm_and_its_history(client_as, api_as, dbx):
    pk = CLIENT.create(dbx, n=1)
    supervisor = client_as("supervisor")
    assert supervisor.get("/clientview/list/").status_code == 200
    assert supervisor.get(f"/clientview/show/{pk}").status_code == 200
    assert api_as("supervisor").get("/api/v1/changelog/").status_code == 200


def test_every_role_logs_in_through_the_api(app, _api_tokens):
    assert set(_api_tokens) == {"admin", "supervisor", "manager", "manager_b", "readonly"}
    assert all(_api_tokens.values())
