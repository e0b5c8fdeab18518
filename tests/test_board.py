"""The board "My sales" (app.services.board): its columns and their totals over the whole
column, the cards' colours and order, the depth and the filters, who sees what, "show
more", and a fixed number of statements whatever the number of cards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from factories import CLIENT, INQUIRY
from sqlalchemy import select

from app.models import DictionaryItem, Interaction, Interest, Pipeline, Stage
from app.services import board, plans, sales
from app.services.clock import local_day_bounds_utc, local_today, utcnow


class Company:
    def __init__(self, app, dbx):
        self.app, self.dbx = app, dbx
        self.pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
        rows = dbx.all(select(Stage).where(Stage.pipeline_id == self.pipeline)
                       .order_by(Stage.sort))
        self.stages = rows
        self.first, self.second = rows[0].id, rows[1].id
        self.lost_reason = dbx.scalar(select(DictionaryItem.id).where(
            DictionaryItem.kind == "lost_reason").limit(1))
        self.n = 600

    def acting(self, username="manager"):
        return self.dbx.acting(username)

    def interest(self, session, when: dt.datetime, *, amount=100, stage=None, flagged=False,
                 title=None, client=False):
        self.n += 1
        interest = Interest(title=title or f"Интерес {self.n}", pipeline_id=self.pipeline,
                            stage=session.get(Stage, stage or self.first),
                            amount=Decimal(amount), flagged=flagged,
                            potential_name=f"Клиент {self.n}")
        if client:
            interest.client_id = CLIENT.create(self.dbx, n=self.n, user="manager")
        return sales.create_interest(interest, sales.Plan("Call", when))


@pytest.fixture
def company(app, dbx):
    return Company(app, dbx)


def hours(n: float) -> dt.datetime:
    return utcnow() + dt.timedelta(hours=n)


def later_today() -> dt.datetime:
    _start, end = local_day_bounds_utc(local_today())
    return utcnow() + (end - utcnow()) / 2


def column(result, key):
    return next(c for c in result.columns if c.key == key)


def test_the_columns_are_inquiries_the_open_stages_won_and_lost(company):
    with company.acting():
        result = board.board(board.Filters())
        kinds = [c.kind for c in result.columns]
        assert kinds[0] == "inquiries" and kinds[-2:] == ["won", "lost"]
        assert [c.stage.id for c in result.columns[1:-2]] == [
            s.id for s in company.stages if s.kind == "open"]


def test_totals_are_of_the_whole_column_and_weighted_by_the_stage(company):
    with company.acting() as session:
        for amount in (100, 200, 300):
            company.interest(session, hours(48), amount=amount)
        result = board.board(board.Filters(), page=2)
        first = column(result, f"stage-{company.first}")
        assert (first.count, first.sum, len(first.cards), first.more) == (3, 600, 2, 1)
        probability = session.get(Stage, company.first).probability
        assert first.weighted == Decimal(600 * probability / 100).quantize(Decimal("0.01"))
        more = board.more_cards(board.Filters(), first.key, offset=2, page=2)
        assert len(more.cards) == 1


def test_cards_are_coloured_and_pinned_ones_come_first(company):
    with company.acting() as session:
        overdue = company.interest(session, hours(-2))
        today = company.interest(session, later_today())
        ahead = company.interest(session, hours(24 * 5))
        pinned = company.interest(session, hours(24 * 6), flagged=True)
        cards = column(board.board(board.Filters()), f"stage-{company.first}").cards
        assert [c.id for c in cards] == [pinned.id, overdue.id, today.id, ahead.id]
        assert [c.color for c in cards] == ["green", "red", "yellow", "green"]
        assert cards[1].next_subject == "Call" and cards[1].days_in_stage == 0
        last = column(board.board(board.Filters(overdue_last=True)), f"stage-{company.first}")
        assert [c.id for c in last.cards] == [pinned.id, today.id, ahead.id, overdue.id]


def test_depth_keeps_the_interests_due_within_it(company):
    with company.acting() as session:
        soon = company.interest(session, hours(-1))
        week = company.interest(session, hours(24 * 4))
        far = company.interest(session, hours(24 * 20))
        for depth, expected in (("today", {soon.id}), ("3days", {soon.id}),
                                ("week", {soon.id, week.id}),
                                ("month", {soon.id, week.id, far.id})):
            first = column(board.board(board.Filters(depth=depth)), f"stage-{company.first}")
            assert {c.id for c in first.cards} == expected, depth
            assert first.count == len(expected)


def test_won_and_lost_show_the_last_30_days(company):
    with company.acting() as session:
        won = company.interest(session, hours(24), client=True)
        sales.close(won, "won", result="Signed")
        lost = company.interest(session, hours(24))
        sales.close(lost, "lost", result="No", reason_id=company.lost_reason)
        old = company.interest(session, hours(24), client=True)
        sales.close(old, "won", result="Long ago")
        session.get(Interest, old.id).closed_at = utcnow() - dt.timedelta(days=31)
        session.commit()
        result = board.board(board.Filters())
        won_column = next(c for c in result.columns if c.kind == "won")
        lost_column = next(c for c in result.columns if c.kind == "lost")
        assert [c.id for c in won_column.cards] == [won.id] and won_column.count == 1
        assert [c.id for c in lost_column.cards] == [lost.id]


def test_each_sees_their_own_a_head_the_subtree(company):
    with company.acting("manager") as session:
        mine = company.interest(session, hours(24))
    with company.acting("manager_b") as session:
        theirs = company.interest(session, hours(24))
    for user, expected in (("manager", {mine.id}), ("manager_b", {theirs.id}),
                           ("supervisor", {mine.id})):
        with company.acting(user):
            first = column(board.board(board.Filters()), f"stage-{company.first}")
            assert {c.id for c in first.cards} == expected, user


def test_filters_narrow_the_cards_and_the_totals(company, dbx):
    client = CLIENT.create(dbx, n=610, user="manager")
    with company.acting() as session:
        company.interest(session, hours(24))
        interest = Interest(title="С клиентом", pipeline_id=company.pipeline,
                            stage=session.get(Stage, company.first), amount=Decimal(5),
                            client_id=client)
        sales.create_interest(interest, sales.Plan("Call", hours(24)))
        first = column(board.board(board.Filters(client_id=client)), f"stage-{company.first}")
        assert [c.id for c in first.cards] == [interest.id] and first.sum == 5
        manager = dbx.user_id("manager_b")
        first = column(board.board(board.Filters(manager_id=manager)),
                       f"stage-{company.first}")
        assert first.count == 0


def test_the_inquiries_column_holds_the_unprocessed_ones(company, dbx):
    one, two = INQUIRY.create(dbx, n=1, user="manager"), INQUIRY.create(dbx, n=2, user="manager")
    with company.acting() as session:
        sales.dismiss([session.get(__import__("app.models").models.Inquiry, one)])
        inquiries = column(board.board(board.Filters()), board.INQUIRIES)
        assert [c.id for c in inquiries.cards] == [two] and inquiries.count == 1
        assert inquiries.cards[0].kind == "inquiry"


def test_the_board_is_a_fixed_number_of_statements(company, count_queries):
    def counted(session):
        session.expire_all()
        board.board(board.Filters())  # the user and the directories read again
        with count_queries() as counter:
            board.board(board.Filters())
        return counter

    with company.acting() as session:
        company.interest(session, hours(24), client=True)
        few = counted(session)
        for n in range(12):
            company.interest(session, hours(n - 5), stage=company.stages[n % 3].id,
                             client=True)
        many = counted(session)
    assert many.count == few.count, many.dump()
    firsts = [statement.split()[0:4] for statement in many.statements]
    assert many.count <= 11, firsts


def test_an_open_interest_without_a_plan_is_red(company, dbx):
    with company.acting() as session:
        interest = company.interest(session, hours(48))
        session.execute(Interaction.__table__.delete().where(
            Interaction.interest_id == interest.id))
        plans.refresh_next_at([interest.id])
        session.commit()
        cards = column(board.board(board.Filters()), f"stage-{company.first}").cards
        assert [(c.id, c.color, c.next_at) for c in cards] == [(interest.id, "red", None)]


def test_an_interest_keeps_when_its_next_interaction_is_due(company, dbx):
    from app.services import commands

    with company.acting() as session:
        first = hours(30)
        interest = company.interest(session, first, client=True)
        version = interest.version
        assert session.get(Interest, interest.id).next_at == first
        (call,) = session.execute(select(Interaction).where(
            Interaction.interest_id == interest.id)).scalars()
        later = hours(50)
        sales.complete(call, result="Called", plan=sales.Plan("Meeting", later))
        assert session.get(Interest, interest.id).next_at == later
        (meeting,) = session.execute(select(Interaction).where(
            Interaction.interest_id == interest.id, Interaction.status == "planned")).scalars()
        sooner = hours(2)
        commands.update(meeting, lambda i: setattr(i, "planned_at", sooner))  # rescheduled
        assert session.get(Interest, interest.id).next_at == sooner
        extra = commands.create(Interaction(subject="Earlier", planned_at=hours(1),
                                            interest=interest, client=interest.client))
        assert session.get(Interest, interest.id).next_at == hours(1).replace(
            microsecond=extra.planned_at.microsecond)
        commands.delete(extra)
        assert session.get(Interest, interest.id).next_at == sooner
        # Planning does not make the interest's card stale for whoever has it open.
        assert session.get(Interest, interest.id).version == version
        sales.close(interest, "won", result="Signed")
        assert session.get(Interest, interest.id).next_at is None
