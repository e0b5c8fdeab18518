"""Password complexity of new passwords: at least 10 characters with an upper-case letter, a
lower-case letter and a digit -- on the user form, the password reset forms and the security
API. The passwords the project itself uses comply."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.helpers import form_errors, page_text, text_of, tr

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = ("The password must be at least %(length)s characters long and contain an "
           "upper-case letter, a lower-case letter and a digit.")

WEAK = ["", "Short1a", "alllowercase1", "ALLUPPERCASE1", "NoDigitsHere", "Abcdefgh1"]
STRONG = ["Test-Passw0rd!", "Abcdefghi1", "Пароль-надёжный-7", "ПАРОЛЬ-nadezhny-7"]


def message(app) -> str:
    return tr(app, MESSAGE, length=10)


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused(app, password):
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    from app.web.auth import password_complexity

    with app.test_request_context("/"):
        with pytest.raises(PasswordComplexityValidationError) as error:
            password_complexity(password)
    assert str(error.value) == message(app)


@pytest.mark.parametrize("password", STRONG)
def test_strong_passwords_pass(app, password):
    from app.web.auth import password_complexity

    with app.test_request_context("/"):
        password_complexity(password)


def test_the_message_is_translated(app):
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"):
        with force_locale("ru"):
            russian = gettext(MESSAGE, length=10)
        with force_locale("en"):
            english = gettext(MESSAGE, length=10)
    assert "10" in russian and russian != english
    assert english.startswith("The password must be at least 10 characters")


def test_fab_uses_the_validator(app):
    from app.web.auth import password_complexity

    assert app.config["FAB_PASSWORD_COMPLEXITY_ENABLED"] is True
    assert app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"] is password_complexity


# --- the user form -----------------------------------------------------------------------------


def _user_form(app, password: str) -> dict:
    from app.database import db

    with app.app_context():
        role_id = app.appbuilder.sm.find_role("Manager").id
        db.session.remove()
    return {"first_name": "Dave", "last_name": "Test", "username": "dave", "active": "y",
            "email": "dave@test.local", "roles": [str(role_id)], "password": password,
            "conf_password": password}


def _user_exists(dbx, username: str) -> bool:
    from app.models import CrmUser

    return dbx.scalar(select(CrmUser.id).where(CrmUser.username == username)) is not None


def test_the_user_form_refuses_a_weak_password(app, admin_client, dbx):
    response = admin_client.post("/users/add", data=_user_form(app, "password1"))
    assert response.status_code == 200
    assert form_errors(text_of(response)).get("password") == message(app)
    assert not _user_exists(dbx, "dave")


def test_the_user_form_accepts_a_strong_password(app, admin_client, dbx):
    response = admin_client.post("/users/add", data=_user_form(app, "Strong-Passw0rd"))
    assert response.status_code == 302, form_errors(text_of(response))
    assert _user_exists(dbx, "dave")


def test_the_security_api_refuses_a_weak_password(app, api, dbx):
    from app.database import db

    with app.app_context():
        role_id = app.appbuilder.sm.find_role("Manager").id
        db.session.remove()
    user = {"first_name": "Erin", "last_name": "Test", "username": "erin",
            "email": "erin@test.local", "roles": [role_id], "active": True}
    response = api.post("/api/v1/security/users/", json={**user, "password": "weakpassword"})
    assert response.status_code == 400
    assert response.get_json()["message"] == {"password": [message(app)]}
    assert not _user_exists(dbx, "erin")

    response = api.post("/api/v1/security/users/", json={**user, "password": "Strong-Passw0rd"})
    assert response.status_code == 201, response.get_json()
    pk = response.json["id"]
    response = api.put(f"/api/v1/security/users/{pk}", json={"password": "short"})
    assert response.status_code == 400
    assert response.get_json()["message"] == {"password": [message(app)]}


def test_the_password_reset_forms_refuse_a_weak_password(app, admin_client, dbx):
    manager_id = dbx.user_id("manager")
    response = admin_client.post(f"/resetpassword/form?pk={manager_id}",
                                 data={"password": "weak", "conf_password": "weak"})
    assert response.status_code == 200
    assert message(app) in page_text(response)
    response = admin_client.post("/resetmypassword/form",
                                 data={"password": "weak", "conf_password": "weak"})
    assert response.status_code == 200
    assert message(app) in page_text(response)


# --- the project's own passwords ---------------------------------------------------------------


def _complies(password: str) -> bool:
    from app.web.auth import password_problem

    return password_problem(password) is None


def test_the_default_demo_password_complies(app):
    import config

    assert _complies(config.Config.CRM_DEMO_PASSWORD)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = re.findall(r"`CRM_DEMO_PASSWORD` \| [^|]* \| `([^`]+)`", readme)
    assert documented == [config.Config.CRM_DEMO_PASSWORD]


def test_the_test_passwords_comply(app):
    from tests.browser.conftest import ADMIN_PASSWORD

    assert _complies(PASSWORD)
    assert _complies(ADMIN_PASSWORD)
    for path in ("tests/test_demo_and_generator.py", "tests/test_translations.py",
                 "scripts/screenshots.py"):
        source = (ROOT / path).read_text(encoding="utf-8")
        found = re.findall(r'(?:PASSWORD = |"password": )"([^"]+)"', source)
        assert found, path
        for password in found:
            assert _complies(password), (path, password)
