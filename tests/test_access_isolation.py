"""Manager A cannot reach manager B's records by id, whatever the path.

Manager B works in "Regions", outside A's department. A tries 20 of B's ids (four of each
owned entity) on every path that takes an id: show, the edit form and its POST, delete,
every bulk action of the screen, and GET/PUT/DELETE on the API. Every answer is 404 — the
same as for an id that does not exist, so ids cannot be probed — and afterwards B's rows
are byte for byte what they were (every column, the version and changed_on included), and
nothing was written to the history.

The Manager role is given the right to delete its own records for this test: without it
Flask-AppBuilder refuses deletes with 403 before the access filter is asked, and the point
is that the filter itself holds.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.api import RESOURCES
from app.models import ChangeLog, InterestProduct
from app.services.access import OWN
from app.services.rights import BUILTIN_ROLES
from app.views import CRUD_SCREENS
from tests.access_rules import OWNED_MODELS, build_company, bulk_actions, deps_for, row_dicts
from tests.factories import FACTORIES
from tests.helpers import route_of

SCREEN_OF = {view.datamodel.obj: view for view in CRUD_SCREENS}
RESOURCE_OF = {resource.datamodel.obj: resource for resource in RESOURCES}


def give_manager_delete(app) -> None:
    from app.database import db
    from app.services.rights import save_matrix

    matrix = dict(BUILTIN_ROLES["Manager"])
    for entity in ("client", "contact", "inquiry", "interest", "interaction"):
        matrix[(entity, "delete")] = OWN
    with app.app_context():
        save_matrix(app.appbuilder.sm.find_role("Manager"), matrix)
        db.session.remove()


def test_manager_a_gets_404_for_every_id_of_manager_b(app, dbx, client_as, api_as):
    company = build_company(dbx, per_owner=4)
    give_manager_delete(app)
    targets = [(model, pk) for model in OWNED_MODELS
               for pk in company.of_owner("manager_b", model)]
    assert len(targets) == 20
    lines = [(InterestProduct, pk) for pk in company.of_owner("manager_b", InterestProduct)]
    watched = {model: [pk for m, pk in targets + lines if m is model]
               for model in (*OWNED_MODELS, InterestProduct)}
    # What A sends: valid data linking A's own records (made before the snapshot).
    deps = {model: deps_for(FACTORIES[model].deps(dbx), company, "manager")
            for model in watched}
    before = {model: row_dicts(dbx, model, ids) for model, ids in watched.items()}
    history_before = dbx.scalar(select(func.count()).select_from(ChangeLog))

    screens, api = client_as("manager"), api_as("manager")
    answers = []
    for model, pk in targets + lines:
        view = SCREEN_OF[model]
        base = route_of(app, view)
        factory = FACTORIES[model]
        forged = {**factory.form(deps[model], pk), "version": "1"}
        calls = [
            ("GET show", lambda: screens.get(f"{base}/show/{pk}")),
            ("GET edit", lambda: screens.get(f"{base}/edit/{pk}")),
            ("POST edit", lambda: screens.post(f"{base}/edit/{pk}", data=forged)),
            ("POST delete", lambda: screens.post(f"{base}/delete/{pk}")),
        ]
        for name in bulk_actions(view):
            calls.append((f"bulk {name}", lambda name=name: screens.post(
                f"{base}/action_post", data={"action": name, "rowid": [str(pk)]})))
        resource = RESOURCE_OF.get(model)
        if resource is not None:
            url = f"/api/v1/{resource.resource_name}/{pk}"
            body = factory.json(deps[model], pk)
            calls += [("API GET", lambda: api.get(url)),
                      ("API PUT", lambda: api.put(url, json=body)),
                      ("API DELETE", lambda: api.delete(url))]
        for what, call in calls:
            answers.append((model.__name__, pk, what, call().status_code))

    wrong = [answer for answer in answers if answer[3] != 404]
    assert not wrong, f"{len(wrong)} of {len(answers)} answers are not 404: {wrong}"
    assert len(answers) >= 20 * 8
    for model, ids in watched.items():
        assert row_dicts(dbx, model, ids) == before[model], model.__name__
    assert dbx.scalar(select(func.count()).select_from(ChangeLog)) == history_before


def test_manager_b_reaches_the_same_ids(app, dbx, client_as, api_as):
    """The control: the ids are real, and their owner reaches them."""
    company = build_company(dbx, per_owner=4)
    screens, api = client_as("manager_b"), api_as("manager_b")
    for model in OWNED_MODELS:
        base = route_of(app, SCREEN_OF[model])
        resource = RESOURCE_OF[model]
        for pk in company.of_owner("manager_b", model):
            assert screens.get(f"{base}/show/{pk}").status_code == 200
            assert screens.get(f"{base}/edit/{pk}").status_code == 200
            assert api.get(f"/api/v1/{resource.resource_name}/{pk}").status_code == 200
