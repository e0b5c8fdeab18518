"""Deep pages of the whole clients list start from the list's position summary
(app.services.positions): they show exactly what OFFSET would, after any inserts, renames
and deletes, and the database's triggers keep the summary's counts exact."""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import delete, func, select, text, update

from app.models import Client, ListPosition, ListPositionChange, ListPositionOwner, client_tag
from app.rules.validation import normalize_search
from app.services import positions
from tests.helpers import shown_ids, text_of
from tests.volume import bulk_clients

PAGE = 5


@pytest.fixture
def small_stretches(monkeypatch):
    """Stretches of 7 rows, deep pages from the third page on."""
    monkeypatch.setattr(positions, "BUCKET_ROWS", 7)
    monkeypatch.setattr(positions, "DEEP_OFFSET", 2 * PAGE)
    monkeypatch.setattr(positions, "REBUILD_OVER", 1000)


def expected_page(dbx, page: int) -> list[int]:
    with dbx.session() as s:
        return list(s.execute(select(Client.id).order_by(Client.name_search, Client.id)
                              .offset(page * PAGE).limit(PAGE)).scalars())


def listed(browser, page: int) -> tuple[list[int], str]:
    response = browser.get(f"/clientview/list/?psize_ClientView={PAGE}&page_ClientView={page}")
    assert response.status_code == 200, text_of(response)[:300]
    return shown_ids(response, "/clientview"), text_of(response)


def summary_counts(dbx) -> dict[int, int]:
    """Rows per stretch as the summary says (counts plus noted changes)."""
    with dbx.session() as s:
        counts = dict(s.execute(select(ListPosition.bucket, ListPosition.rows)
                                .where(ListPosition.list_name == "client")).all())
        for bucket, delta in s.execute(select(ListPositionChange.bucket,
                                              func.sum(ListPositionChange.delta))
                                       .where(ListPositionChange.list_name == "client")
                                       .group_by(ListPositionChange.bucket)):
            counts[bucket] += delta
    return counts


def true_counts(dbx) -> dict[int, int]:
    """Rows per stretch, counted."""
    with dbx.session() as s:
        starts = s.execute(select(ListPosition.bucket, ListPosition.start_key,
                                  ListPosition.start_id)
                           .where(ListPosition.list_name == "client")
                           .order_by(ListPosition.bucket)).all()
        keys = s.execute(select(Client.name_search, Client.id)).all()
    counts = {bucket: 0 for bucket, _key, _id in starts}
    for key in keys:
        owner = max(bucket for bucket, start_key, start_id in starts
                    if (start_key, start_id) <= tuple(key))
        counts[owner] += 1
    return counts


def scramble(dbx, seed: int) -> None:
    """Inserts, renames (moving rows between stretches) and deletes."""
    rng = random.Random(seed)
    bulk_clients(dbx, 9)
    with dbx.session() as s:
        ids = sorted(s.execute(select(Client.id)).scalars())
        for pk in rng.sample(ids, 8):
            name = f"{rng.choice('АБВЯ')} renamed {pk}"
            s.execute(update(Client).where(Client.id == pk)
                      .values(name=name, name_search=normalize_search(name)))
        s.execute(update(Client).where(Client.id == ids[0]).values(comment="not the name"))
        gone = rng.sample(sorted(ids), 5)
        # As the foreign key's cascade would (SQLite enforces none here): the next bulk
        # insert may take a deleted client's id again.
        s.execute(delete(client_tag).where(client_tag.c.client_id.in_(gone)))
        s.execute(delete(Client).where(Client.id.in_(gone)))
        s.commit()


def test_deep_pages_show_what_offset_shows_after_any_writes(admin_client, dbx,
                                                             small_stretches):
    bulk_clients(dbx, 40)
    for round_ in range(3):
        total = dbx.count(Client)
        for page in range(total // PAGE + 2):
            shown, html = listed(admin_client, page)
            assert shown == expected_page(dbx, page), (round_, page)
        assert summary_counts(dbx) == true_counts(dbx)
        scramble(dbx, round_)


def record_count(html: str) -> str:
    found = re.search(r'crm-record-count">\s*<strong>[^<]*</strong>\s*([^<]*?)\s*</div>', html)
    assert found, "no record count on the page"
    return found.group(1)


def test_a_deep_page_knows_the_exact_length_of_the_list(admin_client, dbx, small_stretches):
    bulk_clients(dbx, 40)
    _shown, deep = listed(admin_client, 3)
    assert dbx.scalar(select(func.count()).select_from(ListPosition)) == 6  # 40 rows / 7
    assert record_count(deep) == "40"
    bulk_clients(dbx, 2)
    assert record_count(listed(admin_client, 3)[1]) == "42"
    shown, past_the_end = listed(admin_client, 20)
    assert shown == [] and record_count(past_the_end) == "42"


def test_the_record_count_is_written_the_way_the_language_writes_numbers(admin_client, dbx,
                                                                        small_stretches):
    bulk_clients(dbx, 1200)
    assert record_count(listed(admin_client, 3)[1]) == "1\xa0200"
    admin_client.get("/lang/en")
    try:
        assert record_count(listed(admin_client, 3)[1]) == "1,200"
    finally:
        admin_client.get("/lang/ru")


def test_a_deep_page_costs_two_statements_more_than_its_rows(admin_client, dbx,
                                                             count_queries, small_stretches):
    bulk_clients(dbx, 40)
    listed(admin_client, 5)
    with count_queries() as counter:
        shown, _html = listed(admin_client, 5)
    assert shown == expected_page(dbx, 5)
    assert counter.count == 4, counter.dump()


def upkeep(app) -> None:
    """The nightly job (app.jobs: positions_upkeep)."""
    from app.jobs import BY_ID, runner
    from app.models import utcnow

    with app.app_context():
        record = runner.run(BY_ID["positions_upkeep"], utcnow(), "manual")
        assert record is not None and record.status == "succeeded", record and record.error


def test_changes_are_folded_and_long_stretches_cut_again(app, admin_client, dbx, monkeypatch,
                                                         small_stretches):
    bulk_clients(dbx, 40)
    listed(admin_client, 3)                                 # builds the summary
    bulk_clients(dbx, 6)
    shown, _html = listed(admin_client, 3)                  # a page folds nothing
    assert shown == expected_page(dbx, 3)
    assert dbx.count(ListPositionChange) == 6
    upkeep(app)                                             # the night folds the 6 changes
    assert dbx.count(ListPositionChange) == 0
    assert summary_counts(dbx) == true_counts(dbx)

    with dbx.session() as s:                                # 30 rows into the first stretch
        s.execute(update(Client).where(Client.id.in_(
            select(Client.id).order_by(Client.id.desc()).limit(30).scalar_subquery()))
                  .values(name_search=text("'!' || name_search")))
        s.commit()
    monkeypatch.setattr(positions, "REBUILD_OVER", 20)
    upkeep(app)                                             # cuts the list again
    assert max(summary_counts(dbx).values()) <= 7
    for page in range(10):
        assert listed(admin_client, page)[0] == expected_page(dbx, page)


def owner_summary_counts(dbx) -> dict[tuple[int, int], int]:
    """Rows per (stretch, owner) as the summary says (counts plus noted changes)."""
    counts: dict[tuple[int, int], int] = {}
    with dbx.session() as s:
        for bucket, owner, rows in s.execute(select(
                ListPositionOwner.bucket, ListPositionOwner.owner_id, ListPositionOwner.rows)):
            counts[bucket, owner] = counts.get((bucket, owner), 0) + rows
        for bucket, owner, delta in s.execute(select(
                ListPositionChange.bucket, ListPositionChange.owner_id, ListPositionChange.delta)):
            counts[bucket, owner] = counts.get((bucket, owner), 0) + delta
    return {key: rows for key, rows in counts.items() if rows}


def owner_true_counts(dbx) -> dict[tuple[int, int], int]:
    """Rows per (stretch, owner), counted."""
    with dbx.session() as s:
        starts = s.execute(select(ListPosition.bucket, ListPosition.start_key,
                                  ListPosition.start_id)).all()
        rows = s.execute(select(Client.name_search, Client.id, Client.responsible_id)).all()
    counts: dict[tuple[int, int], int] = {}
    for key, pk, owner in rows:
        bucket = max(b for b, start_key, start_id in starts if (start_key, start_id) <= (key, pk))
        counts[bucket, owner or 0] = counts.get((bucket, owner or 0), 0) + 1
    return counts


def reassign_some(dbx, seed: int) -> None:
    """Hand some clients to another manager, take the manager away from others."""
    rng = random.Random(seed)
    people = [dbx.user_id(u) for u in ("manager", "manager_b", "supervisor")]
    with dbx.session() as s:
        ids = sorted(s.execute(select(Client.id)).scalars())
        for pk in rng.sample(ids, 6):
            s.execute(update(Client).where(Client.id == pk)
                      .values(responsible_id=rng.choice(people)))
        s.execute(update(Client).where(Client.id.in_(rng.sample(ids, 2)))
                  .values(responsible_id=None))
        s.commit()


NARROWED = ["manager", "manager_b", "supervisor", "readonly"]


def test_lists_narrowed_to_some_owners_find_deep_pages_from_the_summary(
        client_as, dbx, monkeypatch, small_stretches):
    """A manager's and a head of department's lists (the access filter keeps some owners'
    rows) start their deep pages from the owners' counts, and show exactly what OFFSET over
    the rows they may read shows, after inserts, renames, deletes and changes of owner."""
    bulk_clients(dbx, 25, responsible=["manager"])
    bulk_clients(dbx, 20, responsible=["manager_b", "supervisor"])
    bulk_clients(dbx, 15, responsible=["admin", "manager"])
    browsers = {user: client_as(user) for user in NARROWED}
    for round_ in range(3):
        for user, browser in browsers.items():
            monkeypatch.setattr(positions, "DEEP_OFFSET", 10 ** 9)
            everything = []
            for page in range(20):
                shown, _html = listed(browser, page)
                if not shown:
                    break
                everything.append(shown)
            monkeypatch.setattr(positions, "DEEP_OFFSET", 2 * PAGE)
            for page, expected in enumerate(everything + [[]]):
                shown, html = listed(browser, page)
                assert shown == expected, (round_, user, page)
            if everything and len(everything) > 2:
                total = sum(len(ids) for ids in everything)
                assert record_count(html) == str(total), (round_, user)
        assert owner_summary_counts(dbx) == owner_true_counts(dbx)
        assert summary_counts(dbx) == true_counts(dbx)
        scramble(dbx, round_)
        reassign_some(dbx, round_)


def test_the_owners_of_a_narrowed_list_are_what_the_access_filter_keeps(app, dbx):
    from app.database import db
    from app.models import CrmUser
    from app.services import access

    bulk_clients(dbx, 12, responsible=["manager", "manager_b", "supervisor", "admin"])
    with dbx.session() as s:
        s.execute(update(Client).where(Client.id == s.scalar(select(func.min(Client.id))))
                  .values(responsible_id=None))
        s.commit()
    for user in NARROWED + ["admin"]:
        with app.test_request_context():
            person = db.session.get(CrmUser, dbx.user_id(user))
            kept = set(db.session.execute(select(Client.id).where(
                access.condition(Client, "read", user=person))).scalars())
            owners = access.readable_owners(Client, user=person)
            everyone = select(Client.id)
            if owners is not access.EVERY_OWNER:
                everyone = everyone.where(Client.responsible_id.in_(owners))
            assert set(db.session.execute(everyone).scalars()) == kept, user
            db.session.remove()


def test_a_managers_deep_page_costs_a_bounded_number_of_statements(client_as, dbx,
                                                                   count_queries, monkeypatch,
                                                                   small_stretches):
    bulk_clients(dbx, 40, responsible=["manager"])
    bulk_clients(dbx, 40, responsible=["manager_b"])
    manager = client_as("manager")
    located = []
    locate = positions.locate
    monkeypatch.setattr(positions, "locate", lambda *args, **kwargs: located.append(
        args[-1]) or locate(*args, **kwargs))
    listed(manager, 5)
    assert located == [frozenset({dbx.user_id("manager")})]
    with count_queries() as counter:
        listed(manager, 5)
    with count_queries() as deeper:
        listed(manager, 7)
    assert counter.count == deeper.count <= 6, counter.dump()


def test_a_busy_summary_is_left_for_later_and_the_page_still_served(app, admin_client, dbx,
                                                                    monkeypatch,
                                                                    small_stretches):
    """Folding the changes needs a lock; when another transaction holds it, the page is
    served from the summary as it is (changes included) and the nightly job leaves the
    fold for its next run."""
    from app.database import db

    bulk_clients(dbx, 40)
    listed(admin_client, 3)                                 # builds the summary
    bulk_clients(dbx, 6)
    with app.app_context():
        blocker = db.engine.raw_connection()
        on_postgresql = db.engine.dialect.name == "postgresql"
    try:
        cursor = blocker.cursor()
        if on_postgresql:
            cursor.execute("LOCK TABLE crm_list_position IN EXCLUSIVE MODE")
        else:
            cursor.execute("BEGIN IMMEDIATE")
        shown, html = listed(admin_client, 3)
        assert shown == expected_page(dbx, 3)
        assert record_count(html) == "46"
        with app.app_context():
            assert positions.upkeep(db.session) == 0         # busy: left for the next run
            db.session.remove()
    finally:
        blocker.rollback()
        blocker.close()
    assert dbx.count(ListPositionChange) == 6
    upkeep(app)                                             # now it folds
    assert dbx.count(ListPositionChange) == 0
    assert summary_counts(dbx) == true_counts(dbx)
