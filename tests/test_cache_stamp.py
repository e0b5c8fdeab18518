"""The cache stamp (app.services.stamp): every write to users, rights or directories raises
it, in the same transaction; what a process keeps between requests follows it, and a list
page then costs only the statements of its own rows."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text, update

from app.models import CacheStamp, Client, Department, DictionaryItem
from app.services.stamp import StampedCache, remember
from tests.factories import dictionary_item
from tests.helpers import text_of
from tests.volume import bulk_clients


def stamp_of(dbx) -> int:
    return dbx.scalar(select(CacheStamp.version).where(CacheStamp.id == 1))


def test_a_transaction_writing_watched_tables_raises_the_stamp_once(dbx):
    item = dictionary_item(dbx, "industry", "Shipbuilding")
    before = stamp_of(dbx)
    with dbx.session() as session:
        session.get(DictionaryItem, item).name = "Shipyards"           # ORM
        session.execute(update(Department.__table__).values(activity_norm=5))  # Core
        session.execute(text("UPDATE ab_role SET name = name"))        # SQL text
        session.commit()
    assert stamp_of(dbx) == before + 1


@pytest.mark.parametrize("statement", [
    "UPDATE ab_permission_view_role SET role_id = role_id",
    'UPDATE "ab_user" SET active = active',
    "DELETE FROM crm_department_role WHERE role_id = -1",
    "INSERT INTO crm_role_right (role_id, entity, action, scope) "
    "SELECT role_id, entity, action, scope FROM crm_role_right WHERE 1 = 0",
])
def test_every_kind_of_write_to_a_watched_table_counts(dbx, statement):
    before = stamp_of(dbx)
    with dbx.session() as session:
        session.execute(text(statement))
        session.commit()
    assert stamp_of(dbx) == before + 1


def test_records_reads_and_rollbacks_leave_the_stamp_alone(dbx):
    bulk_clients(dbx, 3)
    before = stamp_of(dbx)
    with dbx.session() as session:
        session.execute(update(Client).values(comment="seen"))
        session.execute(select(DictionaryItem)).all()
        session.commit()
    with dbx.session() as session:
        session.execute(insert(DictionaryItem).values(kind="industry", code="x", name="X"))
        session.rollback()
    assert stamp_of(dbx) == before


def test_a_stamped_cache_keeps_a_value_while_the_stamp_stays(app):
    cache, computed = StampedCache(), []

    def value(label):
        return lambda: computed.append(label) or label

    with app.test_request_context():
        remember(7)
        assert cache.get("k", value("a")) == "a"
        assert cache.get("k", value("b")) == "a"
        remember(8)                                 # another process changed something
        assert cache.get("k", value("c")) == "c"
        remember(7)                                 # a request that started before it
        assert cache.get("k", value("d")) == "d"
        remember(8)
        assert cache.get("k", value("e")) == "c"
        remember(None)                              # no stamp known: nothing is kept
        assert cache.get("k", value("f")) == "f"
        assert cache.get("k", value("g")) == "g"
    assert computed == ["a", "c", "d", "f", "g"]


@pytest.mark.parametrize("login", ["admin", "manager", "supervisor"])
def test_a_list_page_reads_the_user_and_its_rows_only(dbx, client_as, count_queries, login):
    """The user with the stamp and the bell's count, the page's ids, its rows: rights,
    departments, permissions and the search form come from what the process keeps."""
    browser = client_as(login)
    bulk_clients(dbx, 30, responsible=[login])
    browser.get("/clientview/list/")
    with count_queries() as counter:
        response = browser.get("/clientview/list/")
    assert response.status_code == 200, text_of(response)[:300]
    assert counter.count == 3, counter.dump()


def test_a_permission_taken_away_applies_on_the_next_request(app, dbx, client_as):
    """FAB's permissions are kept between requests too, and follow the stamp."""
    browser = client_as("manager")
    assert browser.get("/clientview/list/").status_code == 200
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Manager")
        permission = sm.find_permission_view_menu("can_list", "ClientView")
        sm.del_permission_role(role, permission)
    try:
        assert browser.get("/clientview/list/").status_code in (302, 403)
    finally:
        with app.app_context():
            sm.add_permission_role(sm.find_role("Manager"),
                                   sm.find_permission_view_menu("can_list", "ClientView"))
    assert browser.get("/clientview/list/").status_code == 200
