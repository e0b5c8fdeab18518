"""What the REST API tells about users, and in which words it labels fields.

A user nested in an answer (a responsible, a head of department, who closed an interest...)
is who they are and how a colleague reaches them: id, name, position, e-mail, phone. Never
the password hash, login counters, the session epoch or any other column of the account.
Every answer of every resource — list, list of chosen columns, show, add, edit, _info — is
walked for every role, and so is the OpenAPI spec.

Labels and titles are the application's own translated ones, for every column.
"""

from __future__ import annotations

import prison
import pytest
from sqlalchemy import inspect, update

from app.api import API_LABELS, RESOURCES
from app.labels import LABELS
from app.models import CrmUser, Department, Interaction, Interest, Model
from tests.conftest import ROLE_USERS
from tests.factories import FACTORIES, INTEREST
from tests.helpers import api_base, tr

ALLOWED = {"id", "name", "position", "email", "phone"}
USER_COLUMNS = {c.key for c in inspect(CrmUser).column_attrs}
# Columns of the user table that no CRM record has: an answer with one of them anywhere
# shows account internals.
CRM_COLUMNS = {c.key for mapper in Model.registry.mappers if mapper.class_ is not CrmUser
               and not issubclass(mapper.class_, CrmUser)
               and mapper.local_table.name.startswith("crm_")
               for c in mapper.column_attrs}
ACCOUNT_ONLY = USER_COLUMNS - ALLOWED - CRM_COLUMNS


def user_relations(model) -> set[str]:
    return {rel.key for rel in inspect(model).relationships
            if issubclass(rel.mapper.class_, CrmUser)}


def shown_user_relations(resource) -> set[str]:
    return user_relations(resource.datamodel.obj) & set(resource.show_columns)


class Scan:
    """Walks answers; notes every account internal and every nested user it meets."""

    def __init__(self):
        self.problems: list[str] = []
        self.users_seen: set[tuple[str, str]] = set()  # (answer, relation)

    def walk(self, answer: str, value, user_keys: set[str], path: str = "") -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.walk(answer, item, user_keys, f"{path}[{index}]")
            return
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            where = f"{answer}: {path}.{key}"
            if key in ACCOUNT_ONLY:
                self.problems.append(where)
            in_record = path.startswith(".result")  # not _info's filters by column
            if in_record and key in user_keys and isinstance(item, (dict, list)):
                for user in item if isinstance(item, list) else [item]:
                    self.check_user(where, user)
                    self.users_seen.add((answer, key))
            self.walk(answer, item, user_keys, f"{path}.{key}")

    def check_user(self, where: str, user) -> None:
        extra = set(user) - ALLOWED
        if extra:
            self.problems.append(f"{where}: {sorted(extra)}")
        if not isinstance(user.get("id"), int) or not user.get("name"):
            self.problems.append(f"{where}: no id and name")

    def spec(self, spec: dict) -> int:
        """The CRM resources' schemas in the OpenAPI spec and every schema they refer to;
        the number of nested user schemas checked."""
        schemas = spec.get("components", {}).get("schemas", {})
        resources = {r.__name__ for r in RESOURCES}
        user_keys = {k for r in RESOURCES for k in user_relations(r.datamodel.obj)}
        todo = [name for name in schemas if name.split(".")[0] in resources]
        seen, users = set(), 0
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for key, prop in schemas[name].get("properties", {}).items():
                if key in ACCOUNT_ONLY:
                    self.problems.append(f"spec {name}.{key}")
                for ref in _refs(prop):
                    todo.append(ref)
                    if key in user_keys:
                        users += 1
                        extra = set(schemas[ref].get("properties", {})) - ALLOWED
                        if extra:
                            self.problems.append(f"spec {name}.{key} -> {ref}: {sorted(extra)}")
        return users


def _refs(prop: dict) -> list[str]:
    found = []
    alternatives = [*prop.get("allOf", []), *prop.get("anyOf", []), *prop.get("oneOf", [])]
    for candidate in (prop, prop.get("items", {}), *alternatives):
        ref = candidate.get("$ref") if isinstance(candidate, dict) else None
        if ref:
            found.append(ref.rsplit("/", 1)[1])
    return found


@pytest.fixture
def records(dbx):
    """A record of every resource, with every user relation filled in; the administrator
    heads a department (FAB showed their hash through /api/v1/department/<id>)."""
    made = {}
    for model, factory in FACTORIES.items():
        made[model] = factory.create(dbx, n=1, user="manager")
    with dbx.session() as s:
        s.execute(update(Interest).values(closed_by_id=dbx.user_id("supervisor")))
        s.execute(update(Interaction).values(given_by_id=dbx.user_id("supervisor")))
        s.execute(update(Department).where(Department.name == "Back office")
                  .values(head_id=dbx.user_id("admin")))
        s.commit()
    return made


@pytest.mark.parametrize("username", list(ROLE_USERS))
def test_no_answer_shows_account_internals(app, api_as, dbx, records, username):
    api = api_as(username)
    scan = Scan()
    for resource in RESOURCES:
        base = api_base(resource)
        users = shown_user_relations(resource)
        model = resource.datamodel.obj
        factory = FACTORIES.get(model)
        answers = {"_info": api.get(f"{base}/_info"), "list": api.get(f"{base}/")}
        if users:
            columns = prison.dumps({"columns": ["id", *sorted(users)]})
            answers["list of users"] = api.get(f"{base}/?q={columns}")
        listed = (answers["list"].get_json() or {}).get("ids") or []
        for pk in listed[:3]:
            answers[f"show {pk}"] = api.get(f"{base}/{pk}")
        if factory is not None:
            answers["add"] = api.post(f"{base}/", json=factory.json(factory.deps(dbx), 2))
            if listed:
                field, value = factory.edit
                answers["edit"] = api.put(f"{base}/{listed[0]}", json={field: value})
        for what, response in answers.items():
            assert response.status_code < 500, (resource.resource_name, what)
            scan.walk(f"{resource.resource_name} {what}", response.get_json(), users)
    spec = api.get("/api/v1/_openapi")
    nested_users_in_spec = scan.spec(spec.get_json() or {})
    assert not scan.problems, "\n".join(
        [f"{len(scan.problems)} account internals shown, e.g.:", *scan.problems[:10],
         *[p for p in scan.problems if p.startswith("spec")][:10]])
    if username == "admin":
        # Not a vacuous pass: every user the resources nest was met in the answers.
        assert spec.status_code == 200 and nested_users_in_spec
        expected = {(f"{r.resource_name} {what}", relation)
                    for r in RESOURCES for relation in shown_user_relations(r)
                    for what in ("list", "list of users")}
        assert expected and expected <= scan.users_seen, expected - scan.users_seen


def test_a_nested_user_is_a_name_and_how_to_reach_them(app, api, dbx):
    pk = INTEREST.create(dbx, n=1)
    with dbx.session() as s:
        s.execute(update(CrmUser).where(CrmUser.username == "manager")
                  .values(position="Sales manager", phone="+7 495 000-00-01"))
        s.commit()
    answer = api.get(f"/api/v1/interest/{pk}").get_json()["result"]
    assert answer["responsible"] == {
        "id": dbx.user_id("manager"), "name": "Manager Test", "position": "Sales manager",
        "email": "manager@test.local", "phone": "+7 495 000-00-01"}
    department = dbx.scalar(Department.__table__.select()
                            .where(Department.name == "Sales").with_only_columns(
                                Department.id))
    head = api.get(f"/api/v1/department/{department}").get_json()["result"]["head"]
    assert set(head) == ALLOWED and head["name"] == "Supervisor Test"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.resource_name)
def test_labels_and_titles_are_the_applications_own(app, api, resource):
    """Every column of every answer is labelled as the screens label it, translated."""
    base = api_base(resource)
    labels = {**LABELS, **API_LABELS}
    info = api.get(f"{base}/_info").get_json()
    listed = api.get(f"{base}/").get_json()
    columns = {*resource.list_columns, *resource.show_columns}
    assert set(listed["label_columns"]) == set(resource.list_columns)
    assert listed["label_columns"] == {c: tr(app, labels[c]) for c in resource.list_columns}
    for field in info["add_columns"] + info["edit_columns"]:
        assert field["label"] == tr(app, labels[field["name"]]), field["name"]
    assert set(resource.label_columns) >= columns
    screen_titles = {kind: tr(app, getattr(resource, kind))
                     for kind in ("list_title", "add_title", "edit_title")}
    assert listed["list_title"] == screen_titles["list_title"]
    assert info["add_title"] == screen_titles["add_title"]
    assert info["edit_title"] == screen_titles["edit_title"]
    if listed["ids"]:
        shown = api.get(f"{base}/{listed['ids'][0]}").get_json()
        assert shown["label_columns"] == {c: tr(app, labels[c]) for c in resource.show_columns}
