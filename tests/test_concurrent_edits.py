"""Concurrent edits on a live server: every save that is answered as done is saved, on its
own record only; a save based on an older version is refused; nothing else changes.

The application is served by waitress in a background thread (8 worker threads, CSRF
protection on as in production) and real threads of several users edit clients at once,
through the REST API (`PUT` with `If-Match`) and through the HTML edit form. Afterwards the
database is read directly: the values of every 2xx are on exactly the record it was sent
for, the history attributes each change to the user who made it, versions rose once per
saved change, the refused saves were refused as stale (409, or the form's conflict message),
and no other record changed. Runs on SQLite or PostgreSQL, whichever the suite uses.
"""

from __future__ import annotations

import html as html_lib
import http.cookiejar
import itertools
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

import pytest
from sqlalchemy import inspect, select

from app.models import ChangeLog, Client
from app.services.records import CONFLICT_MESSAGE
from tests import live_server
from tests.conftest import PASSWORD, another_app
from tests.factories import CLIENT
from tests.helpers import form_fields, tr

ROUNDS = 3
# Columns that a saved change moves besides the field it sets.
MOVING = {"version", "changed_on", "changed_by_fk"}


@pytest.fixture(scope="module")
def live_url(app, database_url):
    with another_app(app, database_url, WTF_CSRF_ENABLED=True) as application:
        server, thread, url = live_server.serve(application, name="waitress-concurrent")
        try:
            yield url
        finally:
            live_server.stop(server, thread)


class Browser:
    """One user's own connection to the live server: cookies, an API token, no redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base_url: str, username: str):
        self.base_url = base_url
        self.username = username
        self.token: Optional[str] = None
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect)

    def send(self, method: str, path: str, *, form: dict | None = None,
             body: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
        headers = dict(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form, doseq=True).encode()
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token and path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def login(self) -> "Browser":
        status, page = self.send("GET", "/login/")
        assert status == 200, status
        status, _ = self.send("POST", "/login/", form={
            "username": self.username, "password": PASSWORD, "csrf_token": csrf_token(page)})
        assert status == 302, f"login of {self.username}: {status}"
        status, answer = self.send("POST", "/api/v1/security/login", body={
            "username": self.username, "password": PASSWORD, "provider": "db"})
        assert status == 200, answer
        self.token = json.loads(answer)["access_token"]
        return self


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the form must carry a CSRF token"
    return match.group(1)


@dataclass
class Edit:
    """One save that was sent, and how the server answered it."""

    user: str
    channel: str  # "api" or "form"
    pk: int
    field: str
    value: str
    status: int = 0
    version: Optional[int] = None  # the version an API answer reports
    stale: bool = False  # refused because the record changed since it was read

    @property
    def saved(self) -> bool:
        return 200 <= self.status < 300 if self.channel == "api" else self.status == 302


class Editor:
    """Edits clients as one user through one channel, and keeps every answer."""

    def __init__(self, browser: Browser, channel: str, conflict_text: str):
        self.browser = browser
        self.channel = channel
        self.conflict_text = conflict_text
        self.edits: list[Edit] = []
        self.other_answers: list[tuple[str, int]] = []

    def edit(self, pk: int, field: str, value: str, *, version: Optional[int] = None) -> Edit:
        """Read the record, then save `field` = `value`; with `version`, claim to have read
        that version instead of the one just read (a stale save)."""
        edit = Edit(self.browser.username, self.channel, pk, field, value)
        if self.channel == "api":
            self._api(edit, version)
        else:
            self._form(edit, version)
        self.edits.append(edit)
        return edit

    def _api(self, edit: Edit, version: Optional[int]) -> None:
        url = f"/api/v1/client/{edit.pk}"
        status, answer = self.browser.send("GET", url)
        self.other_answers.append((f"GET {url}", status))
        if status != 200:
            return
        read = json.loads(answer)["result"]["version"]
        seen = read if version is None else version
        edit.status, answer = self.browser.send("PUT", url, body={edit.field: edit.value},
                                                headers={"If-Match": str(seen)})
        if edit.saved:
            edit.version = json.loads(answer)["version"]
        edit.stale = edit.status == 409

    def _form(self, edit: Edit, version: Optional[int]) -> None:
        url = f"/clientview/edit/{edit.pk}"
        status, page = self.browser.send("GET", url)
        self.other_answers.append((f"GET {url}", status))
        if status != 200:
            return
        fields = form_fields(page)
        fields[edit.field] = edit.value
        if version is not None:
            fields["version"] = str(version)
        edit.status, page = self.browser.send("POST", url, form=fields)
        text = html_lib.unescape(" ".join(page.split()))
        edit.stale = edit.status == 200 and self.conflict_text in text


def run_together(jobs) -> None:
    """Run the callables in threads of their own, released at the same moment."""
    start = threading.Barrier(len(jobs))

    def run(job):
        start.wait(timeout=30)
        job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(run, job) for job in jobs]:
            future.result(timeout=120)


def client_rows(dbx) -> dict[int, dict]:
    """Every client as the database holds it: {id: {column: value}}."""
    columns = [c.key for c in inspect(Client).column_attrs]
    with dbx.session() as s:
        return {row.id: {c: getattr(row, c) for c in columns}
                for row in s.execute(select(Client)).scalars()}


def history_of(dbx, pk: int) -> list[tuple[Optional[int], dict]]:
    """The updates of a client's history, oldest first: (user id, changes)."""
    rows = dbx.all(select(ChangeLog).where(ChangeLog.entity == "Client",
                                           ChangeLog.record_id == pk,
                                           ChangeLog.action == "update")
                   .order_by(ChangeLog.id))
    return [(row.user_id, row.changes) for row in rows]


def make_clients(dbx, owner: str, count: int, numbers) -> list[int]:
    deps = {**CLIENT.deps(dbx), "user": dbx.user_id(owner)}
    return [CLIENT.create(dbx, deps, n=next(numbers), user=owner) for _ in range(count)]


def assert_no_server_error(editors) -> None:
    for editor in editors:
        answers = [(f"{e.channel} {e.pk}", e.status) for e in editor.edits]
        failed = [a for a in answers + editor.other_answers if a[1] >= 500 or a[1] == 0]
        assert not failed, (editor.browser.username, failed)
        assert all(status == 200 for _, status in editor.other_answers), editor.other_answers


def assert_only_these_changed(before: dict, after: dict, touched: set[int]) -> None:
    """No client was added or removed, and the clients nobody edited are as they were."""
    assert set(after) == set(before)
    for pk in set(before) - touched:
        assert after[pk] == before[pk], pk


def test_concurrent_edits_of_own_records_land_on_their_records(app, dbx, live_url):
    """Two managers, each editing their own clients (a field of their own) through the API
    and the forms, ten threads at once: every save lands on exactly its record."""
    numbers = itertools.count(1)
    owned = {"manager": make_clients(dbx, "manager", 5, numbers),
             "manager_b": make_clients(dbx, "manager_b", 5, numbers)}
    field_of = {"manager": "address", "manager_b": "comment"}
    before = client_rows(dbx)
    conflict = tr(app, CONFLICT_MESSAGE)

    # One thread per record: three through the API, two through the form, per manager.
    jobs, editors, record_of = [], [], {}
    for username, pks in owned.items():
        for pk, channel in zip(pks, ["api", "api", "api", "form", "form"], strict=True):
            editor = Editor(Browser(live_url, username).login(), channel, conflict)
            editors.append(editor)
            record_of[id(editor)] = pk

            def job(editor=editor, pk=pk, field=field_of[username]):
                for round_ in range(ROUNDS):
                    editor.edit(pk, field, f"{editor.browser.username} {editor.channel} "
                                           f"#{pk} round {round_}")
            jobs.append(job)
    run_together(jobs)

    assert_no_server_error(editors)
    after = client_rows(dbx)
    assert_only_these_changed(before, after, set(record_of.values()))
    for editor in editors:
        pk = record_of[id(editor)]
        username = editor.browser.username
        field = field_of[username]
        refused = [(e.status, e.value) for e in editor.edits if not e.saved]
        assert not refused, (username, editor.channel, refused)
        values = [e.value for e in editor.edits]
        # The last value is on the record; nothing else of the record moved.
        assert after[pk][field] == values[-1]
        assert after[pk]["version"] == 1 + ROUNDS
        assert after[pk]["changed_by_fk"] == dbx.user_id(username)
        unchanged = set(before[pk]) - MOVING - {field}
        assert {c: after[pk][c] for c in unchanged} == {c: before[pk][c] for c in unchanged}
        # Each save is in the history once, attributed to its user, and changed only its field.
        olds = [before[pk][field], *values[:-1]]
        assert history_of(dbx, pk) == [
            (dbx.user_id(username), {field: [old, new]}) for old, new in zip(olds, values, strict=True)]
        # The API answers report the version each save made.
        if editor.channel == "api":
            assert [e.version for e in editor.edits] == list(range(2, 2 + ROUNDS))


def test_concurrent_edits_of_the_same_records_save_or_refuse_each_change(app, dbx, live_url):
    """Several users (the manager, their supervisor, the administrator) edit the same two
    clients at once through the API and the forms: each save either lands, and then is in
    the history as that user's, or is refused as stale; the record ends as its last saved
    change left it; a save claiming an old version is always refused."""
    numbers = itertools.count(100)
    shared = make_clients(dbx, "manager", 2, numbers)
    bystander = make_clients(dbx, "manager_b", 1, numbers)
    before = client_rows(dbx)
    conflict = tr(app, CONFLICT_MESSAGE)
    users = {name: dbx.user_id(name) for name in ("manager", "supervisor", "admin")}

    plan = [("manager", "api", "address"), ("manager", "api", "comment"),
            ("manager", "form", "address"), ("manager", "form", "comment"),
            ("supervisor", "api", "address"), ("supervisor", "api", "comment"),
            ("supervisor", "form", "comment"), ("admin", "api", "address"),
            ("admin", "api", "comment"), ("admin", "form", "address")]
    jobs, editors = [], []
    for index, (username, channel, field) in enumerate(plan):
        editor = Editor(Browser(live_url, username).login(), channel, conflict)
        editors.append(editor)

        def job(editor=editor, field=field, index=index):
            for round_ in range(ROUNDS):
                pk = shared[(index + round_) % 2]
                editor.edit(pk, field, f"{editor.browser.username} {editor.channel} "
                                       f"thread {index} round {round_}")
            # Both records have changed by now (each thread saved or was refused at least
            # once per record, and a refusal means someone else saved): version 1 is stale.
            editor.edit(shared[index % 2], field, f"stale from thread {index}", version=1)
        jobs.append(job)
    run_together(jobs)

    assert_no_server_error(editors)
    edits = [e for editor in editors for e in editor.edits]
    refused = [(e.user, e.channel, e.status) for e in edits if not e.saved and not e.stale]
    assert not refused, refused
    assert all(not e.saved for e in edits if e.value.startswith("stale from"))
    assert any(e.saved for e in edits)

    after = client_rows(dbx)
    assert_only_these_changed(before, after, set(shared))
    assert after[bystander[0]] == before[bystander[0]]
    for pk in shared:
        saved = [e for e in edits if e.pk == pk and e.saved]
        history = history_of(dbx, pk)
        # One history entry per saved change, by its user, with its value: nothing saved
        # twice, lost, or written by someone else.
        assert sorted((users[e.user], e.field, e.value) for e in saved) == sorted(
            (user_id, field, change[1]) for user_id, changes in history
            for field, change in changes.items())
        assert all(len(changes) == 1 for _, changes in history), history
        assert after[pk]["version"] == 1 + len(saved)
        # An API answer's version is the place of its change in the history.
        for e in saved:
            if e.channel == "api":
                user_id, changes = history[e.version - 2]
                assert (user_id, changes[e.field][1]) == (users[e.user], e.value)
        # The record holds, for each field, the value of the last change of that field.
        for field in ("address", "comment"):
            last = [changes[field][1] for _, changes in history if field in changes]
            assert after[pk][field] == (last[-1] if last else before[pk][field])
        unchanged = set(before[pk]) - MOVING - {"address", "comment"}
        assert {c: after[pk][c] for c in unchanged} == {c: before[pk][c] for c in unchanged}


def test_the_rights_check_of_a_save_does_not_write_it(app, dbx):
    """The rights check reads users and departments while the change waits in the session:
    it must not flush the change. Flushed there, a record changed meanwhile by someone else
    failed outside the save (a 500) instead of being refused as stale by it (a 409)."""
    from app.database import db
    from app.models import CrmUser
    from app.services import access, records

    pk = CLIENT.create(dbx, n=1)  # the manager's, in the supervisor's department
    with app.test_request_context("/"):
        supervisor = db.session.execute(
            select(CrmUser).where(CrmUser.username == "supervisor")).scalar_one()
        item = db.session.get(Client, pk)
        owner, links = access.owner_of(item), access.links_of(item)
        item.comment = "The supervisor's comment"
        with dbx.session() as other:  # someone else saves the client meanwhile
            other.get(Client, pk).address = "Someone else's address"
            other.commit()
        access.authorize_save(item, is_new=False, previous_owner=owner,
                              previous_links=links, user=supervisor)
        with pytest.raises(records.Conflict):
            records.save(item, is_new=False)
    saved = dbx.get(Client, pk)
    assert (saved.address, saved.comment, saved.version) == (
        "Someone else's address", "A test client", 2)
