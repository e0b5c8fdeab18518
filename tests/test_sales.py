"""The sales process as service commands (app.services.sales): every rule of R1–R4 and R7
and every refusal, each command one transaction that leaves nothing when refused."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import CLIENT, INQUIRY, system_item
from sqlalchemy import select

from app.models import (
    Client,
    Contact,
    DictionaryItem,
    Inquiry,
    Interaction,
    Interest,
    Pipeline,
    Stage,
    StageChange,
)
from app.services import commands, sales
from app.services.errors import RecordInvalid, RuleBroken, StaleVersion

SOON = dt.datetime(2027, 1, 15, 10, 0)


def plan(subject="Call back", when=SOON, **more) -> sales.Plan:
    return sales.Plan(subject=subject, planned_at=when, **more)


class World:
    """The default pipeline's stages by name, and a session acting as a user."""

    def __init__(self, app, dbx):
        self.app, self.dbx = app, dbx
        pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
        rows = dbx.all(select(Stage).where(Stage.pipeline_id == pipeline).order_by(Stage.sort))
        self.pipeline = pipeline
        self.stages = {stage.name: stage.id for stage in rows}
        self.first, self.second, self.contract = [s.id for s in rows[:3]]
        self.lost_reason = system_item(dbx, "lost_reason", "price") or dbx.add(
            DictionaryItem(kind="lost_reason", code="price_t", name="Дорого"))

    def acting(self, username="manager"):
        return self.dbx.acting(username)

    def interest(self, session, *, client=True, stage=None, title="Поставка",
                 **values) -> Interest:
        """A new interest made with the command, with its first plan."""
        interest = Interest(title=title, pipeline_id=self.pipeline,
                            stage=session.get(Stage, stage or self.first), amount=100, **values)
        if client:
            interest.client = session.get(Client, CLIENT.create(self.dbx, n=self.dbx_n()))
        elif not values.get("potential_name"):
            interest.potential_name, interest.potential_company = "Пётр", "ООО Новый"
            interest.potential_phone = "+7 916 555-44-33"
            interest.potential_email = "petr@new.example"
        return sales.create_interest(interest, plan("First call"))

    _n = 700

    def dbx_n(self) -> int:
        World._n += 1
        return World._n


@pytest.fixture
def world(app, dbx):
    return World(app, dbx)


def planned(session, interest) -> list[Interaction]:
    return list(session.execute(
        select(Interaction).where(Interaction.interest_id == interest.id,
                                  Interaction.status == "planned")
        .order_by(Interaction.planned_at)).scalars())


def history(session, interest) -> list[tuple]:
    return [(row.action, row.from_stage_name, row.to_stage_name) for row in session.execute(
        select(StageChange).where(StageChange.interest_id == interest.id)
        .order_by(StageChange.id)).scalars()]


def refused(code: str, call, *args, **kwargs) -> RuleBroken:
    with pytest.raises(RuleBroken) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


# --- R1: creating an interest plans its first interaction ------------------------------------


def test_a_new_interest_has_its_first_plan_and_its_first_stage_in_the_history(world):
    with world.acting() as session:
        interest = world.interest(session)
        (first,) = planned(session, interest)
        assert (first.subject, first.planned_at, first.status) == ("First call", SOON, "planned")
        assert first.client_id == interest.client_id
        assert first.responsible_id == interest.responsible_id == world.dbx.user_id("manager")
        assert history(session, interest) == [("create", None, "Первый контакт")]
        assert sales.stage_since(interest) is not None


def test_a_new_interest_without_a_plan_is_refused_and_nothing_is_written(world):
    with world.acting() as session:
        interest = Interest(title="Без плана", pipeline_id=world.pipeline,
                            stage=session.get(Stage, world.first), potential_name="Иван")
        refused("next_plan_required", sales.create_interest, interest, None)
    assert world.dbx.count(Interest) == 0
    assert world.dbx.count(StageChange) == 0


def test_a_new_interest_with_an_invalid_plan_names_the_plan_field(world):
    with world.acting() as session:
        interest = Interest(title="Без темы", pipeline_id=world.pipeline,
                            stage=session.get(Stage, world.first), potential_name="Иван")
        with pytest.raises(RecordInvalid) as caught:
            sales.create_interest(interest, plan(subject="  "))
        assert "next.subject" in caught.value.errors
    assert world.dbx.count(Interest) == 0


def test_a_new_interest_starts_in_an_open_stage(world):
    with world.acting() as session:
        interest = Interest(title="Сразу выиграно", pipeline_id=world.pipeline,
                            stage=session.get(Stage, world.stages["Успешно реализовано"]),
                            potential_name="Иван")
        refused("invalid_stage", sales.create_interest, interest, plan())


def test_a_new_interest_without_a_stage_starts_in_the_pipelines_first(world):
    with world.acting():
        interest = sales.create_interest(Interest(title="Без этапа", potential_name="Иван"),
                                         plan())
        assert interest.stage_id == world.first
        assert interest.pipeline_id == world.pipeline


def test_a_stage_requiring_a_client_refuses_a_new_interest_of_a_potential_client(world):
    with world.acting() as session:
        error = refused("client_required", world.interest, session, client=False,
                        stage=world.contract)
        assert error.offers == ("create_client", "link_client")
    assert world.dbx.count(Interest) == 0


# --- R2: moving records the result and plans the next ----------------------------------------


def test_a_move_records_the_result_plans_the_next_and_logs_the_stage(world):
    with world.acting() as session:
        interest = world.interest(session)
        (current,) = planned(session, interest)
        version = interest.version
        sales.move(interest, session.get(Stage, world.second), result="Interested",
                   plan=plan("Send the offer"), seen_version=version)
        session.refresh(current)
        assert (current.status, current.result) == ("done", "Interested")
        assert current.done_at is not None
        assert [i.subject for i in planned(session, interest)] == ["Send the offer"]
        assert interest.stage_id == world.second and interest.version == version + 1
        assert history(session, interest)[-1] == (
            "move", "Первый контакт", "Обсуждение условий")


@pytest.mark.parametrize("case", ["invalid plan", "no plan", "no result", "closed stage",
                                  "same stage", "stale version"])
def test_a_refused_move_leaves_stage_interactions_and_history_untouched(world, case):
    with world.acting() as session:
        interest = world.interest(session)
        version, (current,) = interest.version, planned(session, interest)
        arguments = {"result": "Interested", "plan": plan("Next"), "seen_version": version}
        stage = session.get(Stage, world.second)
        expected = {"invalid plan": RecordInvalid, "no plan": RuleBroken,
                    "no result": RuleBroken, "closed stage": RuleBroken,
                    "same stage": RuleBroken, "stale version": StaleVersion}[case]
        if case == "invalid plan":
            arguments["plan"] = plan(when=None)
        elif case == "no plan":
            arguments["plan"] = None
        elif case == "no result":
            arguments["result"] = " "
        elif case == "closed stage":
            stage = session.get(Stage, world.stages["Успешно реализовано"])
        elif case == "same stage":
            stage = session.get(Stage, world.first)
        else:
            arguments["seen_version"] = version - 1
        with pytest.raises(expected):
            sales.move(interest, stage, **arguments)
        session.expire_all()
        assert session.get(Interest, interest.id).stage_id == world.first
        assert session.get(Interest, interest.id).version == version
        assert [(i.id, i.status) for i in planned(session, interest)] == [(current.id, "planned")]
        assert world.dbx.count(Interaction) == 1
        assert history(session, interest) == [("create", None, "Первый контакт")]


def test_the_generic_save_cannot_change_the_stage_or_the_closing(world):
    with world.acting() as session:
        interest = world.interest(session)
        for field, value in (("stage", session.get(Stage, world.second)),
                             ("closed_at", SOON), ("lost_reason_id", world.lost_reason)):
            error = refused("use_command", commands.update, interest,
                            lambda i, f=field, v=value: setattr(i, f, v))
            assert error.errors
            session.expire_all()
            interest = session.get(Interest, interest.id)
        assert interest.stage_id == world.first and interest.closed_at is None


# --- R4: a stage that needs a registered client -----------------------------------------------


def test_a_potential_client_is_refused_by_a_stage_requiring_a_client_until_created(world):
    with world.acting() as session:
        interest = world.interest(session, client=False)
        contract = session.get(Stage, world.contract)
        error = refused("client_required", sales.move, interest, contract, result="ok",
                        plan=plan())
        assert "Заключение договора" in error.message
        assert error.offers == ("create_client", "link_client")
        client = sales.create_client(interest, seen_version=interest.version)
        assert (client.kind, client.name, client.email) == ("company", "ООО Новый",
                                                            "petr@new.example")
        (contact,) = session.execute(select(Contact).where(Contact.client_id == client.id)
                                     ).scalars()
        assert (contact.name, contact.phone) == ("Пётр", "+7 916 555-44-33")
        assert interest.client_id == client.id and interest.potential_name is None
        assert all(i.client_id == client.id for i in planned(session, interest))
        sales.move(interest, contract, result="ok", plan=plan())
        assert interest.stage_id == world.contract


def test_an_existing_client_can_be_linked_instead(world):
    with world.acting() as session:
        interest = world.interest(session, client=False)
        client = session.get(Client, CLIENT.create(world.dbx, n=world.dbx_n(), user="manager"))
        sales.link_client(interest, client, seen_version=interest.version)
        assert interest.client_id == client.id
        assert planned(session, interest)[0].client_id == client.id
        refused("has_client", sales.create_client, interest)


def test_a_client_the_user_cannot_see_is_not_linked(world):
    with world.acting("manager_b") as session:
        hidden = CLIENT.create(world.dbx, n=world.dbx_n(), user="manager")
        interest = world.interest(session, client=False)
        with pytest.raises(RecordInvalid):
            sales.link_client(interest, session.get(Client, hidden))
        session.expire_all()
        assert session.get(Interest, interest.id).client_id is None


# --- R3: closing and reopening ----------------------------------------------------------------


def test_closing_as_won_records_the_result_and_who_closed_it_when(world):
    with world.acting() as session:
        interest = world.interest(session)
        (current,) = planned(session, interest)
        sales.close(interest, "won", result="Signed", seen_version=interest.version)
        assert interest.stage.kind == "won" and interest.closed_at is not None
        assert interest.closed_by_id == world.dbx.user_id("manager")
        assert interest.lost_reason_id is None
        session.refresh(current)
        assert (current.status, current.result) == ("done", "Signed")
        assert history(session, interest)[-1] == ("close", "Первый контакт",
                                                  "Успешно реализовано")
        refused("interest_closed", sales.move, interest, session.get(Stage, world.second),
                result="x", plan=plan())


def test_closing_as_lost_needs_a_reason_from_the_lost_reasons(world):
    with world.acting() as session:
        interest = world.interest(session)
        refused("lost_reason_required", sales.close, interest, "lost", result="No budget")
        tag = world.dbx.add(DictionaryItem(kind="tag", code="not_a_reason", name="Тег"))
        with pytest.raises(RecordInvalid) as caught:
            sales.close(interest, "lost", result="No budget", reason_id=tag)
        assert "reason" in caught.value.errors
        with pytest.raises(RecordInvalid):
            sales.close(interest, "maybe", result="No budget")
        assert session.get(Interest, interest.id).closed_at is None
        sales.close(interest, "lost", result="No budget", reason_id=world.lost_reason)
        assert interest.stage.kind == "lost" and interest.lost_reason_id == world.lost_reason


def test_closing_needs_the_result_of_the_current_plan(world):
    with world.acting() as session:
        interest = world.interest(session)
        refused("result_required", sales.close, interest, "won", result="")


def test_reopening_returns_to_the_stage_it_was_closed_from_with_a_new_plan(world):
    with world.acting() as session:
        interest = world.interest(session)
        sales.move(interest, session.get(Stage, world.second), result="ok", plan=plan())
        sales.close(interest, "lost", result="No budget", reason_id=world.lost_reason)
        refused("next_plan_required", sales.reopen, interest, None)
        sales.reopen(interest, plan("Try again"), seen_version=interest.version)
        assert interest.stage_id == world.second
        assert interest.closed_at is None and interest.closed_by_id is None
        assert interest.lost_reason_id is None
        assert [i.subject for i in planned(session, interest)] == ["Try again"]
        assert history(session, interest)[-1] == ("reopen", "Провалено", "Обсуждение условий")
        refused("interest_open", sales.reopen, interest, plan())


# --- R1: completing and cancelling the last plan ----------------------------------------------


def test_completing_the_last_plan_needs_the_next(world):
    with world.acting() as session:
        interest = world.interest(session)
        (current,) = planned(session, interest)
        refused("next_plan_required", sales.complete, current, result="Called")
        refused("result_required", sales.complete, current, result=" ", plan=plan())
        session.expire_all()
        assert session.get(Interaction, current.id).status == "planned"
        sales.complete(current, result="Called", plan=plan("Meeting"),
                       seen_version=current.version)
        assert current.status == "done"
        (following,) = planned(session, interest)
        another = commands.create(Interaction(subject="Also planned", planned_at=SOON,
                                              interest=interest, client=interest.client))
        sales.complete(following, result="Met")  # another plan remains
        assert planned(session, interest) == [another]
        refused("not_planned", sales.complete, following, result="again", plan=plan())


def test_cancelling_the_last_plan_needs_the_next(world):
    with world.acting() as session:
        interest = world.interest(session)
        (current,) = planned(session, interest)
        refused("next_plan_required", sales.cancel, current, reason="Not needed")
        sales.cancel(current, reason="Not needed", plan=plan("Instead"))
        assert current.status == "cancelled" and current.result == "Not needed"


def test_the_generic_save_and_delete_keep_the_last_plan_of_an_open_interest(world):
    with world.acting() as session:
        interest = world.interest(session)
        (current,) = planned(session, interest)

        def done(interaction):
            interaction.status, interaction.result = "done", "Called"

        refused("next_plan_required", commands.update, current, done)
        session.expire_all()
        current = session.get(Interaction, current.id)
        refused("next_plan_required", commands.update, current,
                lambda i: setattr(i, "interest", None))
        session.expire_all()
        current = session.get(Interaction, current.id)
        refused("next_plan_required", commands.delete, current)
        assert world.dbx.count(Interaction) == 1
        follow_up = commands.create(Interaction(subject="Deliver", planned_at=SOON,
                                                interest=interest, client=interest.client))
        sales.close(interest, "won", result="Signed")
        # A closed interest needs no plan: its last one is cancelled freely.
        commands.update(follow_up, lambda i: setattr(i, "status", "cancelled"))


def test_an_interaction_without_an_interest_completes_without_a_next_plan(world):
    with world.acting() as session:
        client = session.get(Client, CLIENT.create(world.dbx, n=world.dbx_n(), user="manager"))
        call = commands.create(Interaction(subject="Courtesy call", planned_at=SOON,
                                           client=client))
        sales.complete(call, result="Fine", plan=plan("Next courtesy call"))
        (following,) = session.execute(select(Interaction).where(
            Interaction.client_id == client.id, Interaction.status == "planned")).scalars()
        assert following.subject == "Next courtesy call" and following.interest_id is None


# --- R7: inquiries ----------------------------------------------------------------------------


def inquiry(world, n: int, user="manager") -> int:
    return INQUIRY.create(world.dbx, n=n, user=user)


def test_inquiries_are_processed_without_a_task_one_or_many_at_once(world):
    with world.acting() as session:
        one, two, three = (session.get(Inquiry, inquiry(world, n)) for n in (1, 2, 3))
        sales.dismiss([one], seen_version=one.version)
        assert one.status == "processed"
        refused("inquiry_processed", sales.dismiss, [two, one])
        session.expire_all()
        assert session.get(Inquiry, two.id).status == "new"  # all or nothing
        sales.dismiss([session.get(Inquiry, two.id), session.get(Inquiry, three.id)])
        assert {i.status for i in session.execute(select(Inquiry)).scalars()} == {"processed"}


def test_an_inquiry_becomes_an_interest_of_its_sender_as_a_potential_client(world):
    with world.acting() as session:
        lead = session.get(Inquiry, inquiry(world, 4))
        interest = sales.convert(lead, Interest(title="Из обращения", pipeline_id=world.pipeline,
                                                stage_id=world.first), plan("Call the lead"))
        assert (interest.potential_name, interest.potential_company) == ("Sender 4", "ООО Лютик")
        assert interest.description == "Need a quote"
        assert (lead.status, lead.interest_id) == ("converted", interest.id)
        assert [i.subject for i in planned(session, interest)] == ["Call the lead"]
        refused("inquiry_processed", sales.convert, lead, Interest(title="Again"), plan())


def test_an_inquiry_becomes_an_interest_of_a_new_client_with_its_contact(world):
    with world.acting() as session:
        lead = session.get(Inquiry, inquiry(world, 5))
        client = Client(kind="company", name="ООО Новый клиент")
        contact = Contact(name="Анна", phone="+7 916 111-22-33")
        interest = sales.convert(lead, Interest(title="Новый", pipeline_id=world.pipeline,
                                                stage_id=world.first), plan(),
                                 new_client=client, contact=contact)
        assert interest.client_id == client.id == lead.client_id
        assert contact.client_id == client.id
        assert lead.status == "converted"


def test_a_refused_conversion_leaves_the_inquiry_new_and_makes_no_client(world):
    with world.acting() as session:
        lead = session.get(Inquiry, inquiry(world, 6))
        with pytest.raises(RuleBroken):
            sales.convert(lead, Interest(title="Новый", pipeline_id=world.pipeline,
                                         stage_id=world.first), None,
                          new_client=Client(kind="company", name="ООО Не создан"))
        session.expire_all()
        assert session.get(Inquiry, lead.id).status == "new"
    assert world.dbx.count(Client, Client.name == "ООО Не создан") == 0
    assert world.dbx.count(Interest) == 0


def test_an_inquiry_is_linked_to_an_existing_interest(world):
    with world.acting() as session:
        interest = world.interest(session)
        lead = session.get(Inquiry, inquiry(world, 7))
        sales.link(lead, interest, seen_version=lead.version)
        assert (lead.status, lead.interest_id, lead.client_id) == (
            "linked", interest.id, interest.client_id)


def test_an_interest_the_user_cannot_see_is_not_linked(world):
    with world.acting("manager") as session:
        interest = world.interest(session)
        interest_id = interest.id
    with world.acting("manager_b") as session:
        lead = session.get(Inquiry, inquiry(world, 8, user="manager_b"))
        with pytest.raises(RecordInvalid):
            sales.link(lead, session.get(Interest, interest_id))
