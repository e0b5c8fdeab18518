"""Changes go through the service commands in one unit of work: a command that writes two
records commits once or leaves nothing, and what the database refuses comes back as a
message the user can read, by the kind of rule and the columns it covers."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from app.models import Client, DictionaryItem
from app.services import commands, records
from app.services.actor import acting_as
from app.services.unit_of_work import in_unit_of_work, unit_of_work


@pytest.fixture
def as_admin(app, dbx):
    from app.database import db

    with app.test_request_context(), acting_as(dbx.user_id("admin")):
        yield db.session
        db.session.remove()


def names(dbx) -> list[str]:
    return dbx.all(select(Client.name).order_by(Client.id))


def test_two_records_in_one_unit_are_committed_once(as_admin, dbx):
    commits, session = [], as_admin()
    count = commits.append
    event.listen(session, "after_commit", count)
    try:
        with unit_of_work():
            commands.create(Client(kind="company", name="ООО «Первый»"))
            assert in_unit_of_work()
            commands.create(Client(kind="company", name="ООО «Второй»"))
            assert names(dbx) == []  # not committed before the unit ends
    finally:
        event.remove(session, "after_commit", count)
    assert len(commits) == 1
    assert names(dbx) == ["ООО «Первый»", "ООО «Второй»"]


def test_when_the_second_record_is_refused_nothing_is_left(as_admin, dbx):
    with pytest.raises(records.RecordInvalid) as refused:
        with unit_of_work():
            commands.create(Client(kind="company", name="ООО «Первый»"))
            commands.create(Client(kind="company", name="ООО «Второй»", inn="123"))
    assert "inn" in refused.value.errors
    assert names(dbx) == []
    assert not in_unit_of_work()


def test_when_the_database_refuses_the_second_nothing_is_left(as_admin, dbx):
    """A rule only the database knows (kind and code are unique) broken by the second
    write: the first is rolled back too, and the message names the columns."""
    with pytest.raises(records.DomainError) as refused:
        with unit_of_work():
            commands.create(Client(kind="company", name="ООО «Первый»"))
            for name in ("Первый", "Второй"):
                as_admin.add(DictionaryItem(kind="tag", code="twice", name=name, sort=1))
                as_admin.flush()
    assert refused.value.errors == {"kind": ["Уже существует."], "code": ["Уже существует."]}
    assert "INSERT" not in refused.value.message and "UNIQUE" not in refused.value.message
    assert names(dbx) == []
    assert dbx.count(DictionaryItem, DictionaryItem.code == "twice") == 0


def test_an_update_and_a_delete_are_one_unit_each(as_admin, dbx):
    client = commands.create(Client(kind="company", name="ООО «Старое»"))
    with pytest.raises(records.Conflict):
        commands.update(client, lambda c: setattr(c, "name", "ООО «Новое»"),
                        seen_version=client.version - 1)
    assert names(dbx) == ["ООО «Старое»"]
    commands.update(client, lambda c: setattr(c, "name", "ООО «Новое»"),
                    seen_version=client.version)
    assert names(dbx) == ["ООО «Новое»"]
    seen = []
    commands.delete(client, before=seen.append)
    assert seen == [client] and names(dbx) == []


def test_a_database_fault_is_logged_with_its_cause_and_told_without_sql(as_admin, dbx,
                                                                       monkeypatch, caplog):
    def broken_flush(*args, **kwargs):
        raise OperationalError("UPDATE crm_client SET …", {}, Exception("disk I/O error"))

    monkeypatch.setattr(as_admin, "flush", broken_flush)
    with caplog.at_level(logging.ERROR, logger="app.services.unit_of_work"):
        with pytest.raises(records.DomainError) as refused:
            commands.create(Client(kind="company", name="ООО «Диск»"))
    assert "UPDATE" not in refused.value.message and "disk" not in refused.value.message
    assert any(record.exc_info and "disk I/O error" in str(record.exc_info[1])
               for record in caplog.records)
    monkeypatch.undo()
    assert names(dbx) == []
