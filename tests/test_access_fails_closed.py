"""The access filter refuses what it does not know: rows of a model that nobody declared
in the rights matrix are shown to no one but the administrator."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, String, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.services.actor import acting_as


class _Undeclared(DeclarativeBase):
    pass


class Board(_Undeclared):
    """A new table someone added without telling the access filter about it."""

    __tablename__ = "test_undeclared_board"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(50))


@pytest.fixture
def board_rows(app):
    from app.database import db

    with app.app_context():
        Board.metadata.create_all(db.engine)
        db.session.execute(insert(Board), [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}])
        db.session.commit()
        db.session.remove()
    yield
    with app.app_context():
        Board.metadata.drop_all(db.engine)


@pytest.mark.parametrize("username", ["manager", "supervisor", "readonly"])
@pytest.mark.parametrize("action", ["read", "edit", "delete"])
def test_a_model_nobody_declared_shows_nothing(app, dbx, board_rows, username, action):
    from app.database import db
    from app.services import access

    with app.app_context(), acting_as(dbx.user_id(username)):
        rows = db.session.execute(
            select(Board.id).where(access.condition(Board, action))).scalars().all()
        assert access.readable_owners(Board) is None
        db.session.remove()
    assert rows == []


def test_the_administrator_still_reads_it_and_employees_read_the_employee_list(app, dbx,
                                                                              board_rows):
    from app.database import db
    from app.models import CrmUser
    from app.services import access

    with app.app_context():
        with acting_as(dbx.user_id("admin")):
            assert len(db.session.execute(
                select(Board.id).where(access.condition(Board))).all()) == 2
        with acting_as(dbx.user_id("manager")):
            people = db.session.execute(
                select(CrmUser.id).where(access.condition(CrmUser))).scalars().all()
            assert dbx.user_id("supervisor") in people
            assert db.session.execute(select(CrmUser.id).where(
                access.condition(CrmUser, "edit"))).first() is None
        db.session.remove()
