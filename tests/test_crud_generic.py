"""Every registered screen and REST resource, exercised the same way.

The classes walk `app.views.CRUD_SCREENS` and `app.api.RESOURCES`; the valid data of each entity
comes from tests/factories.py. A new entity is covered by adding its factory there.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.api import RESOURCES
from app.models import ChangeLog
from app.views import CRUD_SCREENS
from tests.factories import CLIENT, FACTORIES, READ_ONLY
from tests.helpers import (
    api_base,
    assert_login_redirect,
    form_errors,
    route_of,
    text_of,
)

SCREEN_CASES = [pytest.param(view, id=view.__name__) for view in CRUD_SCREENS]
API_CASES = [pytest.param(resource, id=resource.resource_name) for resource in RESOURCES]
WRITABLE_SCREENS = [p for p in SCREEN_CASES if p.values[0].datamodel.obj not in READ_ONLY]
WRITABLE_APIS = [p for p in API_CASES if p.values[0].datamodel.obj not in READ_ONLY]
READ_ONLY_SCREENS = [p for p in SCREEN_CASES if p.values[0].datamodel.obj in READ_ONLY]
READ_ONLY_APIS = [p for p in API_CASES if p.values[0].datamodel.obj in READ_ONLY]


def test_every_entity_has_a_factory():
    models = {v.datamodel.obj for v in CRUD_SCREENS} | {r.datamodel.obj for r in RESOURCES}
    missing = {m.__name__ for m in models} - {m.__name__ for m in FACTORIES} \
        - {m.__name__ for m in READ_ONLY}
    assert not missing, f"add a factory in tests/factories.py for {sorted(missing)}"


def make_record(dbx, model, n=1) -> int:
    """A saved record of `model`; for the change log, a row written by saving a client."""
    if model is ChangeLog:
        CLIENT.create(dbx, n=n)
        return dbx.scalar(select(ChangeLog.id).order_by(ChangeLog.id.desc()).limit(1))
    return FACTORIES[model].create(dbx, n=n)


def version_of(dbx, model, pk):
    obj = dbx.get(model, pk)
    return getattr(obj, "version", None)


class TestScreens:
    """list, show, add, edit, delete on every generated screen, as the administrator."""

    @pytest.mark.parametrize("view", SCREEN_CASES)
    def test_list(self, app, admin_client, dbx, view):
        model = view.datamodel.obj
        pks = [make_record(dbx, model, n) for n in (1, 2)]
        response = admin_client.get(f"{route_of(app, view)}/list/")
        assert response.status_code == 200
        body = text_of(response)
        for pk in pks:
            assert f"/show/{pk}" in body

    @pytest.mark.parametrize("view", SCREEN_CASES)
    def test_show(self, app, admin_client, dbx, view):
        model = view.datamodel.obj
        pk = make_record(dbx, model)
        response = admin_client.get(f"{route_of(app, view)}/show/{pk}")
        assert response.status_code == 200
        if model not in READ_ONLY:
            factory = FACTORIES[model]
            shown = dbx.get(model, pk)
            assert str(getattr(shown, factory.key)) in text_of(response) or \
                factory.key == "quantity"

    @pytest.mark.parametrize("view", WRITABLE_SCREENS)
    def test_add(self, app, admin_client, dbx, view):
        model = view.datamodel.obj
        factory = FACTORIES[model]
        deps = factory.deps(dbx)
        base = route_of(app, view)
        assert admin_client.get(f"{base}/add").status_code == 200
        before = dbx.count(model)
        response = admin_client.post(f"{base}/add", data=factory.form(deps, 5))
        body = text_of(response)
        assert response.status_code == 302, form_errors(body) or body[:3000]
        assert dbx.count(model) == before + 1
        key = getattr(model, factory.key)
        assert dbx.count(model, key == factory.key_value(deps, 5)) == 1
        created = dbx.all(select(model).order_by(model.id.desc()).limit(1))[0]
        assert created.created_by_fk == dbx.user_id("admin")

    @pytest.mark.parametrize("view", WRITABLE_SCREENS)
    def test_edit(self, app, admin_client, dbx, view):
        model = view.datamodel.obj
        factory = FACTORIES[model]
        deps = factory.deps(dbx)
        pk = factory.create(dbx, deps, n=3)
        base = route_of(app, view)
        assert admin_client.get(f"{base}/edit/{pk}").status_code == 200
        field, value = factory.edit
        data = factory.form(deps, 3)
        data[field] = value
        version = version_of(dbx, model, pk)
        if version is not None:
            data["version"] = str(version)
        response = admin_client.post(f"{base}/edit/{pk}", data=data)
        assert response.status_code == 302, form_errors(text_of(response)) or \
            text_of(response)[:3000]
        saved = dbx.get(model, pk)
        assert str(getattr(saved, field)).rstrip("0").rstrip(".") == value
        assert saved.changed_by_fk == dbx.user_id("admin")
        if version is not None:
            assert saved.version == version + 1

    @pytest.mark.parametrize("view", WRITABLE_SCREENS)
    def test_delete(self, app, admin_client, dbx, view):
        model = view.datamodel.obj
        pk = make_record(dbx, model)
        before = dbx.count(model)
        response = admin_client.post(f"{route_of(app, view)}/delete/{pk}")
        assert response.status_code == 302
        assert dbx.get(model, pk) is None
        assert dbx.count(model) == before - 1

    @pytest.mark.parametrize("view", SCREEN_CASES)
    def test_anonymous_is_sent_to_login(self, app, anon_client, dbx, view):
        model = view.datamodel.obj
        pk = make_record(dbx, model)
        base = route_of(app, view)
        assert_login_redirect(anon_client.get(f"{base}/list/"))
        assert_login_redirect(anon_client.get(f"{base}/show/{pk}"))
        if model in READ_ONLY:
            return
        assert_login_redirect(anon_client.get(f"{base}/add"))
        assert_login_redirect(anon_client.get(f"{base}/edit/{pk}"))
        before = dbx.count(model)
        assert_login_redirect(anon_client.post(f"{base}/add",
                                               data=FACTORIES[model].form(
                                                   FACTORIES[model].deps(dbx), 7)))
        assert_login_redirect(anon_client.post(f"{base}/delete/{pk}"))
        assert dbx.count(model) == before + 0
        assert dbx.get(model, pk) is not None

    @pytest.mark.parametrize("view", READ_ONLY_SCREENS)
    def test_read_only_screen_cannot_change(self, app, admin_client, dbx, view):
        model = view.datamodel.obj
        pk = make_record(dbx, model)
        before = dbx.count(model)
        base = route_of(app, view)
        for method, url in (("get", f"{base}/add"), ("post", f"{base}/add"),
                            ("get", f"{base}/edit/{pk}"), ("post", f"{base}/edit/{pk}"),
                            ("post", f"{base}/delete/{pk}")):
            response = getattr(admin_client, method)(url, data={"entity": "x"})
            # No such page, or FAB refuses: access denied sends the user back.
            assert response.status_code in (302, 403, 404, 405), (method, url)
        assert dbx.count(model) == before
        assert dbx.get(model, pk) is not None

    @pytest.mark.parametrize("view", WRITABLE_SCREENS)
    def test_read_only_role_cannot_change(self, app, readonly_client, dbx, view):
        model = view.datamodel.obj
        factory = FACTORIES[model]
        deps = factory.deps(dbx)
        pk = factory.create(dbx, deps, n=3)
        base = route_of(app, view)
        before = dbx.count(model)
        readonly_client.post(f"{base}/add", data=factory.form(deps, 8))
        field, value = factory.edit
        readonly_client.post(f"{base}/edit/{pk}", data={**factory.form(deps, 3), field: value})
        readonly_client.post(f"{base}/delete/{pk}")
        assert dbx.count(model) == before
        assert str(getattr(dbx.get(model, pk), field)) != value


class TestApi:
    """list, show, add, edit, delete on every REST resource, as the administrator."""

    @pytest.mark.parametrize("resource", API_CASES)
    def test_list(self, api, dbx, resource):
        model = resource.datamodel.obj
        pks = [make_record(dbx, model, n) for n in (1, 2)]
        response = api.get(f"{api_base(resource)}/")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(pks) <= set(body["ids"])
        assert body["count"] >= 2

    @pytest.mark.parametrize("resource", API_CASES)
    def test_show(self, api, dbx, resource):
        model = resource.datamodel.obj
        pk = make_record(dbx, model)
        response = api.get(f"{api_base(resource)}/{pk}")
        assert response.status_code == 200, response.get_json()
        result = response.get_json()["result"]
        if model not in READ_ONLY:
            factory = FACTORIES[model]
            assert str(result[factory.key]).rstrip("0").rstrip(".") == \
                str(getattr(dbx.get(model, pk), factory.key)).rstrip("0").rstrip(".")
        assert api.get(f"{api_base(resource)}/{pk + 100000}").status_code == 404

    @pytest.mark.parametrize("resource", WRITABLE_APIS)
    def test_post(self, api, dbx, resource):
        model = resource.datamodel.obj
        factory = FACTORIES[model]
        deps = factory.deps(dbx)
        before = dbx.count(model)
        response = api.post(f"{api_base(resource)}/", json=factory.json(deps, 5))
        assert response.status_code == 201, response.get_json()
        pk = response.get_json()["id"]
        assert dbx.count(model) == before + 1
        created = dbx.get(model, pk)
        assert str(getattr(created, factory.key)) == str(factory.key_value(deps, 5))
        assert created.created_by_fk == dbx.user_id("admin")

    @pytest.mark.parametrize("resource", WRITABLE_APIS)
    def test_put(self, api, dbx, resource):
        model = resource.datamodel.obj
        factory = FACTORIES[model]
        pk = factory.create(dbx, n=3)
        field, value = factory.edit
        response = api.put(f"{api_base(resource)}/{pk}", json={field: value})
        assert response.status_code == 200, response.get_json()
        saved = dbx.get(model, pk)
        assert str(getattr(saved, field)).rstrip("0").rstrip(".") == value
        assert saved.changed_by_fk == dbx.user_id("admin")

    @pytest.mark.parametrize("resource", WRITABLE_APIS)
    def test_delete(self, api, dbx, resource):
        model = resource.datamodel.obj
        pk = make_record(dbx, model)
        response = api.delete(f"{api_base(resource)}/{pk}")
        assert response.status_code == 200, response.get_json()
        assert dbx.get(model, pk) is None
        assert api.delete(f"{api_base(resource)}/{pk}").status_code == 404

    @pytest.mark.parametrize("resource", API_CASES)
    def test_anonymous_gets_401(self, anon_api, dbx, resource):
        model = resource.datamodel.obj
        pk = make_record(dbx, model)
        base = api_base(resource)
        assert anon_api.get(f"{base}/").status_code == 401
        assert anon_api.get(f"{base}/{pk}").status_code == 401
        before = dbx.count(model)
        # A read-only resource has no write methods at all: FAB refuses them before login.
        refused = (401,) if model not in READ_ONLY else (401, 403, 405)
        body = FACTORIES[model].json(FACTORIES[model].deps(dbx), 7) \
            if model not in READ_ONLY else {}
        assert anon_api.post(f"{base}/", json=body).status_code in refused
        assert anon_api.put(f"{base}/{pk}", json={"name": "x"}).status_code in refused
        assert anon_api.delete(f"{base}/{pk}").status_code in refused
        assert dbx.count(model) == before
        assert dbx.get(model, pk) is not None

    @pytest.mark.parametrize("resource", READ_ONLY_APIS)
    def test_read_only_resource_cannot_change(self, api, dbx, resource):
        model = resource.datamodel.obj
        pk = make_record(dbx, model)
        before = dbx.count(model)
        base = api_base(resource)
        assert api.post(f"{base}/", json={"entity": "Client"}).status_code in (403, 404, 405)
        assert api.put(f"{base}/{pk}", json={"entity": "X"}).status_code in (403, 404, 405)
        assert api.delete(f"{base}/{pk}").status_code in (403, 404, 405)
        assert dbx.count(model) == before
        assert dbx.get(model, pk).entity == "Client"

    @pytest.mark.parametrize("resource", WRITABLE_APIS)
    def test_read_only_role_cannot_change(self, api_as, dbx, resource):
        model = resource.datamodel.obj
        factory = FACTORIES[model]
        deps = factory.deps(dbx)
        pk = factory.create(dbx, deps, n=3)
        api = api_as("readonly")
        base = api_base(resource)
        before = dbx.count(model)
        field, value = factory.edit
        assert api.post(f"{base}/", json=factory.json(deps, 8)).status_code == 403
        assert api.put(f"{base}/{pk}", json={field: value}).status_code == 403
        assert api.delete(f"{base}/{pk}").status_code == 403
        assert dbx.count(model) == before
        assert str(getattr(dbx.get(model, pk), field)) != value
