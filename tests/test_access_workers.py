"""A change of rights applies at once in every worker process.

Two real application processes (tests/serve_app.py, waitress) share the test database. The
manager logs in on the first; the administrator widens the Manager role's client reading
from own to all on the matrix screen of the second; the manager's very next request to the
first process lists every client — and narrowing it back applies as fast. What a process
keeps between requests (rights, permissions, search forms) is checked against the cache
stamp (app.services.stamp) that every such write raises.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from app.models import Client
from app.services.access import ALL, OWN
from app.services.rights import BUILTIN_ROLES
from tests.access_rules import build_company
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30


class Worker:
    """One application process."""

    def __init__(self, database_url: str):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.serve_app", database_url], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = None

    def wait_until_listening(self) -> str:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(START_TIMEOUT)
        if not line or not line[0].strip().isdigit():
            raise RuntimeError(f"the worker did not start (exit code {self.process.poll()})")
        self.port = int(line[0])
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - waitress stops on SIGTERM
            self.process.kill()
            self.process.wait(10)


class Browser:
    """A user's session with one process: a cookie jar, no redirects followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base_url + path, data=body, timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def login(self, username: str) -> "Browser":
        status, _ = self.request("/login/", {"username": username, "password": PASSWORD})
        assert status == 302, f"login of {username} failed ({status})"
        return self


@pytest.fixture
def workers(app, database_url):
    started = [Worker(database_url), Worker(database_url)]
    try:
        urls = [worker.wait_until_listening() for worker in started]
        yield urls
    finally:
        for worker in started:
            worker.stop()


def listed_clients(browser: Browser) -> set[int]:
    status, html = browser.request("/clientview/list/?psize_ClientView=100")
    assert status == 200, status
    return {int(pk) for pk in re.findall(r"/clientview/show/(\d+)", html)}


def matrix_form(role: str, **changes: int) -> dict:
    """The matrix screen's form for a built-in role's matrix with some cells changed
    (given as entity_action=scope)."""
    matrix = dict(BUILTIN_ROLES[role])
    for cell, scope in changes.items():
        entity, action = cell.split("_", 1)
        matrix[(entity, action)] = scope
    return {f"{entity}.{action}": str(scope) for (entity, action), scope in matrix.items()}


def test_a_rights_change_applies_on_the_next_request_of_another_process(app, dbx, workers):
    started = time.monotonic()
    company = build_company(dbx)
    own = set(company.of_owner("manager", Client))
    everyone = {pk for login in company.owned for pk in company.of_owner(login, Client)}
    with app.app_context():
        role_id = app.appbuilder.sm.find_role("Manager").id

    manager = Browser(workers[0]).login("manager")
    admin = Browser(workers[1]).login("admin")
    assert listed_clients(manager) == own

    status, _ = admin.request(f"/rights/{role_id}", matrix_form("Manager", client_read=ALL))
    assert status == 302
    assert listed_clients(manager) == everyone

    status, _ = admin.request(f"/rights/{role_id}", matrix_form("Manager", client_read=OWN))
    assert status == 302
    assert listed_clients(manager) == own
    assert time.monotonic() - started < 20


def test_permissions_and_directories_changed_elsewhere_apply_on_the_next_request(app, dbx,
                                                                                 workers):
    """A new directory item reaches the other process's cached search form, and a FAB
    permission taken away reaches its cached permissions, on the very next request."""
    from tests.factories import dictionary_item

    manager = Browser(workers[0]).login("manager")
    status, page = manager.request("/clientview/list/")
    assert status == 200 and "Shipbuilding" not in page
    dictionary_item(dbx, "industry", "Shipbuilding")
    status, page = manager.request("/clientview/list/")
    assert status == 200 and "Shipbuilding" in page

    with app.app_context():
        sm = app.appbuilder.sm
        sm.del_permission_role(sm.find_role("Manager"),
                               sm.find_permission_view_menu("can_list", "ClientView"))
    try:
        status, _ = manager.request("/clientview/list/")
        assert status in (302, 403), status
    finally:
        with app.app_context():
            sm.add_permission_role(sm.find_role("Manager"),
                                   sm.find_permission_view_menu("can_list", "ClientView"))
    status, _ = manager.request("/clientview/list/")
    assert status == 200


def test_a_new_custom_field_reaches_the_other_process_on_its_next_request(app, dbx, workers):
    """Added, renamed and deleted on one process, a custom field is in, renamed in and gone
    from the other process's form on its very next request: no restart, no migration."""
    from sqlalchemy import select

    from app.models import CustomField

    manager = Browser(workers[0]).login("manager")
    admin = Browser(workers[1]).login("admin")
    status, form = manager.request("/clientview/add")
    assert status == 200 and "custom_contract_no" not in form
    status, _ = admin.request("/customfieldview/add", {
        "entity": "client", "field_type": "string", "code": "contract_no",
        "label_ru": "Номер договора", "label_en": "Contract No.", "sort": "1"})
    assert status == 302
    status, form = manager.request("/clientview/add")
    assert 'name="custom_contract_no"' in form and "Номер договора" in form
    pk = dbx.scalar(select(CustomField.id).where(CustomField.code == "contract_no"))
    status, _ = admin.request(f"/customfieldview/edit/{pk}", {
        "label_ru": "Договор №", "label_en": "Contract No.", "sort": "1", "version": "1"})
    assert status == 302
    status, form = manager.request("/clientview/add")
    assert "Договор №" in form and "Номер договора" not in form
    status, _ = admin.request(f"/customfieldview/delete/{pk}", {})
    assert status == 302
    status, form = manager.request("/clientview/add")
    assert "custom_contract_no" not in form


def test_concurrent_forms_under_different_definitions_do_not_mix(app, dbx, workers):
    """The administrator sees a field hidden from managers; their forms, built at the same
    moments in the same process's threads, never show each other's fields."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import ApiClient, api_token
    from tests.test_custom_fields import add_field

    api = ApiClient(app.test_client(), api_token(app.test_client(), "admin"))
    add_field(api, code="salary", label="Оклад",
              visibility=[{"role": "Manager", "access": "hidden"}])
    add_field(api, code="everyone", label="Для всех")
    people = {"manager": Browser(workers[0]).login("manager"),
              "admin": Browser(workers[0]).login("admin")}

    def form_of(login: str) -> tuple[str, str]:
        status, page = people[login].request("/clientview/add")
        assert status == 200
        return login, page

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(form_of, ["manager", "admin"] * 20))
    for login, page in answers:
        assert 'name="custom_everyone"' in page
        assert ('name="custom_salary"' in page) == (login == "admin"), login
