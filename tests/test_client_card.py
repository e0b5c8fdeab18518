"""The client's card (app.services.cards.client_card, crm/client_card.html): requisites,
contact persons with their phones and e-mails, open and closed interests with their stages
and colours, what is planned and what was done, the commands "new interest", "plan an
interaction" and "add a contact"; each list bounded with "all N", which opens the list
narrowed to the client. Also: record forms and pages in the declaration's sections."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from factories import CLIENT, CONTACT
from helpers import text_of, tr
from sqlalchemy import select

from app.models import Contact, DictionaryItem, Interaction, Interest, Pipeline, Stage
from app.services import cards, sales
from app.services.clock import utcnow


class Shop:
    """A client of the manager's with interests, contacts and interactions, made through
    the commands of the sales process."""

    def __init__(self, app, dbx):
        self.app, self.dbx = app, dbx
        self.pipeline = dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))
        stages = dbx.all(select(Stage).where(Stage.pipeline_id == self.pipeline)
                         .order_by(Stage.sort))
        self.first = stages[0].id
        self.lost_reason = dbx.scalar(select(DictionaryItem.id).where(
            DictionaryItem.kind == "lost_reason").limit(1))
        self.client = CLIENT.create(dbx, n=901, user="manager")

    def acting(self, username="manager"):
        return self.dbx.acting(username)

    def interests(self, count: int, *, when: dt.datetime, username="manager",
                  title="Поставка") -> list[int]:
        with self.acting(username) as session:
            made = []
            for n in range(count):
                interest = Interest(title=f"{title} {n}", pipeline_id=self.pipeline,
                                    stage=session.get(Stage, self.first), client_id=self.client,
                                    amount=Decimal(1000 + n))
                made.append(sales.create_interest(interest, sales.Plan(f"Звонок {n}", when)).id)
            return made

    def contacts(self, count: int) -> None:
        for n in range(count):
            CONTACT.create(self.dbx, {"client": self.client, "user": self.dbx.user_id("manager")},
                           n=n, user="manager")

    def close_lost(self, pk: int) -> None:
        with self.acting() as session:
            interest = session.get(Interest, pk)
            sales.close(interest, "lost", result="Дорого",
                        reason_id=self.lost_reason)

    def card(self, username="manager") -> cards.ClientCard:
        from app.models import Client

        with self.acting(username) as session:
            card = cards.client_card(session.get(Client, self.client))
            # What the template reads, read while the session is open.
            [(i.stage.name, i.pipeline.name) for i in card.open_interests.rows]
            return card


@pytest.fixture
def shop(app, dbx):
    return Shop(app, dbx)


def test_the_card_lists_interests_with_stages_colours_and_totals(shop):
    overdue, later = shop.interests(1, when=utcnow() - dt.timedelta(hours=2), title="Просрочен")[0], \
        shop.interests(1, when=utcnow() + dt.timedelta(days=3), title="Позже")[0]
    lost = shop.interests(1, when=utcnow() + dt.timedelta(days=1), title="Проигран")[0]
    shop.close_lost(lost)
    card = shop.card()
    assert [i.id for i in card.open_interests.rows] == [overdue, later]  # the next due first
    assert card.colours == {overdue: cards.RED, later: cards.GREEN}
    assert [i.id for i in card.closed_interests.rows] == [lost]
    assert [(t.currency, t.count, t.amount) for t in card.open_totals] == [
        ("RUB", 2, Decimal("2000"))]
    assert card.won_totals == []
    subjects = [item.subject for item in card.planned.rows]
    assert subjects == ["Звонок 0", "Звонок 0"] and card.overdue == 1
    # The lost interest's plan was done with the result of closing: in the timeline.
    assert [item.status for item in card.timeline.rows] == ["done"]


def test_the_card_shows_only_what_the_user_may_read(shop):
    """Another department's manager's interest in the same client is not on the card."""
    shop.interests(1, when=utcnow() + dt.timedelta(days=1), title="Моё")
    shop.interests(1, when=utcnow() + dt.timedelta(days=1), title="Чужое", username="admin")
    with shop.acting("admin") as session:
        foreign = session.scalar(select(Interest).where(Interest.title == "Чужое 0"))
        foreign.responsible_id = shop.dbx.user_id("manager_b")
        for interaction in session.scalars(select(Interaction).where(
                Interaction.interest_id == foreign.id)):
            interaction.responsible_id = shop.dbx.user_id("manager_b")
        session.commit()
    mine = shop.card("manager")
    assert [i.title for i in mine.open_interests.rows] == ["Моё 0"]
    assert mine.planned.total == 1 and [t.count for t in mine.open_totals] == [1]
    everything = shop.card("admin")
    assert sorted(i.title for i in everything.open_interests.rows) == ["Моё 0", "Чужое 0"]


def test_each_list_is_bounded_and_counts_the_whole(shop, monkeypatch):
    monkeypatch.setattr(cards, "CARD_CONTACTS", 3)
    monkeypatch.setattr(cards, "CARD_OPEN", 2)
    shop.contacts(4)
    shop.interests(2, when=utcnow() + dt.timedelta(days=1))
    card = shop.card()
    assert len(card.contacts.rows) == 3 and card.contacts.total == 4 and card.contacts.more
    assert len(card.open_interests.rows) == 2 and card.open_interests.total == 2
    assert not card.open_interests.more


def test_the_card_reads_a_fixed_number_of_statements(shop, client_as, count_queries):
    manager = client_as("manager")
    url = f"/clientview/show/{shop.client}"
    shop.contacts(1)
    shop.interests(1, when=utcnow() + dt.timedelta(days=1))
    manager.get(url)  # caches warmed
    with count_queries() as few:
        assert manager.get(url).status_code == 200
    shop.contacts(12)
    shop.interests(12, when=utcnow() + dt.timedelta(days=1))
    with count_queries() as many:
        assert manager.get(url).status_code == 200
    assert many.count == few.count, many.dump()


def test_the_card_page(shop, client_as, dbx):
    shop.contacts(1)
    [pk] = shop.interests(1, when=utcnow() + dt.timedelta(days=2))
    page = text_of(client_as("manager").get(f"/clientview/show/{shop.client}"))
    # Requisites and contact details, with links to call and write.
    assert "ООО Ромашка 901" in page and "773601001" in page
    assert 'href="tel:+74951230901"' in page
    assert 'href="mailto:client901@example.com"' in page
    assert "Иван Петров 0" in page and 'href="mailto:ivan0@example.com"' in page
    # The open interest with its stage, and the commands of the card.
    assert f'/interestview/show/{pk}' in page and "crm-stage-chip" in page
    assert f"/interestview/add?_flt_0_client={shop.client}" in page
    assert f"/interactionview/add?_flt_0_client={shop.client}" in page
    assert f"/contactview/add?_flt_0_client={shop.client}" in page
    assert "/interactionview/complete/" in page  # "done" for what is planned
    # The generic table of fields and the related tabs are not repeated under the card.
    assert 'class="crm-sections crm-show-sections' not in page
    assert 'data-toggle="tab"' not in page


def test_the_read_only_role_sees_the_card_without_commands(shop, client_as):
    readonly = client_as("readonly").get(f"/clientview/show/{shop.client}")
    assert readonly.status_code == 200
    text = text_of(readonly)
    assert "ООО Ромашка 901" in text
    assert "_flt_0_client" not in text and "/clientview/edit/" not in text


def test_new_interest_from_the_card_comes_with_the_client(shop, client_as):
    page = text_of(client_as("manager").get(f"/interestview/add?_flt_0_client={shop.client}"))
    assert re.search(rf'<option value="{shop.client}" selected>ООО Ромашка 901', page)


def test_all_n_opens_the_list_narrowed_to_the_client(shop, client_as, dbx):
    other = CLIENT.create(dbx, n=902, user="manager")
    shop.contacts(2)
    CONTACT.create(dbx, {"client": other, "user": dbx.user_id("manager")}, n=7, user="manager")
    manager = client_as("manager")
    page = text_of(manager.get(f"/contactview/list/?client={shop.client}"))
    assert "Иван Петров 0" in page and "Иван Петров 1" in page
    assert "Иван Петров 7" not in page
    assert "ООО Ромашка 901" in page and "crm-worklist-chip" in page  # the chip says which
    # A client the user may not read, or no client at all, is not found.
    foreign = CLIENT.create(dbx, {**CLIENT.deps(dbx), "user": dbx.user_id("manager_b")},
                            n=903, user="admin")
    assert manager.get(f"/contactview/list/?client={foreign}").status_code == 404
    assert manager.get("/contactview/list/?client=99999999999").status_code == 404
    assert manager.get("/contactview/list/?client=abc").status_code == 404


# --- forms and pages in sections ------------------------------------------------------------


def _sections(html: str) -> list[tuple[str, list[str]]]:
    found = []
    for chunk in html.split('<fieldset class="crm-section">')[1:]:
        chunk = chunk.split("</fieldset>", 1)[0]
        legend = re.search(r"<legend>(.*?)</legend>", chunk)
        names = re.findall(r'class="form-group crm-field crm-field-([\w-]+)', chunk)
        found.append((legend.group(1) if legend else "", names))
    return found


def test_the_client_form_is_in_sections(client_as, app):
    page = text_of(client_as("manager").get("/clientview/add"))
    sections = dict(_sections(page))
    main, requisites, contacts, classification = (
        tr(app, label) for label in ("Main", "Requisites", "Contacts", "Classification"))
    assert list(sections)[:4] == [main, requisites, contacts, classification]
    assert sections[requisites] == ["inn", "kpp", "ogrn", "address"]
    assert sections[contacts] == ["phone", "email", "site", "birthday"]
    assert "industry" in sections[classification] and "tags" in sections[classification]
    assert sections[main][:2] == ["kind", "name"]


def test_a_new_interest_asks_for_its_first_plan_in_a_section_of_its_own(client_as):
    sections = _sections(text_of(client_as("manager").get("/interestview/add")))
    assert sections[-1][1] == ["next_type", "next_subject", "next_planned_at"]


def test_a_contact_page_shows_its_fields_in_sections(client_as, dbx):
    pk = CONTACT.create(dbx, n=3, user="manager")
    page = text_of(client_as("manager").get(f"/contactview/show/{pk}"))
    assert page.count('<section class="crm-section">') >= 2
    assert "ivan3@example.com" in page


def test_a_refused_field_keeps_its_message_next_to_it(client_as):
    response = client_as("manager").post("/clientview/add", data={
        "kind": "company", "name": "ООО Проверка", "inn": "7707083894"})
    html = text_of(response)
    block = html.split('crm-field crm-field-inn', 1)[1].split('crm-field crm-field-', 1)[0]
    assert "crm-field-error" in block


@pytest.mark.parametrize("model", [Contact])
def test_the_generic_page_has_no_empty_section(client_as, dbx, model):
    pk = CONTACT.create(dbx, n=4, user="manager")
    page = text_of(client_as("manager").get(f"/contactview/show/{pk}"))
    for section in page.split('<section class="crm-section">')[1:]:
        assert "<dt>" in section.split("</section>", 1)[0]
