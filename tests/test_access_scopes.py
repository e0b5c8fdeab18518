"""Scopes beyond the screens' own lists: department roles, related lists on show pages,
select boxes, the start page, and the cost of the filter.

Expectations come from the rules in tests/access_rules.py.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app.api import RESOURCES
from app.models import Client, Contact, CrmUser, Department, Inquiry, Interaction, Interest
from app.services.access import NONE, OWN, SUBTREE
from app.services.rights import BUILTIN_ROLES
from app.views import CRUD_SCREENS
from tests.access_rules import (
    OWNED_MODELS,
    OWNER_COLUMN,
    OWNERS,
    Records,
    build_company,
    entity_of,
    expected_visible,
    who,
)
from tests.factories import FACTORIES
from tests.helpers import form_errors, form_fields, route_of, shown_ids, text_of
from tests.test_lists import user_sort_key
from tests.volume import bulk_clients

# --- department roles --------------------------------------------------------------------


def give_department_role(app, admin_client, department: str, role: str) -> None:
    """The administrator adds a role to a department on the department's edit form."""
    from app.database import db

    with app.app_context():
        dep_id = db.session.execute(
            select(Department.id).where(Department.name == department)).scalar_one()
        role_id = app.appbuilder.sm.find_role(role).id
        db.session.remove()
    form = form_fields(text_of(admin_client.get(f"/departmentview/edit/{dep_id}")))
    form["roles"] = [*form.get("roles", []), str(role_id)]
    response = admin_client.post(f"/departmentview/edit/{dep_id}", data=form)
    assert response.status_code == 302, form_errors(text_of(response))


def listed(browser, base: str, name: str) -> set[int]:
    response = browser.get(f"{base}/list/?psize_{name}=100")
    assert response.status_code == 200, response.status_code
    return set(shown_ids(text_of(response), base))


@pytest.mark.parametrize("role", ["Read-only", "Supervisor"])
def test_a_department_role_gives_its_members_its_scopes(app, dbx, admin_client, client_as,
                                                        api_as, role):
    """Manager B's own role reads their own clients; a role given to Regions widens what
    the access filter lets them read, on the next request."""
    company = build_company(dbx)
    manager_b = client_as("manager_b")
    assert listed(manager_b, "/clientview", "ClientView") == \
        set(company.of_owner("manager_b", Client))

    give_department_role(app, admin_client, "Regions", role)
    w = who(dbx, "manager_b")
    assert w.department_roles == (role,)
    records = Records(dbx)
    for model in OWNED_MODELS:
        view = next(v for v in CRUD_SCREENS if v.datamodel.obj is model)
        expected = expected_visible(w, model, records)
        assert listed(manager_b, route_of(app, view), view.__name__) == expected, model
    expected = expected_visible(w, Client, records)
    if role == "Read-only":
        assert expected == records.ids(Client)
    response = api_as("manager_b").get("/api/v1/client/?q=(page_size:100)")
    assert set(response.get_json()["ids"]) == expected


def test_a_department_role_opens_its_screens(app, dbx, admin_client, client_as, api_as):
    """Read-only reads the settings, Manager does not: given to Regions, it opens the
    departments' screen, menu and resource to manager B."""
    build_company(dbx)
    assert BUILTIN_ROLES["Manager"].get(("settings", "read"), NONE) == NONE
    give_department_role(app, admin_client, "Regions", "Read-only")
    manager_b = client_as("manager_b")
    assert manager_b.get("/departmentview/list/").status_code == 200
    assert 'href="/departmentview/list/"' in text_of(manager_b.get("/"))
    assert api_as("manager_b").get("/api/v1/department/").status_code == 200


# --- related lists -----------------------------------------------------------------------


def _parent_column(related_model, parent_model):
    for relation in sa_inspect(related_model).relationships:
        if relation.direction.name == "MANYTOONE" and relation.mapper.class_ is parent_model:
            return list(relation.local_columns)[0]
    raise LookupError((related_model, parent_model))


RELATED_CASES = [pytest.param(view, id=view.__name__) for view in CRUD_SCREENS
                 if view.related_views]


@pytest.mark.parametrize("view", RELATED_CASES)
def test_related_lists_show_only_records_in_scope(app, dbx, client_as, view):
    """On every show page with related lists, each list holds exactly the linked records
    the user may read — whoever's the page."""
    build_company(dbx)
    model = view.datamodel.obj
    base = route_of(app, view)
    checked = 0
    for login in OWNERS:
        browser = client_as(login)
        w = who(dbx, login)
        records = Records(dbx)
        for pk in sorted(expected_visible(w, model, records)):
            page = text_of(browser.get(f"{base}/show/{pk}"))
            for related in view.related_views:
                related_model = related.datamodel.obj
                column = _parent_column(related_model, model)
                linked = set(dbx.all(select(related_model.id).where(column == pk)))
                expected = linked & expected_visible(w, related_model, records)
                related_base = route_of(app, related)
                assert set(shown_ids(page, related_base)) == expected, \
                    (login, model.__name__, pk, related_model.__name__)
                checked += bool(linked - expected)
    assert checked, "the company has no linked record out of anyone's scope"


# --- select boxes ------------------------------------------------------------------------

LOOKUPS = {"client": Client, "contact": Contact, "interest": Interest}


@pytest.mark.parametrize("entity", LOOKUPS)
def test_lookups_offer_only_records_in_scope(dbx, client_as, entity):
    build_company(dbx)
    model = LOOKUPS[entity]
    term = {"client": "Клиент", "contact": "Контакт", "interest": "Интерес"}[entity]
    for login in OWNERS:
        w = who(dbx, login)
        expected = expected_visible(w, model, Records(dbx))
        for query in ("", f"?q={term}"):
            response = client_as(login).get(f"/lookup/{entity}{query}")
            assert response.status_code == 200
            found = {item["id"] for item in response.get_json()["results"]}
            assert found == expected, (login, query)


def assignable(dbx, w, model) -> set[int]:
    """The users `w` may make responsible for a record of `model`, by the rules."""
    users = [user.id for user in dbx.all(select(CrmUser))]
    scope = w.scope(entity_of(model), "reassign")
    if scope in (NONE, OWN):
        return {w.user_id}
    return {pk for pk in users if w.owner_within(pk, scope, "reassign")}


@pytest.mark.parametrize("model", [pytest.param(m, id=m.__name__) for m in OWNED_MODELS])
def test_the_responsible_select_offers_assignable_users_only(app, dbx, client_as, model):
    view = next(v for v in CRUD_SCREENS if v.datamodel.obj is model)
    field = OWNER_COLUMN[model][:-3]
    for login in OWNERS:
        w = who(dbx, login)
        response = client_as(login).get(f"{route_of(app, view)}/add")
        if not w.screen_right(entity_of(model), "add"):
            assert response.status_code == 403
            continue
        select_html = text_of(response).split(f'name="{field}"', 1)[1].split("</select>")[0]
        offered = {int(v) for v in re.findall(r'value="(\d+)"', select_html)}
        assert offered == assignable(dbx, w, model), login
        if w.scope(entity_of(model), "reassign") == SUBTREE:
            assert offered == {dbx.user_id("supervisor"), dbx.user_id("manager")}


# --- the start page ----------------------------------------------------------------------


def figures(response) -> list[int]:
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'class="crm-figure[^"]*">\s*(\d+)\s*<',
                                        text_of(response))]


def expected_figures(dbx, login) -> list[int]:
    """Overdue and today's planned interactions, open interests: the user's own, if they may
    read them; new inquiries: every one in their scope."""
    from app.services.clock import local_day_bounds_utc, local_today, utcnow

    w = who(dbx, login)
    records = Records(dbx)
    now = utcnow()
    _start, end = local_day_bounds_utc(local_today())

    def own_readable(model):
        return {pk for pk in expected_visible(w, model, records)
                if records.of(model)[pk]["owner"] == w.user_id}

    interactions = {i.id: i for i in dbx.all(select(Interaction))}
    planned = [interactions[pk] for pk in own_readable(Interaction)
               if interactions[pk].status == "planned"]
    interests = {i.id: i for i in dbx.all(select(Interest))}
    inquiries = {i.id: i for i in dbx.all(select(Inquiry))}
    return [
        sum(i.planned_at < now for i in planned),
        sum(now <= i.planned_at < end for i in planned),
        sum(interests[pk].closed_at is None for pk in own_readable(Interest)),
        sum(inquiries[pk].status == "new" for pk in expected_visible(w, Inquiry, records)),
    ]


def test_start_page_figures_count_records_in_scope(dbx, client_as):
    build_company(dbx)
    for login in OWNERS:
        assert figures(client_as(login).get("/")) == expected_figures(dbx, login), login
    assert expected_figures(dbx, "supervisor")[3] == 2  # Sales' new inquiries
    assert expected_figures(dbx, "manager")[3] == 1


def test_start_page_figures_follow_the_matrix(app, dbx, client_as):
    """Without the right to read interactions and interests, the manager's figures of them
    are empty, even for their own."""
    from app.database import db
    from app.services.rights import save_matrix

    build_company(dbx)
    matrix = {cell: scope for cell, scope in BUILTIN_ROLES["Manager"].items()
              if cell[0] not in ("interaction", "interest", "inquiry")}
    with app.app_context():
        save_matrix(app.appbuilder.sm.find_role("Manager"), matrix)
        db.session.remove()
    w = who(dbx, "manager", matrices={**BUILTIN_ROLES, "Manager": matrix})
    assert w.scope("interaction", "read") == NONE
    assert figures(client_as("manager").get("/")) == [0, 0, 0, 0]


# --- the cost of the filter --------------------------------------------------------------


def _statements(browser, count_queries, url):
    browser.get(url)  # warm up
    with count_queries() as counter:
        response = browser.get(url)
    return counter, response


@pytest.mark.parametrize("login", ["manager", "supervisor"])
def test_the_filter_adds_no_statement_per_row(dbx, client_as, count_queries, login):
    """A manager's (own scope) and a supervisor's (subtree) client list, on the screen and
    in the API, cost the same number of statements with 10 and with 100 rows of their own."""
    browser = client_as(login)
    url = "/clientview/list/?psize_ClientView=100"
    api_url = "/api/v1/client/?q=(page_size:100)"
    bulk_clients(dbx, 30, responsible=["manager_b", "admin", "readonly"])
    bulk_clients(dbx, 10, responsible=[login])
    small, response = _statements(browser, count_queries, url)
    assert len(shown_ids(text_of(response), "/clientview")) == 10
    api_small, api_response = _statements(browser, count_queries, api_url)
    assert len(api_response.get_json()["ids"]) == 10
    bulk_clients(dbx, 90, responsible=[login])
    large, response = _statements(browser, count_queries, url)
    assert len(shown_ids(text_of(response), "/clientview")) == 100
    assert small.count == large.count, large.dump()
    api_large, api_response = _statements(browser, count_queries, api_url)
    assert len(api_response.get_json()["ids"]) == 100
    assert api_small.count == api_large.count, api_large.dump()


@pytest.mark.parametrize("login", ["manager", "supervisor"])
def test_sorting_by_responsible_reads_only_the_users_the_reader_may_see(
        dbx, client_as, count_queries, login):
    """The list sorted by responsible is one index range per user: users none of whose
    clients the reader may see are left out of the statement, and the order is right."""
    browser = client_as(login)
    everyone = ["admin", "supervisor", "manager", "manager_b", "readonly"]
    bulk_clients(dbx, 25, responsible=everyone)
    base = "/clientview/list/?psize_ClientView=100"
    visible = set(shown_ids(text_of(browser.get(base)), "/clientview"))
    users = {u.id: u for u in dbx.all(select(CrmUser))}
    owners = {dbx.get(Client, pk).responsible_id for pk in visible}
    assert 0 < len(owners) < len(everyone)

    sorted_url = f"{base}&_oc_ClientView=responsible&_od_ClientView=asc"
    counter, response = _statements(browser, count_queries, sorted_url)
    by_name = sorted(visible, key=lambda pk: (
        user_sort_key(users[dbx.get(Client, pk).responsible_id]), pk))
    assert shown_ids(text_of(response), "/clientview") == by_name
    page_statement = next(s for s in counter.statements if "UNION ALL" in s)
    branches = page_statement.count("UNION ALL") + 1
    # One per user whose clients the reader sees, one for clients without a responsible.
    assert branches == len(owners) + 1, page_statement


# --- links -------------------------------------------------------------------------------

LINK_CASES = [pytest.param(model, id=model.__name__) for model in (Contact, Interest)]


@pytest.mark.parametrize("model", [*LINK_CASES, pytest.param(Interaction, id="Interaction")])
def test_a_link_kept_as_it_was_needs_no_sight_of_the_linked_record(app, dbx, client_as,
                                                                  api_as, model):
    """Manager A's record 1 links a client (and, for an interaction, an interest) of another
    employee — one given to someone else since, say. A cannot see it, yet may still change
    their record: the link stays as it was."""
    company = build_company(dbx)
    pk = company.own("manager", model, 1)
    w = who(dbx, "manager")
    records = Records(dbx)
    linked = dbx.get(model, pk).client_id
    assert linked not in expected_visible(w, Client, records)
    view = next(v for v in CRUD_SCREENS if v.datamodel.obj is model)
    base = route_of(app, view)
    browser = client_as("manager")

    form = form_fields(text_of(browser.get(f"{base}/edit/{pk}")))
    assert form["client"] == str(linked)
    field = FACTORIES[model].edit[0]
    form[field] = "Changed by A"
    response = browser.post(f"{base}/edit/{pk}", data=form)
    assert response.status_code == 302, form_errors(text_of(response))
    saved = dbx.get(model, pk)
    assert (getattr(saved, field), saved.client_id) == ("Changed by A", linked)

    resource = next(r for r in RESOURCES if r.datamodel.obj is model)
    response = api_as("manager").put(f"/api/v1/{resource.resource_name}/{pk}",
                                     json={field: "Changed again"})
    assert response.status_code == 200, response.get_json()
    assert dbx.get(model, pk).client_id == linked


@pytest.mark.parametrize("model", LINK_CASES)
def test_a_new_link_needs_sight_of_the_linked_record(app, dbx, client_as, api_as, model):
    company = build_company(dbx)
    pk = company.own("manager", model, 0)
    hidden = company.own("manager_b", Client, 0)
    own_client = dbx.get(model, pk).client_id
    view = next(v for v in CRUD_SCREENS if v.datamodel.obj is model)
    base = route_of(app, view)
    browser = client_as("manager")
    before = dbx.get(model, pk)

    form = form_fields(text_of(browser.get(f"{base}/edit/{pk}")))
    form["client"] = str(hidden)
    response = browser.post(f"{base}/edit/{pk}", data=form)
    assert response.status_code == 200
    assert "client" in form_errors(text_of(response))

    resource = next(r for r in RESOURCES if r.datamodel.obj is model)
    response = api_as("manager").put(f"/api/v1/{resource.resource_name}/{pk}",
                                     json={"client": hidden})
    assert response.status_code == 422, response.get_json()
    after = dbx.get(model, pk)
    assert (after.client_id, after.version) == (own_client, before.version)


def test_history_names_only_linked_records_in_scope(dbx, client_as):
    """An interaction of mine about someone else's client: its history gives that client's
    number, not its name."""
    company = build_company(dbx)
    interaction_id = company.own("manager", Interaction, 1)
    interaction = dbx.get(Interaction, interaction_id)
    other_client = dbx.get(Client, interaction.client_id)
    assert other_client.responsible_id != company.users["manager"]
    w = who(dbx, "manager")
    assert other_client.id not in expected_visible(w, Client, Records(dbx))

    page = client_as("manager").get(f"/interactionview/show/{interaction_id}")
    assert page.status_code == 200
    history = page.get_data(as_text=True).split("crm-history", 1)[1]
    assert other_client.name not in history
    assert f"#{other_client.id}" in history
