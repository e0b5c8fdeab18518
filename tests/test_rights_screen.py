"""The rights matrix screen (/rights/<role id>): who reaches it, what it refuses, and that a
saved matrix changes Flask-AppBuilder's menus and screen permissions too."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import RoleRight
from app.services.access import ALL, NONE, OWN
from app.services.rights import BUILTIN_ROLES
from tests.access_rules import ANONYMOUS
from tests.helpers import assert_login_redirect, page_text, text_of, tr


def role_id(app, name: str) -> int:
    with app.app_context():
        return app.appbuilder.sm.find_role(name).id


def stored_matrix(dbx, role: int) -> set[tuple[str, str, int]]:
    with dbx.session() as s:
        return set(s.execute(select(RoleRight.entity, RoleRight.action, RoleRight.scope)
                             .where(RoleRight.role_id == role)).tuples())


def fab_permissions(app, name: str) -> set[tuple[str, str]]:
    from app.database import db

    with app.app_context():
        role = app.appbuilder.sm.find_role(name)
        result = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        db.session.remove()
        return result


def matrix_form(role: str, **changes: int) -> dict:
    """The screen's form: a built-in matrix with some cells changed (entity_action=scope)."""
    matrix = dict(BUILTIN_ROLES[role])
    for cell, scope in changes.items():
        entity, action = cell.split("_", 1)
        matrix[(entity, action)] = scope
    return {f"{entity}.{action}": str(scope) for (entity, action), scope in matrix.items()}


@pytest.mark.parametrize("login", [ANONYMOUS, "supervisor", "manager", "manager_b",
                                   "readonly"])
def test_only_administrators_reach_the_screen(app, dbx, client_as, anon_client, login):
    manager_role = role_id(app, "Manager")
    before = stored_matrix(dbx, manager_role)
    browser = anon_client if login == ANONYMOUS else client_as(login)
    responses = [browser.get("/rights/"), browser.get(f"/rights/{manager_role}"),
                 browser.post(f"/rights/{manager_role}",
                              data=matrix_form("Manager", client_read=ALL))]
    for response in responses:
        if login == ANONYMOUS:
            assert_login_redirect(response)
        else:
            assert response.status_code == 403
    assert stored_matrix(dbx, manager_role) == before


def test_the_administrator_reaches_every_role(app, admin_client):
    page = text_of(admin_client.get("/rights/"))
    for name in ("Admin", *BUILTIN_ROLES):
        assert f"/rights/{role_id(app, name)}" in page
        assert admin_client.get(f"/rights/{role_id(app, name)}").status_code == 200


def test_the_administrator_role_is_read_only(app, dbx, admin_client):
    admin_role = role_id(app, "Admin")
    permissions = fab_permissions(app, "Admin")
    response = admin_client.get(f"/rights/{admin_role}")
    page = text_of(response)
    assert response.status_code == 200
    assert tr(app, "The Administrator role has every right; it cannot be changed.") in \
        page_text(response)
    assert 'type="submit"' not in page.split('class="crm-rights"', 1)[1]
    assert page.count("disabled") >= len(BUILTIN_ROLES["Read-only"])

    response = admin_client.post(f"/rights/{admin_role}",
                                 data=matrix_form("Manager", client_read=NONE))
    assert response.status_code == 200
    assert stored_matrix(dbx, admin_role) == set()
    assert fab_permissions(app, "Admin") == permissions


@pytest.mark.parametrize("cell,value", [("product.read", str(OWN)), ("client.read", "9"),
                                        ("client.read", "all")])
def test_an_invalid_cell_changes_nothing(app, dbx, admin_client, cell, value):
    manager_role = role_id(app, "Manager")
    before = stored_matrix(dbx, manager_role)
    permissions = fab_permissions(app, "Manager")
    data = {**matrix_form("Manager", client_read=ALL), cell: value}
    response = admin_client.post(f"/rights/{manager_role}", data=data)
    assert response.status_code == 200
    assert 'class="alert alert-danger"' in text_of(response)
    if cell == "product.read":
        assert tr(app, "%(entity)s have no responsible person: choose None or All.",
                  entity=tr(app, "Products")) in page_text(response)
    assert stored_matrix(dbx, manager_role) == before
    assert fab_permissions(app, "Manager") == permissions


def test_a_saved_matrix_changes_menus_and_screens(app, dbx, admin_client, client_as, api_as):
    manager_role = role_id(app, "Manager")
    manager = client_as("manager")
    assert 'href="/clientview/list/"' in text_of(manager.get("/"))
    assert manager.get("/clientview/list/").status_code == 200

    response = admin_client.post(f"/rights/{manager_role}",
                                 data=matrix_form("Manager", client_read=NONE))
    assert response.status_code == 302
    assert ("client", "read", OWN) not in stored_matrix(dbx, manager_role)
    assert ("can_list", "ClientView") not in fab_permissions(app, "Manager")
    assert 'href="/clientview/list/"' not in text_of(manager.get("/"))
    assert manager.get("/clientview/list/").status_code == 403
    assert api_as("manager").get("/api/v1/client/").status_code == 403
    # The rest of the Manager's screens are as they were.
    assert 'href="/contactview/list/"' in text_of(manager.get("/"))
    assert manager.get("/contactview/list/").status_code == 200

    response = admin_client.post(f"/rights/{manager_role}", data=matrix_form("Manager"))
    assert response.status_code == 302
    assert stored_matrix(dbx, manager_role) == {
        (entity, action, scope) for (entity, action), scope in BUILTIN_ROLES["Manager"].items()}
    assert 'href="/clientview/list/"' in text_of(manager.get("/"))
    assert manager.get("/clientview/list/").status_code == 200
