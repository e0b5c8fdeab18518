"""The permission matrix: every principal × every screen and REST resource × every action.

In the manner of NetBox's view tests: the principals are the anonymous visitor, the
administrator, the supervisor (head of Sales), manager A (Sales), manager B (Regions, not
under Sales) and the read-only user; the targets are every registered screen
(app.views.CRUD_SCREENS) and resource (app.api.RESOURCES); the actions are list, show, add,
edit, delete, each bulk action of the screen, and export. Every cell asserts the exact
status and, for lists, the exact ids listed.

The expectations come from tests/access_rules.py (the built-in matrices, the scopes, the
owners of the records), not from a list per view: a new screen or resource is in the matrix
as soon as it is registered. Each test walks all principals and reports every cell that
differs at once.
"""

from __future__ import annotations

import csv
import io
import itertools
import json

import pytest

from app.api import RESOURCES
from app.views import CRUD_SCREENS
from tests.access_rules import (
    ANONYMOUS,
    OWNER_COLUMN,
    OWNERS,
    PRINCIPALS,
    Records,
    build_company,
    bulk_actions,
    deps_for,
    entity_of,
    expected_visible,
    may,
    row_dicts,
    who,
)
from tests.factories import FACTORIES, READ_ONLY
from tests.helpers import (
    api_base,
    flashed,
    form_errors,
    form_fields,
    route_of,
    shown_ids,
    text_of,
)

SCREEN_VIEWS = [view for view in CRUD_SCREENS]
ACTIONS = ["list", "show", "add", "edit", "delete", "export"]


def _cases(targets, name_of) -> list:
    return [pytest.param(target, action, id=f"{name_of(target)}-{action}")
            for target in targets for action in ACTIONS]


SCREEN_CASES = _cases(SCREEN_VIEWS, lambda view: view.__name__)
API_CASES = _cases(RESOURCES, lambda resource: resource.resource_name)
BULK_CASES = [pytest.param(view, name, id=f"{view.__name__}-{name}")
              for view in SCREEN_VIEWS for name in bulk_actions(view)]


def test_every_screen_and_resource_names_its_entity():
    """The matrix knows what to expect of a target from its entity's rights."""
    for target in [*SCREEN_VIEWS, *RESOURCES]:
        entity_of(target.datamodel.obj)

# The right an action needs.
RIGHT = {"list": "read", "show": "read", "add": "add", "edit": "edit", "delete": "delete",
         "export": "export"}
# Rows a cell tries: where the answer differs from row to row, up to this many of each
# answer, spread over the table (every owner's, in the owned tables)...
MAX_ROWS = 6
# ...and where it cannot (no login, no permission, everything or nothing in reach), a few.
FEW_ROWS = 3


def spread(ids, limit: int) -> list[int]:
    ids = sorted(ids)
    if len(ids) <= limit:
        return ids
    step = len(ids) / limit
    return [ids[int(i * step)] for i in range(limit)]


def rows_to_try(w, model, right: str, rows: dict, records) -> list[int]:
    allowed = {pk for pk, row in rows.items() if may(w, model, row, right, records)}
    if not allowed or allowed == set(rows) or w.anonymous or \
            not w.screen_right(entity_of(model), right):
        return spread(rows, FEW_ROWS)
    return sorted(spread(allowed, MAX_ROWS) + spread(set(rows) - allowed, MAX_ROWS))


class Cells:
    """The cells of one test: each difference is kept and all are reported at the end."""

    def __init__(self, target: str):
        self.target = target
        self.failures: list[str] = []
        self.count = 0

    def check(self, login: str, what: str, expected, actual) -> bool:
        self.count += 1
        if expected != actual:
            self.failures.append(f"{login:>10} | {what}: expected {expected!r}, got {actual!r}")
            return False
        return True

    def done(self) -> None:
        assert self.count, f"{self.target}: no cell was checked"
        assert not self.failures, (f"{self.target}: {len(self.failures)} of {self.count} "
                                   "cells differ\n" + "\n".join(self.failures))


@pytest.fixture
def company(dbx):
    return build_company(dbx)


@pytest.fixture
def as_user(client_as, anon_client):
    return lambda login: anon_client if login == ANONYMOUS else client_as(login)


@pytest.fixture
def api_user(api_as, anon_api):
    return lambda login: anon_api if login == ANONYMOUS else api_as(login)


def edit_value(model, number: int) -> str:
    field, value = FACTORIES[model].edit
    return value if value.isdigit() else f"{value} {number}"


FRESH_NUMBERS = itertools.count(9000)


def fresh_records(dbx, company, model, login) -> list[int]:
    """New records `login` may delete: one per owner within their delete scope (one in all
    for models without an owner), at most three. Made by the administrator."""
    factory = FACTORIES[model]
    base = factory.deps(dbx)
    w = who(dbx, login)
    made = []
    owners = OWNERS if model in OWNER_COLUMN or "interest" in base else (None,)
    for owner in owners:
        deps = deps_for(base, company, owner) if owner else base
        pk = factory.create(dbx, deps, n=next(FRESH_NUMBERS))
        records = Records(dbx)
        if may(w, model, records.of(model)[pk], "delete", records):
            made.append(pk)
        if owner is None or len(made) >= 3:
            break
    return made


# --- screens ---------------------------------------------------------------------------


def screen_status(w, model, right: str, allowed: bool, ok: int = 200) -> int:
    """The status a screen answers: the anonymous go to the login page; without the
    screen's permission 403; a record out of reach 404."""
    if w.anonymous:
        return 302
    if right != "read" and model in READ_ONLY:
        return 403
    if not w.screen_right(entity_of(model), right):
        return 403
    return ok if allowed else 404


def _status(response) -> int:
    if response.status_code == 302 and "/login/" in response.headers.get("Location", ""):
        return 302
    return response.status_code


def listed_ids(client, base: str, name: str) -> tuple[int, set[int]]:
    ids: set[int] = set()
    for page in range(50):
        response = client.get(f"{base}/list/?psize_{name}=100&page_{name}={page}")
        if response.status_code != 200:
            return _status(response), set()
        found = shown_ids(text_of(response), base)
        ids |= set(found)
        if len(found) < 100:
            return 200, ids
    raise AssertionError("more than 50 pages")


@pytest.mark.parametrize("view,action", SCREEN_CASES)
def test_screen(app, dbx, company, as_user, view, action):
    model = view.datamodel.obj
    base = route_of(app, view)
    name = view.__name__
    cells = Cells(f"{name} {action}")
    factory = FACTORIES.get(model)
    base_deps = factory.deps(dbx) if factory and action == "add" else {}
    for number, login in enumerate(PRINCIPALS):
        client = as_user(login)
        w = who(dbx, login)
        records = Records(dbx)
        rows = records.of(model)
        right = RIGHT[action]
        if action == "list":
            status, ids = listed_ids(client, base, name)
            expected = screen_status(w, model, "read", True)
            if cells.check(login, "list status", expected, status) and status == 200:
                cells.check(login, "listed ids", sorted(expected_visible(w, model, records)),
                            sorted(ids))
        elif action == "show":
            for pk in [*rows_to_try(w, model, right, rows, records), max(rows or [0]) + 1000]:
                allowed = pk in rows and may(w, model, rows[pk], "read", records)
                cells.check(login, f"show {pk}", screen_status(w, model, right, allowed),
                            _status(client.get(f"{base}/show/{pk}")))
        elif action == "add":
            expected = screen_status(w, model, right, True)
            cells.check(login, "add form", expected, _status(client.get(f"{base}/add")))
            before = records.ids(model)
            data = factory.form(deps_for(base_deps, company, login), 700 + number) \
                if factory else {"entity": "Client"}
            response = client.post(f"{base}/add", data=data)
            expected_post = 302 if expected == 200 else expected
            if not cells.check(login, "add", expected_post, _status(response)):
                cells.failures.append(text_of(response)[:300])
            added = Records(dbx).ids(model) - before
            cells.check(login, "rows added", 1 if expected == 200 else 0, len(added))
            if expected == 200 and model in OWNER_COLUMN and len(added) == 1:
                owner = Records(dbx).of(model)[added.pop()]["owner"]
                cells.check(login, "owner of the added row", w.user_id, owner)
        elif action == "edit":
            _edit_cells(cells, dbx, client, w, model, base, login, number)
        elif action == "delete":
            _delete_cells(cells, dbx, company, client, w, model, login,
                          lambda pk: client.post(f"{base}/delete/{pk}"))
        elif action == "export":
            response = client.get(f"{base}/export/?format=csv")
            expected = 302 if w.anonymous else export_status(w, model)
            if cells.check(login, "export status", expected, _status(response)) and \
                    expected == 200:
                _export_cells(cells, login, response, w, model, records)
    cells.done()


def export_status(w, model) -> int:
    """An export needs the `export` right of the record's entity, read-only ones too."""
    return 200 if w.screen_right(entity_of(model), "export") else 403


def _export_cells(cells, login, response, w, model, records) -> None:
    """The file holds exactly the rows the user may export, each once; its row count is
    in X-Total-Count."""
    text = response.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    ids = [int(row[0]) for row in rows[1:]]
    cells.check(login, "exported ids", sorted(expected_visible(w, model, records, "export")),
                sorted(ids))
    cells.check(login, "rows counted", str(len(ids)), response.headers.get("X-Total-Count"))


def _edit_cells(cells, dbx, client, w, model, base, login, number) -> None:
    records = Records(dbx)
    rows = records.of(model)
    editable = {pk for pk, row in rows.items() if may(w, model, row, "edit", records)}
    for pk in rows_to_try(w, model, "edit", rows, records):
        cells.check(login, f"edit form {pk}",
                    screen_status(w, model, "edit", pk in editable),
                    _status(client.get(f"{base}/edit/{pk}")))
    if model in READ_ONLY:
        return
    field = FACTORIES[model].edit[0]
    # Out of reach: refused, the row unchanged.
    out = spread(set(rows) - editable, FEW_ROWS + 1)
    before = row_dicts(dbx, model, out)
    for pk in out:
        response = client.post(f"{base}/edit/{pk}", data={field: "Forged", "version": "1"})
        cells.check(login, f"edit {pk}", screen_status(w, model, "edit", False),
                    _status(response))
    cells.check(login, "rows out of reach unchanged", before, row_dicts(dbx, model, out))
    # Within reach: one record per owner, through the form as the browser shows it.
    chosen: dict = {}
    for pk in sorted(editable):
        chosen.setdefault(rows[pk].get("owner", pk), pk)
    for pk in sorted(chosen.values())[:4]:
        form = form_fields(text_of(client.get(f"{base}/edit/{pk}")))
        value = edit_value(model, 100 * number + pk)
        form[field] = value
        response = client.post(f"{base}/edit/{pk}", data=form)
        if not cells.check(login, f"edit {pk}", 302, _status(response)):
            cells.failures.append(json.dumps(form, ensure_ascii=False, default=str)[:400])
            cells.failures.append(str(form_errors(text_of(response)) or
                                      flashed(text_of(response)))[:600])
            continue
        saved = row_dicts(dbx, model, [pk])[pk]
        column = field if field in saved else f"{field}_id"
        cells.check(login, f"edited {pk}", value,
                    str(saved[column]).rstrip("0").rstrip(".") if value.isdigit()
                    else saved[column])


def _dismiss_cells(cells, dbx, company, client, w, model, login, dismiss) -> None:
    """"Process without a task": out of reach refused and unchanged; within reach, an
    inquiry waiting to be processed is processed."""
    records = Records(dbx)
    rows = records.of(model)
    editable = {pk for pk, row in rows.items() if may(w, model, row, "edit", records)}
    out = spread(set(rows) - editable, FEW_ROWS + 1)
    before = row_dicts(dbx, model, out)
    for pk in out:
        cells.check(login, f"dismiss {pk}", screen_status(w, model, "edit", False, 302),
                    _status(dismiss(pk)))
    cells.check(login, "rows out of reach kept", before, row_dicts(dbx, model, out))
    waiting = [pk for pk, row in row_dicts(dbx, model, editable).items()
               if row["status"] == "new"][:3]
    for pk in waiting:
        cells.check(login, f"dismiss {pk}", 302, _status(dismiss(pk)))
        cells.check(login, f"{pk} processed", "processed",
                    row_dicts(dbx, model, [pk])[pk]["status"])


def _delete_cells(cells, dbx, company, client, w, model, login, delete,
                  ok: int = 302, out_of_reach=None) -> None:
    """Out of reach: every row refused, unchanged; within reach: fresh records deleted."""
    records = Records(dbx)
    rows = records.of(model)
    deletable = {pk for pk, row in rows.items() if may(w, model, row, "delete", records)}
    status = out_of_reach or (lambda allowed: screen_status(w, model, "delete", allowed, ok))
    out = spread(set(rows) - deletable, FEW_ROWS + 1)
    before = row_dicts(dbx, model, out)
    for pk in out:
        cells.check(login, f"delete {pk}", status(False), _status(delete(pk)))
    cells.check(login, "rows out of reach kept", before, row_dicts(dbx, model, out))
    if w.anonymous or model in READ_ONLY or not w.screen_right(entity_of(model), "delete"):
        return
    fresh = fresh_records(dbx, company, model, login)
    cells.check(login, "has records to delete", True, bool(fresh))
    for pk in fresh:
        cells.check(login, f"delete fresh {pk}", ok, _status(delete(pk)))
        cells.check(login, f"fresh {pk} deleted", False, pk in Records(dbx).ids(model))


@pytest.mark.parametrize("view,name", BULK_CASES)
def test_screen_bulk_action(app, dbx, company, as_user, view, name):
    model = view.datamodel.obj
    base = route_of(app, view)
    cells = Cells(f"{view.__name__} bulk {name}")
    right = "delete" if "delete" in name else "edit"
    # What each bulk action does to a record within reach.
    outcomes = {"muldelete": _delete_cells, "dismiss": _dismiss_cells}
    assert name in outcomes, f"add the expected outcome of the bulk action {name}"
    for login in PRINCIPALS:
        client = as_user(login)
        w = who(dbx, login)

        def run(*pks):
            return client.post(f"{base}/action_post",
                               data={"action": name, "rowid": [str(pk) for pk in pks]})

        outcomes[name](cells, dbx, company, client, w, model, login, run)
        # A selection with one record out of reach is refused as a whole.
        if screen_status(w, model, right, True) == 200:
            records = Records(dbx)
            out = [pk for pk, row in records.of(model).items()
                   if not may(w, model, row, right, records)]
            fresh = fresh_records(dbx, company, model, login)
            if out and fresh:
                cells.check(login, "mixed selection", 404, _status(run(fresh[0], out[0])))
                cells.check(login, "mixed selection kept", True,
                            fresh[0] in Records(dbx).ids(model))
    cells.done()


# --- the REST API ------------------------------------------------------------------------


def api_status(w, model, right: str, allowed: bool, ok: int = 200) -> int:
    """The status a resource answers: 401 without a login, 405 for a write to a read-only
    resource, 403 without the permission, 404 for a record out of reach."""
    if right != "read" and model in READ_ONLY:
        return 405
    if w.anonymous:
        return 401
    if not w.screen_right(entity_of(model), right):
        return 403
    return ok if allowed else 404


def api_ids(api, base: str) -> tuple[int, set[int]]:
    ids: set[int] = set()
    for page in range(50):
        response = api.get(f"{base}/?q=(page:{page},page_size:100)")
        if response.status_code != 200:
            return response.status_code, set()
        found = response.get_json()["ids"]
        ids |= set(found)
        if len(found) < 100:
            return 200, ids
    raise AssertionError("more than 50 pages")


@pytest.mark.parametrize("resource,action", API_CASES)
def test_api(dbx, company, api_user, resource, action):
    model = resource.datamodel.obj
    base = api_base(resource)
    cells = Cells(f"{resource.resource_name} {action}")
    factory = FACTORIES.get(model)
    base_deps = factory.deps(dbx) if factory and action == "add" else {}
    for number, login in enumerate(PRINCIPALS):
        api = api_user(login)
        w = who(dbx, login)
        records = Records(dbx)
        rows = records.of(model)
        right = RIGHT[action]
        if action == "list":
            status, ids = api_ids(api, base)
            if cells.check(login, "list status", api_status(w, model, "read", True),
                           status) and status == 200:
                cells.check(login, "listed ids", sorted(expected_visible(w, model, records)),
                            sorted(ids))
        elif action == "show":
            for pk in [*rows_to_try(w, model, right, rows, records), max(rows or [0]) + 1000]:
                allowed = pk in rows and may(w, model, rows[pk], "read", records)
                cells.check(login, f"get {pk}", api_status(w, model, right, allowed),
                            api.get(f"{base}/{pk}").status_code)
        elif action == "add":
            before = records.ids(model)
            body = factory.json(deps_for(base_deps, company, login), 800 + number) \
                if factory else {"entity": "Client"}
            response = api.post(f"{base}/", json=body)
            expected = api_status(w, model, right, True, ok=201)
            if not cells.check(login, "post", expected, response.status_code):
                cells.failures.append(text_of(response)[:300])
            added = Records(dbx).ids(model) - before
            cells.check(login, "rows added", 1 if expected == 201 else 0, len(added))
            if expected == 201 and model in OWNER_COLUMN and len(added) == 1:
                owner = Records(dbx).of(model)[added.pop()]["owner"]
                cells.check(login, "owner of the added row", w.user_id, owner)
        elif action == "edit":
            editable = {pk for pk, row in rows.items() if may(w, model, row, "edit", records)
                        and model not in READ_ONLY}
            field = FACTORIES[model].edit[0] if model in FACTORIES else "entity"
            out = spread(set(rows) - editable, FEW_ROWS + 1)
            before = row_dicts(dbx, model, out)
            for pk in out:
                cells.check(login, f"put {pk}", api_status(w, model, right, False),
                            api.put(f"{base}/{pk}", json={field: "Forged"}).status_code)
            cells.check(login, "rows out of reach unchanged", before,
                        row_dicts(dbx, model, out))
            chosen: dict = {}
            for pk in sorted(editable):
                chosen.setdefault(rows[pk].get("owner", pk), pk)
            for pk in sorted(chosen.values())[:4]:
                value = edit_value(model, 100 * number + pk)
                response = api.put(f"{base}/{pk}", json={field: value})
                if not cells.check(login, f"put {pk}", api_status(w, model, right, True),
                                   response.status_code):
                    cells.failures.append(text_of(response)[:300])
                elif response.status_code == 200:
                    cells.check(login, f"edited {pk}", value,
                                row_dicts(dbx, model, [pk])[pk][field])
        elif action == "delete":
            _delete_cells(cells, dbx, company, api, w, model, login,
                          lambda pk: api.delete(f"{base}/{pk}"), ok=200,
                          out_of_reach=lambda allowed: api_status(w, model, "delete",
                                                                  allowed))
        elif action == "export":
            response = api.get(f"{base}/?format=csv")
            expected = 401 if w.anonymous else export_status(w, model)
            if cells.check(login, "export status", expected, response.status_code) and \
                    expected == 200:
                _export_cells(cells, login, response, w, model, records)
    cells.done()
