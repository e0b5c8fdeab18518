"""The inquiries' screen (R7): "process without creating a task" for one or many, and the
intake wizard: the sender looked up, the clients found with their open interests, and a new
interest for a found, a new or a potential client, or the inquiry linked to an interest."""

from __future__ import annotations

import re

import pytest
from factories import INQUIRY, plan, to_json
from helpers import text_of
from sqlalchemy import select

from app.models import Client, Contact, Inquiry, Interest, Pipeline, Stage

NEXT = {"next_subject": "Call back", "next_planned_at": "20.01.2027 10:00"}


@pytest.fixture
def first_stage(dbx) -> int:
    pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
    return dbx.scalar(select(Stage.id).where(Stage.pipeline_id == pipeline)
                      .order_by(Stage.sort).limit(1))


@pytest.fixture
def manager(client_as):
    return client_as("manager")


@pytest.fixture
def known(dbx, api_as, first_stage):
    """A client of the manager's whose phone an inquiry's sender has, with an interest."""
    client = dbx.add(Client(kind="company", name="ООО «Знакомый»", phone="+7 916 000-00-01",
                            responsible_id=dbx.user_id("manager")), user="manager")
    pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
    created = api_as("manager").post("/api/v1/interest/", json={
        "title": "Ноутбуки", "pipeline": pipeline, "stage": first_stage, "client": client,
        "next": to_json(plan(1))})
    assert created.status_code == 201, created.get_json()
    return {"client": client, "interest": created.get_json()["id"]}


def test_inquiries_are_processed_without_a_task_from_the_list(manager, dbx):
    one, two = INQUIRY.create(dbx, n=1), INQUIRY.create(dbx, n=2)
    response = manager.post("/inquiryview/action_post",
                            data={"action": "dismiss", "rowid": [one, two]})
    assert response.status_code == 302
    assert {dbx.get(Inquiry, pk).status for pk in (one, two)} == {"processed"}
    third = INQUIRY.create(dbx, n=3)
    manager.post(f"/inquiryview/dismiss/{third}", data={"version": 1})
    assert dbx.get(Inquiry, third).status == "processed"


def test_the_wizard_finds_the_sender_by_phone_with_the_open_interests(manager, dbx, known):
    lead = INQUIRY.create(dbx, n=4)  # its sender's phone: +7 916 000-00-01
    page = text_of(manager.get(f"/inquiryview/process/{lead}"))
    assert "ООО «Знакомый»" in page and "Ноутбуки" in page
    assert f'/inquiryview/convert/{lead}?client={known["client"]}' in page
    assert "crm-intake-new" in page and "crm-intake-potential" in page


def test_a_new_interest_for_the_found_client(manager, dbx, known, first_stage):
    lead = INQUIRY.create(dbx, n=5)
    url = f"/inquiryview/convert/{lead}?client={known['client']}&stage={first_stage}"
    form = text_of(manager.get(url))
    assert re.search(rf'<option selected value="{first_stage}"|value="{first_stage}" selected',
                     form)
    response = manager.post(url, data={"title": "Ещё ноутбуки", "stage": first_stage,
                                       **NEXT, "version": 1})
    assert response.status_code == 302, text_of(response)
    inquiry = dbx.get(Inquiry, lead)
    assert inquiry.status == "converted"
    assert response.headers["Location"].endswith(f"/interestview/show/{inquiry.interest_id}")
    assert dbx.get(Interest, inquiry.interest_id).client_id == known["client"]


def test_a_new_client_with_its_contact_and_a_potential_client(manager, dbx, first_stage):
    lead = INQUIRY.create(dbx, n=6)
    response = manager.post(f"/inquiryview/convert/{lead}?mode=new", data={
        "title": "Сервер", "stage": first_stage, "client_kind": "company",
        "client_name": "ООО «Новое»", "client_phone": "+7 916 222-33-44",
        "contact_name": "Анна", **NEXT, "version": 1})
    assert response.status_code == 302, text_of(response)
    client = dbx.scalar(select(Client).where(Client.name == "ООО «Новое»"))
    assert dbx.count(Contact, Contact.client_id == client.id) == 1
    lead = INQUIRY.create(dbx, n=7)
    response = manager.post(f"/inquiryview/convert/{lead}?mode=potential", data={
        "title": "Лид", "stage": first_stage, "potential_name": "Пётр", **NEXT,
        "version": 1})
    assert response.status_code == 302, text_of(response)
    interest = dbx.get(Interest, dbx.get(Inquiry, lead).interest_id)
    assert interest.client_id is None and interest.potential_name == "Пётр"


def test_a_refused_conversion_says_why_and_changes_nothing(manager, dbx, first_stage):
    lead = INQUIRY.create(dbx, n=8)
    response = manager.post(f"/inquiryview/convert/{lead}?mode=potential", data={
        "title": "Лид", "stage": first_stage, "potential_name": "Пётр", "version": 1})
    assert response.status_code == 200 and "has-error" in text_of(response)
    assert dbx.get(Inquiry, lead).status == "new" and dbx.count(Interest) == 0


def test_the_inquiry_is_linked_to_an_open_interest(manager, dbx, known):
    lead = INQUIRY.create(dbx, n=9)
    response = manager.post(f"/inquiryview/link/{lead}",
                            data={"interest": known["interest"], "version": 1})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/interestview/show/{known['interest']}")
    assert dbx.get(Inquiry, lead).status == "linked"


def test_someone_elses_inquiry_answers_404(client_as, dbx):
    lead = INQUIRY.create(dbx, n=10)  # the manager's
    other = client_as("manager_b")
    assert other.get(f"/inquiryview/process/{lead}").status_code == 404
    assert other.get(f"/inquiryview/convert/{lead}?mode=new").status_code == 404
    assert other.post(f"/inquiryview/link/{lead}", data={"interest": 1}).status_code == 404


def test_a_new_inquirys_page_offers_the_wizard(manager, dbx):
    lead = INQUIRY.create(dbx, n=11)
    assert f"/inquiryview/process/{lead}" in text_of(manager.get(f"/inquiryview/show/{lead}"))
    manager.post(f"/inquiryview/dismiss/{lead}", data={"version": 1})
    assert "crm-process" not in text_of(manager.get(f"/inquiryview/show/{lead}"))


def test_ids_beyond_any_key_answer_404_or_are_refused(manager, client_as, dbx):
    lead = INQUIRY.create(dbx, n=12)
    huge = 10**12  # fits no integer key column, and PostgreSQL would refuse to look
    assert manager.get(f"/inquiryview/convert/{lead}?client={huge}").status_code == 404
    response = manager.post(f"/inquiryview/link/{lead}", data={"interest": huge, "version": 1})
    assert response.status_code == 302 and dbx.get(Inquiry, lead).status == "new"
    assert client_as("manager").post(f"/board/flag/{huge}").status_code == 404
