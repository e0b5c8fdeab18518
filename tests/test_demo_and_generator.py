"""The demo company and the data generator, each on its own freshly migrated SQLite file.

Self-contained: the application is built here (not by the shared fixtures), so these tests
run the same with or without tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEMO_PASSWORD = "Demo-Passw0rd!"


def _fresh_app(tmp_path):
    import flask_migrate

    from app import create_app
    from app.services.setup import ensure_reference_data, sync_roles

    app = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/t.db")
    with app.app_context():
        flask_migrate.upgrade()
        sync_roles()
        ensure_reference_data()
    return app


@pytest.fixture
def fresh_app(tmp_path):
    from app.database import db

    app = _fresh_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _row_counts(session) -> dict[str, int]:
    from flask_appbuilder import Model

    return {table.name: session.execute(select(func.count()).select_from(table)).scalar()
            for table in Model.metadata.tables.values()
            if table.name.startswith(("crm_", "ab_user"))}


def _shadow_mismatches(session, model, limit=None) -> list:
    """Rows whose normalised search columns differ from what the session hooks compute."""
    from app.entities import SEARCH_SHADOWS

    wrong = []
    query = select(model).order_by(model.id)
    if limit:
        query = query.limit(limit)
    for obj in session.execute(query).scalars():
        for source, (shadow, normalise) in SEARCH_SHADOWS[model].items():
            expected = normalise(getattr(obj, source) or "")
            if not expected and not shadow.endswith("_search"):
                expected = None
            if getattr(obj, shadow) != expected:
                wrong.append((model.__name__, obj.id, shadow, getattr(obj, shadow), expected))
    return wrong


# --- the demo company -------------------------------------------------------------------------


def test_demo_company_is_complete_and_created_once(fresh_app):
    from app.database import db
    from app.models import (
        DICTIONARY_KINDS,
        Client,
        CompanyRequisites,
        Contact,
        CrmUser,
        Department,
        DictionaryItem,
        Inquiry,
        Interaction,
        Interest,
        InterestProduct,
        Pipeline,
        Product,
        Stage,
    )
    from app.rules.validation import validate_inn, validate_ogrn
    from app.sample_data.demo import create_demo_company
    from app.services import records
    from app.services.clock import local_day_bounds_utc, to_local, utcnow
    from app.services.setup import ensure_admin

    with fresh_app.app_context():
        ensure_admin("admin", "Admin-Passw0rd!")
        started = utcnow()
        assert create_demo_company(DEMO_PASSWORD) is True
        db.session.remove()
        s = db.session

        # Organisation: the tree, heads, norms, the four employees with their roles.
        departments = {d.name: d for d in s.execute(select(Department)).scalars()}
        assert {"Компания", "Продажи", "Сопровождение"} <= set(departments)
        root = departments["Компания"]
        assert departments["Продажи"].parent_id == root.id
        assert departments["Сопровождение"].parent_id == root.id
        assert all(d.head_id and d.activity_norm == 48 for d in departments.values())
        users = {u.username: u for u in s.execute(select(CrmUser)).scalars()}
        expected_roles = {"supervisor": "Supervisor", "manager1": "Manager",
                          "manager2": "Manager", "support1": "Manager"}
        for login, role in expected_roles.items():
            user = users[login]
            assert [r.name for r in user.roles] == [role]
            assert user.first_name and user.last_name and user.position and user.phone
            assert user.department_id is not None
        assert departments["Продажи"].head_id == users["supervisor"].id
        assert users["manager1"].department_id == departments["Продажи"].id
        assert users["support1"].department_id == departments["Сопровождение"].id
        sm = fresh_app.appbuilder.sm
        assert sm.auth_user_db("manager1", DEMO_PASSWORD) is not None

        # Every kind of directory item, a price list.
        kinds = set(s.execute(select(DictionaryItem.kind).distinct()).scalars())
        assert kinds == set(DICTIONARY_KINDS)
        assert s.execute(select(func.count()).select_from(Product)).scalar() >= 20

        # Both pipelines, every stage holding interests.
        pipelines = {p.name: p for p in s.execute(select(Pipeline)).scalars()}
        assert {"Продажи", "Сопровождение"} <= set(pipelines)
        assert pipelines["Продажи"].is_default
        support_stages = [st.name for st in pipelines["Сопровождение"].stages]
        assert support_stages == ["Получение запроса", "Анализ проблемы", "Разработка решения",
                                  "Применение решения",
                                  "Подтверждение удовлетворенности клиента", "Решено",
                                  "Не решено"]
        for name in ("Продажи", "Сопровождение"):
            for stage in pipelines[name].stages:
                held = s.execute(select(func.count()).select_from(Interest)
                                 .where(Interest.stage_id == stage.id)).scalar()
                assert held >= 1, f"{name} / {stage.name} has no interests"

        # Clients: about 25, valid requisites, each with contacts.
        clients = s.execute(select(Client)).scalars().all()
        assert 20 <= len(clients) <= 30
        assert {c.kind for c in clients} == {"company", "person"}
        for client in clients:
            assert client.inn
            validate_inn(client.inn, "company" if client.kind == "company" else "person")
            validate_ogrn(client.ogrn, "company" if client.kind == "company" else "ip")
            assert len(client.inn) == (10 if client.kind == "company" else 12)
            assert 1 <= len(client.contacts) <= 3
            assert client.responsible_id is not None
        assert not _shadow_mismatches(s, Client) + _shadow_mismatches(s, Contact) + \
            _shadow_mismatches(s, Interest)

        # Interests: open ones planned (overdue, today, ahead), closed ones closed.
        interests = s.execute(select(Interest)).scalars().all()
        assert 25 <= len(interests) <= 40
        assert any(i.client_id is None for i in interests), "no potential-client interest"
        _start, end_of_today = local_day_bounds_utc(to_local(started).date())
        planned_times = []
        for interest in interests:
            planned = [x for x in interest.interactions if x.status == "planned"]
            if interest.stage.kind == "open":
                assert interest.closed_at is None
                assert planned, f"open interest {interest.title!r} has nothing planned"
                planned_times += [x.planned_at for x in planned]
            else:
                assert interest.closed_at is not None and interest.closed_by_id is not None
                assert not planned
                assert any(x.status == "done" for x in interest.interactions)
                if interest.stage.kind == "lost":
                    assert interest.lost_reason is not None
            if interest.client_id is None:
                assert not interest.stage.requires_client
        assert any(t < started for t in planned_times), "nothing overdue"
        assert any(started <= t < end_of_today for t in planned_times), "nothing due today"
        assert any(t >= end_of_today for t in planned_times), "nothing ahead"
        done = s.execute(select(Interaction).where(Interaction.status == "done")).scalars().all()
        assert len(done) >= 5 and all(x.result and x.done_at for x in done)
        assert s.execute(select(func.count()).select_from(InterestProduct)).scalar() >= 3

        # Inquiries: new ones from several channels, and processed ones.
        inquiries = s.execute(select(Inquiry)).scalars().all()
        new = [q for q in inquiries if q.status == "new"]
        assert len(new) >= 8 and len({q.channel for q in new}) >= 4
        assert {"processed", "converted", "linked"} <= {q.status for q in inquiries}

        requisites = s.execute(select(CompanyRequisites)).scalars().one()
        assert requisites.template == "company" and requisites.bik and requisites.account

        # Every record passes the same validation as a form or the API.
        for model in (Client, Contact, Interest, Interaction, Inquiry, InterestProduct,
                      Product, DictionaryItem, Stage, CompanyRequisites):
            for obj in s.execute(select(model)).scalars():
                records.validate(obj)

        # The history shows who made the records.
        admin_id = users["admin"].id
        assert {c.created_by_fk for c in clients} == {admin_id}

        before = _row_counts(s)
        db.session.remove()
        assert create_demo_company(DEMO_PASSWORD) is False
        db.session.remove()
        assert _row_counts(db.session) == before


@pytest.mark.parametrize("utc_clock", ["20:59:30", "21:00:00", "08:00"])
def test_demo_made_at_any_hour_has_calls_due_later_today(fresh_app, utc_clock):
    """A minute before the company's midnight (21:00 UTC in Moscow) too: a call is due today."""
    import time_machine

    from app.database import db
    from app.models import Interaction
    from app.sample_data.demo import create_demo_company
    from app.services.clock import local_day_bounds_utc, to_local, utcnow
    from app.services.setup import ensure_admin

    moment = dt.datetime.fromisoformat(f"2026-12-03T{utc_clock}").replace(tzinfo=dt.timezone.utc)
    with fresh_app.app_context(), time_machine.travel(moment, tick=True):
        ensure_admin("admin", "Admin-Passw0rd!")
        started = utcnow()
        assert create_demo_company(DEMO_PASSWORD) is True
        _start, end_of_day = local_day_bounds_utc(to_local(started).date())
        due_today = db.session.execute(
            select(func.count()).select_from(Interaction).where(
                Interaction.status == "planned", Interaction.planned_at >= started,
                Interaction.planned_at < end_of_day)).scalar()
        assert due_today >= 1


def test_demo_is_the_same_every_time(tmp_path):
    from app.database import db
    from app.models import Client, Contact
    from app.sample_data.demo import create_demo_company

    snapshots = []
    for number in (1, 2):
        folder = tmp_path / str(number)
        folder.mkdir()
        app = _fresh_app(folder)
        with app.app_context():
            assert create_demo_company(DEMO_PASSWORD)
            db.session.remove()
            snapshots.append((
                db.session.execute(select(Client.name, Client.inn, Client.phone, Client.email)
                                   .order_by(Client.id)).all(),
                db.session.execute(select(Contact.name, Contact.phone)
                                   .order_by(Contact.id)).all(),
            ))
            db.session.remove()
            db.engine.dispose()
    assert snapshots[0] == snapshots[1]


# --- the generator ----------------------------------------------------------------------------


def _check_generated(session, clients_before: int, clients_added: int,
                     counts: dict[str, int]) -> None:
    from app.models import (
        Client,
        Contact,
        CrmUser,
        Inquiry,
        Interaction,
        Interest,
        Stage,
    )
    from app.rules.validation import validate_inn, validate_ogrn

    def count(model, *where):
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()

    total_clients = count(Client)
    assert total_clients == clients_before + clients_added
    generated = Client.id > session.execute(
        select(func.max(Client.id)).where(Client.id <= clients_before)).scalar() \
        if clients_before else Client.id > 0
    new_ids = select(Client.id).where(generated)
    n = clients_added
    contacts = count(Contact, Contact.client_id.in_(new_ids)) / n
    interests = count(Interest, Interest.client_id.in_(new_ids)) / n
    interactions = count(Interaction, Interaction.client_id.in_(new_ids)) / n
    inquiries = counts["crm_inquiry"] / n
    assert counts["crm_contact"] == count(Contact, Contact.client_id.in_(new_ids))
    assert 1.3 <= contacts <= 1.7, contacts
    assert 0.38 <= interests <= 0.65, interests
    assert 0.8 <= interactions <= 1.3, interactions
    assert 0.1 <= inquiries <= 0.3, inquiries

    # The shadow columns as the session hooks would have written them.
    assert not (_shadow_mismatches(session, Client) + _shadow_mismatches(session, Contact)
                + _shadow_mismatches(session, Interest))

    for client in session.execute(select(Client).where(generated)).scalars():
        validate_inn(client.inn, "company" if client.kind == "company" else "person")
        validate_ogrn(client.ogrn, "company" if client.kind == "company" else "ip")
        assert client.version == 1
        assert client.created_on <= client.changed_on
        assert client.created_by_fk == client.responsible_id is not None
    for column in (Client.inn, Client.email_normalized):
        duplicates = session.execute(select(column).where(column.is_not(None))
                                     .group_by(column).having(func.count() > 1)).all()
        assert not duplicates, column

    # The sales rules hold for generated deals.
    open_without_plan = session.execute(
        select(func.count()).select_from(Interest).join(Stage).where(
            Stage.kind == "open",
            ~select(Interaction.id).where(Interaction.interest_id == Interest.id,
                                          Interaction.status == "planned").exists())).scalar()
    assert open_without_plan == 0
    assert count(Interest, Interest.stage_id.in_(select(Stage.id).where(Stage.kind != "open")),
                 Interest.closed_at.is_(None)) == 0
    assert count(Interest, Interest.client_id.is_(None),
                 Interest.stage_id.in_(select(Stage.id).where(Stage.requires_client))) == 0
    assert count(Interaction, Interaction.status == "done", Interaction.result.is_(None)) == 0
    for model in (Contact, Interest, Interaction, Inquiry):
        assert count(model, model.version != 1) == 0
        assert count(model, model.created_on.is_(None)) == 0

    managers = session.execute(select(CrmUser).where(CrmUser.username.like("manager0%"))
                               ).scalars().all()
    assert len(managers) == 50
    assert all([r.name for r in m.roles] == ["Manager"] and m.department_id for m in managers)
    responsible = set(session.execute(select(Client.responsible_id).where(generated)
                                      .distinct()).scalars())
    assert responsible <= {m.id for m in managers} and len(responsible) >= 40


def test_generator_on_an_empty_database(fresh_app):
    from app.database import db
    from app.models import Client
    from app.sample_data.generator import generate

    lines = []
    with fresh_app.app_context():
        counts = generate(clients=300, seed=3, echo=lines.append)
        db.session.remove()
        assert counts["crm_client"] == 300
        _check_generated(db.session, 0, 300, counts)
        # The rows read back through the ORM, times included.
        client = db.session.execute(select(Client).order_by(Client.id.desc())).scalars().first()
        assert isinstance(client.created_on, dt.datetime)
        # ANALYZE ran: the planner has statistics.
        assert db.session.execute(text("SELECT count(*) FROM sqlite_stat1")).scalar() > 0
    assert any("Done in" in line for line in lines)


def test_generator_next_to_the_demo_and_again(fresh_app):
    from app.database import db
    from app.models import Client
    from app.sample_data.demo import create_demo_company
    from app.sample_data.generator import generate

    with fresh_app.app_context():
        assert create_demo_company(DEMO_PASSWORD)
        db.session.remove()
        demo_clients = db.session.execute(select(func.count()).select_from(Client)).scalar()
        db.session.remove()
        counts = generate(clients=300, seed=5, echo=lambda line: None)
        db.session.remove()
        _check_generated(db.session, demo_clients, 300, counts)
        db.session.remove()
        # A second run adds to what is there and reuses the generated managers.
        counts = generate(clients=300, seed=6, echo=lambda line: None)
        db.session.remove()
        _check_generated(db.session, demo_clients + 300, 300, counts)
        # New records still get ids from the database after explicit-id bulk inserts.
        from app.services import records
        from app.services.actor import acting_as

        with acting_as(None):
            client = records.save(Client(kind="company", name="ООО «Проверка»"), is_new=True)
        assert client.id == demo_clients + 601


def test_the_demo_lists_after_the_seed_data_and_never_again(app, dbx):
    """The system items and the default pipeline are defined once (app.seed); the demo's
    directory adds its own items after them, sorted after the system ones."""
    from app.database import db
    from app.models import DictionaryItem, Pipeline, Stage
    from app.sample_data import catalogue
    from app.seed import DEFAULT_PIPELINE, SYSTEM_DIRECTORY

    for kind, items in SYSTEM_DIRECTORY.items():
        system_codes = {code for code, *_ in items}
        assert not system_codes & {code for code, *_ in catalogue.DIRECTORY.get(kind, [])}, kind
    with app.app_context():
        catalogue.ensure_catalogue()
        db_session = db.session
        rows = db_session.execute(select(DictionaryItem.kind, DictionaryItem.code,
                                         DictionaryItem.sort, DictionaryItem.is_system)
                                  .where(DictionaryItem.kind == "interaction_type")
                                  .order_by(DictionaryItem.sort)).all()
        stages = db_session.execute(select(Stage.name).join(Pipeline)
                                    .where(Pipeline.is_default.is_(True))
                                    .order_by(Stage.sort)).scalars().all()
        db_session.rollback()
        db_session.remove()
    system = [code for code, *_ in SYSTEM_DIRECTORY["interaction_type"]]
    assert [(code, is_system) for _kind, code, _sort, is_system in rows] == \
        [(code, True) for code in system] + [("presentation", False)]
    assert stages == [name for name, *_ in DEFAULT_PIPELINE[1]]
