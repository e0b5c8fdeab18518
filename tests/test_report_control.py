"""The supervisor's control (R12) and the quality of the client base on fixed clients:
exact colours and failed indicators, the variants' figures, the quality's shares, the
check wizard's lists, who sees which clients, and the refresh that notices a plan become
overdue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app.models import (
    Client,
    ClientFact,
    Contact,
    DictionaryItem,
    Interaction,
    Interest,
    Stage,
)
from app.services import report_tables
from tests.factories import default_pipeline
from tests.helpers import text_of


def item(s, kind: str, code: str) -> int:
    found = s.execute(select(DictionaryItem.id).where(DictionaryItem.kind == kind,
                                                      DictionaryItem.code == code)).scalar()
    if found is None:
        entry = DictionaryItem(kind=kind, code=code, name=code)
        s.add(entry)
        s.flush()
        found = entry.id
    return found


@pytest.fixture
def base(dbx):
    """C1 green; C2 red (an overdue call); C3 red (no open interest) and no portrait; C4
    yellow (no size, a contact with neither phone nor e-mail); C5 a person, green; C6 of
    manager B, red (no interest), with C1's phone: both suspected duplicates."""
    manager, manager_b = dbx.user_id("manager"), dbx.user_id("manager_b")
    now = dt.datetime.utcnow().replace(microsecond=0)
    pipeline = default_pipeline(dbx)
    with dbx.session() as s:
        portrait = {"industry_id": item(s, "industry", "retail"),
                    "size_id": item(s, "company_size", "small"),
                    "contact_type_id": item(s, "contact_type", "client"),
                    "source_id": item(s, "source", "site")}
        stages = {st.kind: st.id for st in reversed(s.execute(select(Stage).where(
            Stage.pipeline_id == pipeline).order_by(Stage.sort)).scalars().all())}
        s.commit()
    specs = {
        "C1": dict(kind="company", phone="+7 495 111-22-33", **portrait),
        "C2": dict(kind="company", **portrait),
        "C3": dict(kind="company", contact_type_id=portrait["contact_type_id"]),
        "C4": dict(kind="company", **{**portrait, "size_id": None}),
        "C5": dict(kind="person", phone="+7 916 000-00-05",
                   contact_type_id=portrait["contact_type_id"], source_id=portrait["source_id"]),
        "C6": dict(kind="company", phone="+7 495 111-22-33", **portrait),
    }
    ids = {}
    with dbx.session() as s:
        for name, values in specs.items():
            owner = manager_b if name == "C6" else manager
            phone = values.pop("phone", None)
            client = Client(name=name, name_search=name.lower(), responsible_id=owner,
                            phone=phone, phone_normalized=phone and "".join(
                                ch for ch in phone if ch.isdigit()), **values)
            s.add(client)
            s.flush()
            ids[name] = client.id
            if name in ("C1", "C2", "C3", "C6"):
                s.add(Contact(client_id=client.id, name=f"{name} contact",
                              email=f"{name.lower()}@example.com", responsible_id=owner))
            if name == "C4":
                s.add(Contact(client_id=client.id, name="C4 contact", responsible_id=owner))
            if name in ("C1", "C2", "C4", "C5"):
                s.add(Interest(title=f"{name} deal", title_search=name.lower(),
                               pipeline_id=pipeline, stage_id=stages["open"],
                               amount=Decimal(100), responsible_id=owner, client_id=client.id))
            if name == "C3":
                s.add(Interest(title="C3 won", title_search="c3", pipeline_id=pipeline,
                               stage_id=stages["won"], amount=Decimal(100),
                               responsible_id=owner, client_id=client.id, closed_at=now))
            if name == "C2":
                s.add(Interaction(subject="Overdue call", client_id=client.id,
                                  responsible_id=owner, status="planned",
                                  planned_at=now - dt.timedelta(days=2)))
            if name == "C4":
                s.add(Interaction(subject="Coming call", client_id=client.id,
                                  responsible_id=owner, status="planned",
                                  planned_at=now + dt.timedelta(days=2)))
        s.add(Interaction(subject="Done call", client_id=ids["C1"], responsible_id=manager,
                          status="done", planned_at=dt.datetime(2026, 11, 24, 9),
                          done_at=dt.datetime(2026, 11, 24, 9)))
        s.commit()
    return ids


def compute_all(app):
    with app.app_context():
        for name in ("clients", "activity"):
            report_tables.compute(name, full=True)


def grid(client, name, **args):
    answer = client.get(f"/api/v1/report/{name}", query_string=args)
    assert answer.status_code == 200, text_of(answer)[:500]
    return answer.get_json()


def rows_by_user(body, dbx):
    names = {dbx.user_id(u): u for u in ("manager", "manager_b", "supervisor")}
    return {names.get(row["user_id"], row["user_id"]): row for row in body["rows"]}


def test_each_client_s_colour_and_failed_indicators(app, dbx, base):
    compute_all(app)
    with dbx.session() as s:
        facts = {f.client_id: f for f in s.execute(select(ClientFact)).scalars()}
    seen = {name: (facts[pk].colour, facts[pk].open_interests, facts[pk].overdue,
                   facts[pk].planned, facts[pk].portrait, facts[pk].reachable,
                   facts[pk].duplicate) for name, pk in base.items()}
    assert seen == {
        "C1": ("green", 1, 0, 0, True, True, True),
        "C2": ("red", 1, 1, 0, True, True, False),
        "C3": ("red", 0, 0, 0, False, True, False),
        "C4": ("yellow", 1, 0, 1, False, False, False),
        "C5": ("green", 1, 0, 0, True, True, False),
        "C6": ("red", 0, 0, 0, True, True, True),
    }


def test_the_control_by_clients_counts_colours_and_indicators_per_manager(app, api, dbx,
                                                                         base):
    compute_all(app)
    body = grid(api, "control", view="clients", start="2026-11-01", end="2026-11-30")
    rows = rows_by_user(body, dbx)
    figures = {who: tuple(row[k] for k in ("clients", "green", "yellow", "red", "no_interest",
                                           "with_overdue", "no_portrait", "unreachable"))
               for who, row in rows.items()}
    assert figures == {"manager": (5, 2, 1, 2, 1, 1, 2, 1),
                       "manager_b": (1, 0, 0, 1, 1, 0, 0, 0)}
    assert body["totals"]["red"] == 3 and body["totals"]["clients"] == 6
    red = api.get("/api/v1/report/control/drill", query_string={
        "start": "2026-11-01", "end": "2026-11-30", **rows["manager"]["drill"]["red"]})
    listed = {r["name"]: r["failed"] for r in red.get_json()["rows"]}
    assert listed == {"C2": "Просроченное взаимодействие",  # in the company's language
                      "C3": "Нет активного интереса, Не заполнен портрет"}


def test_the_control_s_variants(app, api, dbx, base):
    compute_all(app)
    period = {"start": "2026-11-01", "end": "2026-11-30"}
    touches = rows_by_user(grid(api, "control", view="touches", **period), dbx)
    assert (touches["manager"]["done"], touches["manager"]["touches"]) == (1, "0.20")
    interactions = rows_by_user(grid(api, "control", view="interactions", **period), dbx)
    assert tuple(interactions["manager"][k] for k in ("done", "planned", "overdue")) == \
        (1, 1, 1)
    warm = rows_by_user(grid(api, "control", view="warm", **period), dbx)
    assert (warm["manager"]["warm"], warm["manager"]["warm_share"]) == (4, "80.0")
    interests = rows_by_user(grid(api, "control", view="interests", **period), dbx)
    assert (interests["manager"]["open_interests"], interests["manager"]["per_client"]) == \
        (4, "1.00")
    both = rows_by_user(grid(api, "control", view="clients_interests", **period), dbx)
    assert (both["manager_b"]["clients"], both["manager_b"]["open_interests"]) == (1, 0)


def test_quality_shares_and_the_check_wizard(app, api, client_as, dbx, base):
    compute_all(app)
    body = grid(api, "quality")
    manager = rows_by_user(body, dbx)["manager"]
    assert (manager["portrait_share"], manager["contacts_share"], manager["warm_share"],
            manager["duplicates"]) == ("60.0", "75.0", "80.0", 1)
    checks = {c["check"]: c["failing"] for c in body["checks"]}
    assert checks == {"portrait": 2, "contacts": 1, "no_interest": 2, "overdue": 1,
                      "duplicate": 2}
    duplicates = api.get("/api/v1/report/quality/drill", query_string={"check": "duplicate"})
    assert sorted(r["name"] for r in duplicates.get_json()["rows"]) == ["C1", "C6"]
    page = client_as("supervisor").get("/reports/quality/drill?check=duplicate")
    html = text_of(page)
    assert page.status_code == 200 and ">C1</a>" in html
    assert ">C6</a>" not in html  # manager B's: not in the supervisor's subtree
    assert f"/clientview/edit/{base['C1']}" in html  # the wizard's link to fix it
    wizard = client_as("supervisor").get("/reports/quality/")
    assert "/reports/quality/drill?check=portrait" in text_of(wizard)


def test_a_manager_sees_only_their_own_clients(app, api_as, dbx, base):
    compute_all(app)
    body = grid(api_as("manager_b"), "control")
    assert [row["clients"] for row in body["rows"]] == [1]
    drill = api_as("manager_b").get("/api/v1/report/control/drill",
                                    query_string={"check": "red"})
    assert [r["name"] for r in drill.get_json()["rows"]] == ["C6"]
    supervisor = grid(api_as("supervisor"), "control")
    assert sum(row["clients"] for row in supervisor["rows"]) == 5


def test_the_refresh_turns_a_client_red_when_its_plan_becomes_overdue(app, dbx, base):
    compute_all(app)
    with dbx.session() as s:
        s.execute(update(Interaction).where(Interaction.subject == "Coming call").values(
            planned_at=dt.datetime.utcnow() - dt.timedelta(minutes=1)))
        s.commit()
    with app.app_context():
        state = report_tables.compute("clients")
        assert state.full is False
    with dbx.session() as s:
        colour = s.execute(select(ClientFact.colour).where(
            ClientFact.client_id == base["C4"])).scalar()
    assert colour == "red"


def test_bad_check_is_refused(api, base):
    answer = api.get("/api/v1/report/control/drill", query_string={"check": "purple"})
    assert answer.status_code == 422 and "check" in answer.get_json()["message"]
    assert api.get("/api/v1/report/control", query_string={"view": "x"}).status_code == 422
