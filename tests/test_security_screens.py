"""Settings → Users, Settings → Roles and every user's profile: what they show, what their
forms refuse, the Administrator role and the last administrator that stay, the bulk and
single actions that answer 404 instead of 500, and Flask-AppBuilder's internal screens that
are gone from the menu."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models import Client, CrmUser, RoleInfo
from app.services.rights import BUILTIN_ROLES, PERSONAL_PERMISSIONS
from tests.conftest import PASSWORD, ROLE_USERS, login
from tests.factories import CLIENT
from tests.helpers import assert_login_redirect, flashed, form_errors, page_text, text_of, tr

BUILTIN = ("Admin", *BUILTIN_ROLES)
FAB_SCREENS = ["/permissions/list/", "/viewmenus/list/", "/permissionviews/list/",
               "/userstatschartview/chart/", "/groups/list/"]


def role_id(app, name: str) -> int:
    from app.database import db

    with app.app_context():
        pk = app.appbuilder.sm.find_role(name).id
        db.session.remove()
    return pk


def label(app, name: str) -> str:
    from app.services.roles import role_label

    with app.test_request_context("/"):
        return role_label(name)


def description(app, name: str) -> str:
    from app.services.roles import role_description

    with app.test_request_context("/"):
        return role_description(name)


def new_user(app, username: str, role: str = "Manager", **extra) -> int:
    from app.database import db

    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(username=username, first_name=username.title(), last_name="Test",
                           email=f"{username}@test.local", role=sm.find_role(role),
                           password=PASSWORD)
        assert user, username
        for key, value in extra.items():
            setattr(user, key, value)
        db.session.commit()
        pk = user.id
        db.session.remove()
    return pk


def user_form(app, **changes) -> dict:
    form = {"first_name": "Dave", "last_name": "Test", "username": "dave", "active": "y",
            "email": "dave@test.local", "roles": [str(role_id(app, "Manager"))],
            "password": "Strong-Passw0rd", "conf_password": "Strong-Passw0rd"}
    form.update(changes)
    return form


# --- the users list ------------------------------------------------------------------------------


def test_the_users_list_reads_as_words(app, admin_client):
    response = admin_client.get("/users/list/")
    assert response.status_code == 200
    page = text_of(response)
    cells = [re.sub(r"<[^>]+>", "", cell).strip()
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)]
    assert "None" not in cells and "True" not in cells and "False" not in cells
    assert not any(cell.startswith("[") for cell in cells)
    for name in BUILTIN:
        assert label(app, name) in cells, name
    assert tr(app, "Yes") in cells
    # The department is shown: the supervisor's row names Sales.
    row = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S) if ">supervisor<" in r)
    assert ">Sales<" in row.replace("\n", "").replace(" ", "")


def test_the_user_form_offers_no_raw_choices(app, admin_client):
    for url in ("/users/add", f"/users/edit/{login_id(app, 'manager')}"):
        page = text_of(admin_client.get(url))
        options = re.findall(r"<option[^>]*>(.*?)</option>", page, re.S)
        assert "__None" not in [option.strip() for option in options]
        for name in BUILTIN:
            assert label(app, name) in [option.strip() for option in options], (url, name)


def login_id(app, username: str) -> int:
    from app.database import db

    with app.app_context():
        pk = app.appbuilder.sm.find_user(username=username).id
        db.session.remove()
    return pk


# --- the user form -------------------------------------------------------------------------------


@pytest.mark.parametrize("field,value,message", [
    ("username", "ADMIN", "Another user already has this login."),
    ("username", "   ", "This field is required."),
    ("email", "Manager@Test.Local", "Another user already has this e-mail."),
    ("first_name", " ", "This field is required."),
])
def test_the_user_form_refuses_taken_and_blank_values(app, admin_client, dbx, field, value,
                                                      message):
    count = dbx.count(CrmUser)
    response = admin_client.post("/users/add", data=user_form(app, **{field: value}))
    assert response.status_code == 200
    assert form_errors(text_of(response)).get(field) == tr(app, message)
    assert dbx.count(CrmUser) == count


def test_the_user_form_refuses_a_login_another_user_has_on_edit(app, admin_client, dbx):
    pk = new_user(app, "dora")
    form = user_form(app, username="Supervisor", email="dora@test.local")
    form.pop("password"), form.pop("conf_password")
    response = admin_client.post(f"/users/edit/{pk}", data=form)
    assert response.status_code == 200
    assert form_errors(text_of(response)).get("username") == \
        tr(app, "Another user already has this login.")
    # Its own login, in another case, is not "taken".
    response = admin_client.post(f"/users/edit/{pk}", data={**form, "username": "DORA"})
    assert response.status_code == 302, form_errors(text_of(response))
    assert dbx.get(CrmUser, pk).username == "DORA"


def test_a_user_records_refer_to_is_not_deleted(app, admin_client, dbx):
    pk = new_user(app, "dora")
    deps = {**CLIENT.deps(dbx), "user": pk}
    CLIENT.create(dbx, deps, n=1)
    response = admin_client.post(f"/users/delete/{pk}", follow_redirects=True)
    assert response.status_code == 200
    message = flashed(text_of(response))
    assert tr(app, "Clients") in message and "constraint" not in message.lower()
    assert dbx.get(CrmUser, pk) is not None

    unused = new_user(app, "ernie")
    response = admin_client.post(f"/users/delete/{unused}")
    assert response.status_code == 302
    assert dbx.get(CrmUser, unused) is None


def test_the_last_administrator_stays(app, admin_client, dbx):
    admin = login_id(app, "admin")
    user = dbx.get(CrmUser, admin)
    form = {"first_name": user.first_name, "last_name": user.last_name or "Test",
            "username": user.username, "email": user.email,
            "roles": [str(role_id(app, "Manager"))], "active": "y"}
    response = admin_client.post(f"/users/edit/{admin}", data=form, follow_redirects=True)
    assert tr(app, "At least one active user must keep the Administrator role: nobody could "
                   "manage users and settings otherwise.") in flashed(text_of(response))
    with dbx.session() as s:
        assert [r.name for r in s.get(CrmUser, admin).roles] == ["Admin"]
    # With a second administrator, the first may step down.
    new_user(app, "boss", role="Admin")
    response = admin_client.post(f"/users/edit/{admin}", data={**form, "roles": [
        str(role_id(app, "Admin")), str(role_id(app, "Manager"))]})
    assert response.status_code == 302


# --- the roles list and form ---------------------------------------------------------------------


def test_the_roles_list_shows_what_each_role_is_for(app, admin_client, client_as, dbx):
    response = admin_client.get("/roles/list/")
    assert response.status_code == 200
    page = page_text(response)
    html = text_of(response)
    for name in BUILTIN:
        assert label(app, name) in page, name
        assert description(app, name) in page, name
        assert f'href="/rights/{role_id(app, name)}"' in html, name
    # Users per role: the test company's users, by their own roles.
    rows = {re.sub(r"<[^>]+>", "", cells[0]).strip(): int(cells[2])
            for cells in (re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
                          for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)) if cells}
    expected = {label(app, name): list(ROLE_USERS.values()).count(name) for name in BUILTIN}
    assert {name: rows[name] for name in expected} == expected
    # Not Flask-AppBuilder's permission names.
    assert "can list" not in page and "can_list" not in page and "menu access" not in page


def test_a_new_role_with_its_description(app, admin_client, dbx):
    response = admin_client.post("/roles/add", data={"name": "Marketing",
                                                     "description": "Campaigns and leads"})
    assert response.status_code == 302
    page = page_text(admin_client.get("/roles/list/"))
    assert "Marketing" in page and "Campaigns and leads" in page
    pk = role_id(app, "Marketing")
    response = admin_client.post(f"/roles/edit/{pk}", data={"name": "Marketing team",
                                                            "description": "Campaigns"})
    assert response.status_code == 302
    assert dbx.get(RoleInfo, pk).description == "Campaigns"
    response = admin_client.post(f"/roles/delete/{pk}")
    assert response.status_code == 302
    assert dbx.get(RoleInfo, pk) is None
    assert "Marketing" not in page_text(admin_client.get("/roles/list/"))


@pytest.mark.parametrize("name,message", [
    ("", "This field is required."),
    ("   ", "This field is required."),
    ("manager", "Another role already has this name."),
    ("x" * 65, "Field cannot be longer than 64 characters."),
])
def test_the_role_form_refuses_bad_names(app, admin_client, dbx, name, message):
    from flask_appbuilder.security.sqla.models import Role

    count = dbx.count(Role)
    response = admin_client.post("/roles/add", data={"name": name, "description": ""})
    assert response.status_code == 200
    errors = form_errors(text_of(response))
    assert errors.get("name"), errors
    if message != "Field cannot be longer than 64 characters.":
        assert errors["name"] == tr(app, message)
    assert dbx.count(Role) == count


def test_a_built_in_role_keeps_its_name(app, admin_client, dbx):
    pk = role_id(app, "Manager")
    response = admin_client.post(f"/roles/edit/{pk}", data={"name": "Sales",
                                                            "description": "Sellers"})
    assert response.status_code == 200
    assert form_errors(text_of(response)).get("name") == tr(
        app, "%(role)s is a built-in role: its name cannot be changed.",
        role=label(app, "Manager"))
    # Its description can be written (and then shown instead of the built-in one).
    response = admin_client.post(f"/roles/edit/{pk}", data={"name": "Manager",
                                                            "description": "Sellers"})
    assert response.status_code == 302
    assert "Sellers" in page_text(admin_client.get("/roles/list/"))


def test_the_administrator_role_cannot_be_changed_or_deleted(app, admin_client, dbx):
    pk = role_id(app, "Admin")
    message = tr(app, "The Administrator role has every right; it cannot be changed.")
    for response in (admin_client.get(f"/roles/edit/{pk}", follow_redirects=True),
                     admin_client.post(f"/roles/edit/{pk}", data={"name": "Boss"},
                                       follow_redirects=True),
                     admin_client.post(f"/roles/delete/{pk}", follow_redirects=True)):
        assert response.status_code == 200
        assert message in flashed(text_of(response))
    assert role_id(app, "Admin") == pk
    assert admin_client.get("/users/list/").status_code == 200


def test_a_role_someone_has_is_not_deleted(app, admin_client, dbx):
    from flask_appbuilder.security.sqla.models import Role

    pk = role_id(app, "Read-only")
    response = admin_client.post(f"/roles/delete/{pk}", follow_redirects=True)
    assert tr(app, "The role is given to %(users)s users and %(departments)s departments; take "
                   "it away from them first.", users=1, departments=0) in \
        flashed(text_of(response))
    assert dbx.get(Role, pk) is not None
    guests = role_id(app, "Public")
    response = admin_client.post(f"/roles/delete/{guests}", follow_redirects=True)
    assert tr(app, "The Guests role is needed by the application; it cannot be deleted.") in \
        flashed(text_of(response))
    assert dbx.get(Role, guests) is not None


# --- bulk and single actions, odd ids ------------------------------------------------------------


@pytest.mark.parametrize("url", ["/users/action_post", "/roles/action_post"])
def test_an_unknown_bulk_action_is_404(app, anon_client, admin_client, url):
    response = anon_client.post(url, data={"action": "nope", "rowid": ["1"]})
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert_login_redirect(response)
    assert admin_client.post(url, data={"action": "nope", "rowid": ["1"]}).status_code == 404
    assert admin_client.post(url, data={}).status_code == 404


def test_single_record_actions_on_a_selection_or_a_missing_user_are_404(app, admin_client,
                                                                         client_as):
    manager = login_id(app, "manager")
    assert admin_client.post("/users/action_post", data={
        "action": "resetpasswords", "rowid": [str(manager)]}).status_code == 404
    assert admin_client.post("/users/action/nope/1").status_code == 404
    assert admin_client.post("/users/action/resetpasswords/99999").status_code == 404
    assert admin_client.post("/users/action/resetpasswords/abc").status_code == 404
    response = admin_client.post(f"/users/action/resetpasswords/{manager}")
    assert response.status_code == 302 and "/resetpassword/form" in response.headers["Location"]
    # A manager may not reset someone else's password.
    assert client_as("manager").post(f"/users/action/resetpasswords/{manager}").status_code \
        == 403


@pytest.mark.parametrize("url", ["/users/show/abc", "/users/edit/abc", "/users/show/99999",
                                 "/roles/edit/abc", "/roles/edit/99999",
                                 "/resetpassword/form?pk=abc", "/resetpassword/form?pk=99999",
                                 "/resetpassword/form"])
def test_odd_ids_are_404(admin_client, url):
    assert admin_client.get(url).status_code == 404
    if "/edit/" in url or "resetpassword" in url:
        data = {"password": "Strong-Passw0rd", "conf_password": "Strong-Passw0rd",
                "name": "X"}
        assert admin_client.post(url, data=data).status_code == 404


def test_odd_deletes_are_404(admin_client):
    for url in ("/users/delete/abc", "/users/delete/99999", "/roles/delete/abc",
                "/roles/delete/99999"):
        assert admin_client.post(url).status_code == 404, url


# --- every user's profile ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Supervisor", "Manager", "Read-only"])
def test_everyone_sees_their_profile_and_changes_their_password(app, role):
    pk = new_user(app, "pat", role=role)
    client = login(app.test_client(), "pat")
    response = client.get("/users/userinfo/")
    assert response.status_code == 200
    page = text_of(response)
    assert ">pat<" in page.replace(" ", "").replace("\n", "")
    assert f"/users/action/resetmypassword/{pk}" in page
    response = client.post(f"/users/action/resetmypassword/{pk}")
    assert response.status_code == 302 and "/resetmypassword/form" in response.headers["Location"]
    assert client.get("/resetmypassword/form").status_code == 200
    response = client.post("/resetmypassword/form", data={
        "password": "Another-Passw0rd", "conf_password": "Another-Passw0rd"})
    assert response.status_code == 302
    login(app.test_client(), "pat", "Another-Passw0rd")
    # The name can be changed on the profile too; nothing else of the security screens.
    assert client.get("/userinfoeditview/form").status_code == 200
    for url in ("/users/list/", "/roles/list/", f"/resetpassword/form?pk={pk}",
                f"/users/edit/{pk}"):
        assert client.get(url).status_code == 403, url


def test_the_personal_permissions_are_all_there_is(app):
    """The built-in roles other than the Administrator get FAB's profile permissions and no
    other permission of its security screens and API."""
    from app.database import db

    security_views = {"CrmUserDBModelView", "RoleModelView", "ResetPasswordView",
                      "UserInfoEditView", "ResetMyPasswordView", "User", "Role", "Permission",
                      "ViewMenu", "PermissionViewMenu", "RoleRights", "SecurityApi"}
    with app.app_context():
        sm = app.appbuilder.sm
        for permission, view in PERSONAL_PERMISSIONS:
            assert sm.find_permission_view_menu(permission, view) is not None, (permission, view)
        for name in BUILTIN_ROLES:
            given = {(pv.permission.name, pv.view_menu.name)
                     for pv in sm.find_role(name).permissions
                     if pv.view_menu.name in security_views}
            assert given == {pv for pv in PERSONAL_PERMISSIONS if pv[1] in security_views}, name
        db.session.remove()


# --- the menu ------------------------------------------------------------------------------------


def test_the_menu_has_the_crms_screens_not_fabs(app, admin_client, client_as):
    page = text_of(admin_client.get("/"))
    for url in ("/users/list/", "/roles/list/", "/rights/"):
        assert f'href="{url}"' in page, url
    for url in FAB_SCREENS:
        assert url not in page, url
        assert admin_client.get(url).status_code == 404, url
    manager_page = text_of(client_as("manager").get("/"))
    assert 'href="/users/list/"' not in manager_page
    assert "/users/userinfo/" in manager_page


def test_the_removed_screens_left_no_permissions(app):
    from flask_appbuilder.security.sqla.models import ViewMenu

    from app.database import db

    with app.app_context():
        names = set(db.session.execute(select(ViewMenu.name)).scalars())
        db.session.remove()
    for name in ("PermissionModelView", "ViewMenuModelView", "PermissionViewModelView",
                 "UserStatsChartView", "UserGroupModelView", "Group", "List Groups",
                 "Security"):
        assert name not in names, name


# --- the role names in the user's language -------------------------------------------------------


def test_the_built_in_roles_are_translated(app):
    from flask_babel import force_locale

    from app.services.roles import role_label

    with app.test_request_context("/"):
        with force_locale("ru"):
            russian = {name: role_label(name) for name in (*BUILTIN, "Public")}
        with force_locale("en"):
            english = {name: role_label(name) for name in (*BUILTIN, "Public")}
        assert role_label("Marketing") == "Marketing"
    assert english == {"Admin": "Administrator", "Supervisor": "Supervisor",
                       "Manager": "Manager", "Read-only": "Read-only", "Public": "Guests"}
    assert all(russian[name] != english[name] for name in russian), russian


def test_the_rights_screen_and_the_readers_show_the_translated_names(app, admin_client, dbx,
                                                                      client_as):
    page = page_text(admin_client.get("/rights/"))
    for name in BUILTIN:
        assert label(app, name) in page
    page = page_text(admin_client.get(f"/rights/{role_id(app, 'Manager')}"))
    assert tr(app, "Rights of %(role)s", role=label(app, "Manager")) in page
    pk = CLIENT.create(dbx, n=1)
    page = text_of(client_as("manager").get(f"/clientview/show/{pk}"))
    readers = page.split("crm-readers", 1)[1].split("</table>", 1)[0]
    assert f"<td>{label(app, 'Manager')}</td>" in readers
    assert f"<td>{label(app, 'Admin')}</td>" in readers
    assert dbx.count(Client) == 1
