"""The change log: who changed which record, when, field by field (forms and API alike)."""

from __future__ import annotations

import datetime as dt

import prison as rison
import pytest
from sqlalchemy import select

from app.api import RESOURCES
from app.entities import TRACKED_MODELS
from app.models import ChangeLog, Client, utcnow
from app.views import CRUD_SCREENS
from tests.factories import CLIENT, FACTORIES, dictionary_item, to_json
from tests.helpers import api_base, form_errors, page_text, route_of, text_of

VIEW_OF = {view.datamodel.obj: view for view in CRUD_SCREENS}
API_OF = {resource.datamodel.obj: resource for resource in RESOURCES}
TRACKED = [pytest.param(model, id=model.__name__) for model in TRACKED_MODELS]
# The custom fields' definitions have a resource of their own (tests/test_custom_fields.py).
TRACKED_RESOURCES = [param for param in TRACKED if param.values[0] in API_OF]


def log_rows(dbx, model, pk) -> list[ChangeLog]:
    return dbx.all(select(ChangeLog).where(ChangeLog.entity == model.__name__,
                                           ChangeLog.record_id == pk).order_by(ChangeLog.id))


def assert_recent(moment: dt.datetime) -> None:
    assert abs((utcnow() - moment).total_seconds()) < 120


@pytest.mark.parametrize("model", TRACKED)
def test_form_create_update_delete_are_logged(app, admin_client, dbx, model):
    factory = FACTORIES[model]
    deps = factory.deps(dbx)
    base = route_of(app, VIEW_OF[model])
    admin = dbx.user_id("admin")

    response = admin_client.post(f"{base}/add", data=factory.form(deps, 11))
    assert response.status_code == 302, form_errors(text_of(response))
    key = getattr(model, factory.key)
    pk = dbx.scalar(select(model.id).where(key == factory.key_value(deps, 11)))
    [created] = log_rows(dbx, model, pk)
    assert created.action == "create"
    assert created.user_id == admin
    assert_recent(created.changed_at)
    assert created.changes[factory.key][0] is None
    assert str(created.changes[factory.key][1]) == str(factory.key_value(deps, 11))
    assert "version" not in created.changes and "created_by_fk" not in created.changes

    field, value = factory.edit
    old = getattr(dbx.get(model, pk), field)
    data = {**factory.form(deps, 11), field: value, "version": "1"}
    response = admin_client.post(f"{base}/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    rows = log_rows(dbx, model, pk)
    assert [r.action for r in rows] == ["create", "update"]
    update = rows[1]
    assert update.user_id == admin
    assert_recent(update.changed_at)
    # Only what changed is logged, with the old and the new value.
    assert update.changes == {field: [str(old), value]}

    response = admin_client.post(f"{base}/delete/{pk}")
    assert response.status_code == 302
    rows = log_rows(dbx, model, pk)
    assert [r.action for r in rows] == ["create", "update", "delete"]
    deleted = rows[2]
    assert deleted.user_id == admin
    assert deleted.changes[field] == [value, None]


@pytest.mark.parametrize("model", TRACKED_RESOURCES)
def test_api_create_update_delete_are_logged(dbx, api_as, model):
    factory = FACTORIES[model]
    deps = factory.deps(dbx)
    api = api_as("manager")
    base = api_base(API_OF[model])
    manager = dbx.user_id("manager")

    response = api.post(f"{base}/", json=factory.json(deps, 12))
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    field, value = factory.edit
    old = getattr(dbx.get(model, pk), field)
    response = api.put(f"{base}/{pk}", json={field: value})
    assert response.status_code == 200, response.get_json()
    rows = log_rows(dbx, model, pk)
    assert [r.action for r in rows] == ["create", "update"]
    assert all(r.user_id == manager for r in rows)
    assert rows[1].changes == {field: [str(old), value]}

    # Through the change log resource, filtered by record.
    query = rison.dumps({"filters": [{"col": "entity", "opr": "eq", "value": model.__name__},
                                     {"col": "record_id", "opr": "eq", "value": pk}],
                         "order_column": "id", "order_direction": "asc"})
    response = api_as("supervisor").get(f"/api/v1/changelog/?q={query}")
    assert response.status_code == 200, response.get_json()
    result = response.get_json()["result"]
    assert [r["action"] for r in result] == ["create", "update"]
    assert result[1]["changes"] == {field: [str(old), value]}
    assert result[1]["user_id"] == manager
    assert result[1]["changed_at"]


def test_unchanged_save_writes_no_update(app, admin_client, dbx):
    deps = CLIENT.deps(dbx)
    pk = CLIENT.create(dbx, deps, n=1)
    data = {**CLIENT.form(deps, 1), "version": "1"}
    response = admin_client.post(f"/clientview/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    assert [r.action for r in log_rows(dbx, Client, pk)] == ["create"]


def test_tags_and_relations_are_logged(app, admin_client, dbx):
    deps = CLIENT.deps(dbx)
    pk = CLIENT.create(dbx, deps, n=1)
    hot = dictionary_item(dbx, "tag", "Hot")
    data = {**CLIENT.form(deps, 1), "version": "1", "tags": [str(deps["tag"]), str(hot)],
            "responsible": str(dbx.user_id("supervisor"))}
    response = admin_client.post(f"/clientview/edit/{pk}", data=data)
    assert response.status_code == 302, form_errors(text_of(response))
    # One save is one change log row and one new version.
    assert [r.action for r in log_rows(dbx, Client, pk)] == ["create", "update"]
    assert dbx.get(Client, pk).version == 2
    update = log_rows(dbx, Client, pk)[-1]
    assert update.changes["tags"] == [["VIP"], ["Hot", "VIP"]]
    assert update.changes["responsible_id"] == [dbx.user_id("manager"),
                                                dbx.user_id("supervisor")]


def test_history_is_shown_on_the_record(app, admin_client, dbx):
    deps = CLIENT.deps(dbx)
    pk = CLIENT.create(dbx, deps, n=1, user="manager")
    data = {**CLIENT.form(deps, 1), "version": "1", "name": "ООО Василёк",
            "email": "new@example.com"}
    assert admin_client.post(f"/clientview/edit/{pk}", data=data).status_code == 302
    page = page_text(admin_client.get(f"/clientview/show/{pk}"))
    assert "ООО Ромашка 1 → ООО Василёк" in page
    assert "client1@example.com → new@example.com" in page
    assert "Admin Test" in page     # who changed it
    assert "Manager Test" in page   # who created it
    # The local date and time of the change is shown.
    assert dt.datetime.now().strftime("%Y") in page


def test_change_log_is_read_only_for_everyone(app, dbx, api):
    CLIENT.create(dbx, n=1)
    [row] = dbx.all(select(ChangeLog))
    assert api.put(f"/api/v1/changelog/{row.id}",
                   json={"action": "delete"}).status_code in (403, 405)
    assert api.delete(f"/api/v1/changelog/{row.id}").status_code in (403, 405)
    assert api.post("/api/v1/changelog/", json=to_json({"entity": "Client", "record_id": 1,
                                                        "action": "create"})) \
        .status_code in (403, 405)
    assert dbx.get(ChangeLog, row.id).action == "create"
    assert dbx.count(ChangeLog) == 1


def test_manager_has_no_access_to_the_change_log(app, client_as, api_as, dbx):
    CLIENT.create(dbx, n=1)
    assert api_as("manager").get("/api/v1/changelog/").status_code == 403
    response = client_as("manager").get("/changelogview/list/")
    assert response.status_code == 302 and "/login/" not in response.headers["Location"] \
        or response.status_code == 403
    assert api_as("readonly").get("/api/v1/changelog/").status_code == 200
