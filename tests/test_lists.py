"""Lists cost a bounded number of SQL statements whatever their size, and sort correctly by
related columns."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select, update

from app.models import Client, CrmUser, Interest, Stage
from app.rules.validation import normalize_search
from tests.helpers import shown_ids, text_of
from tests.volume import bulk_clients, bulk_interests

MAX_STATEMENTS = 10


def statements_for(client, count_queries, url: str):
    client.get(url)  # warm up: first-request work is not the list's cost
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, text_of(response)[:500]
    return counter, response


@pytest.mark.parametrize("url,base,make", [
    ("/clientview/list/?psize_ClientView=100", "/clientview", bulk_clients),
    ("/interestview/list/?psize_InterestView=100", "/interestview", bulk_interests),
    ("/clientview/list/?psize_ClientView=100&_oc_ClientView=responsible&_od_ClientView=asc",
     "/clientview", bulk_clients),
    ("/interestview/list/?psize_InterestView=100&_oc_InterestView=stage&_od_InterestView=desc",
     "/interestview", bulk_interests),
], ids=["clients", "interests", "clients-by-responsible", "interests-by-stage"])
def test_list_page_statement_count_does_not_grow_with_rows(admin_client, dbx, count_queries,
                                                          url, base, make):
    make(dbx, 10)
    small, response = statements_for(admin_client, count_queries, url)
    assert len(shown_ids(response, base)) == 10
    make(dbx, 90)
    large, response = statements_for(admin_client, count_queries, url)
    assert len(shown_ids(response, base)) == 100
    assert small.count == large.count, large.dump()
    assert large.count <= MAX_STATEMENTS, large.dump()


@pytest.mark.parametrize("resource,make", [("client", bulk_clients),
                                           ("interest", bulk_interests)])
def test_api_list_statement_count_does_not_grow_with_rows(api, dbx, count_queries, resource,
                                                          make):
    url = f"/api/v1/{resource}/?q=(page_size:100)"
    make(dbx, 10)
    api.get(url)
    with count_queries() as small:
        response = api.get(url)
    assert len(response.get_json()["result"]) == 10
    make(dbx, 90)
    with count_queries() as large:
        response = api.get(url)
    body = response.get_json()
    assert len(body["result"]) == 100
    # Related records come with the rows.
    assert all(row["responsible"] for row in body["result"])
    assert all(row["tags"] for row in body["result"])
    assert small.count == large.count, large.dump()
    assert large.count <= MAX_STATEMENTS, large.dump()


def test_show_page_statement_count_is_bounded(admin_client, dbx, count_queries):
    """A client's page with its related lists costs the same with 5 or 30 contacts."""
    from tests.factories import CONTACT

    deps = CONTACT.deps(dbx)
    for n in range(5):
        CONTACT.create(dbx, deps, n=n)
    url = f"/clientview/show/{deps['client']}"
    small, _ = statements_for(admin_client, count_queries, url)
    for n in range(5, 30):
        CONTACT.create(dbx, deps, n=n)
    large, _ = statements_for(admin_client, count_queries, url)
    assert small.count == large.count, large.dump()


def user_sort_key(user: CrmUser):
    """How a list sorts by a user: first name, last name (app.fab.datamodel.related_sort_columns)."""
    return (user.first_name or "", user.last_name or "")


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_clients_sort_by_responsible(admin_client, dbx, direction):
    ids = bulk_clients(dbx, 12, responsible=["supervisor", "admin", "readonly", "manager"])
    with dbx.session() as s:  # two clients without a responsible manager
        s.execute(update(Client).where(Client.id.in_(ids[:2])).values(responsible_id=None))
        s.commit()
    response = admin_client.get(f"/clientview/list/?psize_ClientView=100"
                                f"&_oc_ClientView=responsible&_od_ClientView={direction}")
    assert response.status_code == 200
    clients = {c.id: c for c in dbx.all(select(Client))}
    users = {u.id: u for u in dbx.all(select(CrmUser))}
    assigned = [pk for pk in clients if clients[pk].responsible_id is not None]
    unassigned = [pk for pk in clients if clients[pk].responsible_id is None]
    by_manager = sorted(assigned, key=lambda pk: (
        user_sort_key(users[clients[pk].responsible_id]), pk))
    if direction == "asc":
        # By manager, then oldest first; clients without a manager last.
        expected = by_manager + sorted(unassigned)
    else:
        expected = sorted(unassigned, reverse=True) + by_manager[::-1]
    assert shown_ids(response, "/clientview") == expected


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_interests_sort_by_stage(admin_client, dbx, direction):
    bulk_interests(dbx, 21)
    response = admin_client.get(f"/interestview/list/?psize_InterestView=100"
                                f"&_oc_InterestView=stage&_od_InterestView={direction}")
    assert response.status_code == 200
    shown = shown_ids(response, "/interestview")
    assert len(shown) == 21
    interests = {i.id: i for i in dbx.all(select(Interest))}
    stages = {s.id: s for s in dbx.all(select(Stage))}
    stage_keys = [(stages[interests[pk].stage_id].sort, stages[interests[pk].stage_id].name)
                  for pk in shown]
    assert stage_keys == sorted(stage_keys, reverse=(direction == "desc"))
    # Within a stage: by id in the same direction.
    for a, b in itertools.pairwise(shown):
        if interests[a].stage_id == interests[b].stage_id:
            assert (a < b) == (direction == "asc")


def test_sort_by_a_related_column_pages_correctly(admin_client, dbx):
    bulk_clients(dbx, 30, responsible=["supervisor", "admin", "manager"])
    url = "/clientview/list/?psize_ClientView=7&_oc_ClientView=responsible&_od_ClientView=asc"
    everything = shown_ids(admin_client.get(url.replace("psize_ClientView=7",
                                                        "psize_ClientView=100")), "/clientview")
    paged = []
    for page in range(5):
        paged += shown_ids(admin_client.get(f"{url}&page_ClientView={page}"), "/clientview")
    assert paged == everything
    assert len(paged) == 30


def test_sort_by_a_plain_column(admin_client, dbx):
    bulk_clients(dbx, 15)
    names = {c.id: c.name for c in dbx.all(select(Client))}
    for direction in ("asc", "desc"):
        response = admin_client.get(f"/clientview/list/?_oc_ClientView=name"
                                    f"&_od_ClientView={direction}")
        shown = shown_ids(response, "/clientview")
        assert [names[pk] for pk in shown] == sorted(names.values(),
                                                     reverse=(direction == "desc"))


def test_sort_by_a_column_follows_its_index_for_equal_values(admin_client, dbx):
    """Clients with the same INN (branches of one company) come in name order: the list
    walks the INN index (INN, name) instead of sorting."""
    ids = bulk_clients(dbx, 12)
    with dbx.session() as s:
        for pk, name in zip(ids[:4], ["Дельта", "Альфа", "Гамма", "Бета"], strict=True):
            s.execute(update(Client).where(Client.id == pk).values(
                inn="7707083893", name=name, name_search=normalize_search(name)))
        s.commit()
    rows = {c.id: (c.inn or "", c.name_search, c.id) for c in dbx.all(select(Client))}
    for direction in ("asc", "desc"):
        shown = shown_ids(admin_client.get(f"/clientview/list/?_oc_ClientView=inn"
                                           f"&_od_ClientView={direction}"), "/clientview")
        assert shown == sorted(rows, key=rows.get, reverse=(direction == "desc"))


def test_list_filters_work(admin_client, dbx):
    bulk_clients(dbx, 20)
    response = admin_client.get("/clientview/list/?_flt_0_name=Клиент 00000")
    assert response.status_code == 200
    assert len(shown_ids(response, "/clientview")) == 9  # 000001 .. 000009
    manager = dbx.user_id("manager")
    response = admin_client.get(f"/clientview/list/?_flt_0_responsible={manager}")
    shown = shown_ids(response, "/clientview")
    assert shown and all(dbx.get(Client, pk).responsible_id == manager for pk in shown)


def test_relation_filters_compare_keys(admin_client, api, dbx, count_queries):
    """"Responsible is X" lists X's clients and nothing for an id nobody has (not the
    clients without a responsible); "is not X" also lists those without one."""
    ids = bulk_clients(dbx, 12)
    with dbx.session() as s:
        s.execute(update(Client).where(Client.id == ids[0]).values(responsible_id=None))
        s.commit()
    owners = {c.id: c.responsible_id for c in dbx.all(select(Client))}
    manager = dbx.user_id("manager")

    def listed(query: str) -> set[int]:
        response = admin_client.get(f"/clientview/list/?psize_ClientView=100&{query}")
        assert response.status_code == 200
        return set(shown_ids(response, "/clientview"))

    assert listed(f"_flt_0_responsible={manager}") == {
        pk for pk, owner in owners.items() if owner == manager}
    for nobody in ("987654321", "abc", "99999999999999999999", ""):
        assert listed(f"_flt_0_responsible={nobody}") == set(), nobody
    assert listed(f"_flt_1_responsible={manager}") == {
        pk for pk, owner in owners.items() if owner != manager}
    assert listed("_flt_1_responsible=987654321") == set(owners)
    response = api.get("/api/v1/client/", query_string={
        "q": "(filters:!((col:responsible,opr:rel_o_m,value:987654321)))"})
    assert response.status_code == 200 and response.get_json()["count"] == 0
    # The filter compares keys: the manager is not loaded first.
    admin_client.get(f"/clientview/list/?_flt_0_responsible={manager}")
    with count_queries() as filtered:
        admin_client.get(f"/clientview/list/?_flt_0_responsible={manager}")
    admin_client.get("/clientview/list/")
    with count_queries() as unfiltered:
        admin_client.get("/clientview/list/")
    assert filtered.count == unfiltered.count, filtered.dump()


def test_api_name_search_is_the_screens_search_in_name_order(api, dbx, count_queries):
    """`sw` on a name is the screen's indexed search (case and "ё" ignored), and clients
    come in name order, as on the screen."""
    ids = bulk_clients(dbx, 30)
    with dbx.session() as s:
        s.execute(update(Client).where(Client.id == ids[3])
                  .values(name="Ёлка и Ко", name_search="елка и ко"))
        s.commit()
    names = {c.id: c.name for c in dbx.all(select(Client))}

    def found(value: str) -> list[str]:
        with count_queries() as counter:
            response = api.get("/api/v1/client/", query_string={
                "q": f"(filters:!((col:name,opr:sw,value:'{value}')),page_size:100)"})
        assert response.status_code == 200, response.get_json()
        page = next(s for s in counter.statements if "crm_client" in s and "LIMIT" in s)
        assert "name_search" in page and "LIKE" not in page.upper(), page
        return [row["name"] for row in response.get_json()["result"]]

    assert found("клиент 00000") == sorted(n for n in names.values() if n.startswith("Клиент 00000"))
    assert found("ЕЛКА") == ["Ёлка и Ко"]
    everyone = api.get("/api/v1/client/", query_string={"q": "(page_size:100)"}).get_json()
    shown = [row["name"] for row in everyone["result"]]
    assert shown == sorted(shown, key=lambda n: n.lower().replace("ё", "е"))


def test_api_filter_operations_are_the_columns_own(api):
    for q in ["(filters:!((col:name,opr:gt,value:a)))", "(filters:!((col:name,opr:ew,value:a)))"]:
        response = api.get("/api/v1/client/", query_string={"q": q})
        assert response.status_code == 400, response.get_json()
