""""Who can see this record": the show pages of clients and interests list exactly the
employees who can read the record, each with the role and the scope that let them."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select, update

from app.models import Client, CrmUser, Department, Interest
from app.services.access import ALL, OWN, SCOPES, SUBTREE
from tests.access_rules import OWNERS, Records, build_company, may, who
from tests.conftest import PASSWORD
from tests.helpers import text_of, tr

CASES = [pytest.param(Client, "/clientview", id="client"),
         pytest.param(Interest, "/interestview", id="interest")]


def readers_on_page(response) -> list[tuple[str, str, str]]:
    assert response.status_code == 200
    page = text_of(response)
    table = page.split("crm-readers", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table, re.S)
    return sorted(tuple(html.unescape(cell.strip()) for cell in row) for row in rows)


def full_name(dbx, login: str) -> str:
    user = dbx.get(CrmUser, dbx.user_id(login))
    return f"{user.first_name} {user.last_name}"


def scope(app, value: int) -> str:
    return tr(app, SCOPES[value])


def role(app, name: str) -> str:
    """A role as the page names it: the built-in roles in the user's language."""
    from app.services.roles import role_label

    with app.test_request_context("/"):
        return role_label(name)


def expected_readers(dbx, model, pk, logins) -> set[str]:
    """Who should read the record, by the rules (tests/access_rules.py)."""
    records = Records(dbx)
    row = records.of(model)[pk]
    return {login for login in logins if may(who(dbx, login), model, row, "read", records)}


@pytest.mark.parametrize("model,base", CASES)
def test_readers_of_a_managers_record(app, dbx, client_as, model, base):
    company = build_company(dbx)
    pk = company.own("manager", model)
    assert expected_readers(dbx, model, pk, OWNERS) == \
        {"admin", "manager", "supervisor", "readonly"}
    expected = sorted([
        (full_name(dbx, "admin"), role(app, "Admin"), scope(app, ALL)),
        (full_name(dbx, "manager"), role(app, "Manager"), scope(app, OWN)),
        (full_name(dbx, "supervisor"), role(app, "Supervisor"), scope(app, SUBTREE)),
        (full_name(dbx, "readonly"), role(app, "Read-only"), scope(app, ALL)),
    ])
    # The same list whoever looks, as long as they may see the record.
    for login in ("admin", "manager", "supervisor", "readonly"):
        assert readers_on_page(client_as(login).get(f"{base}/show/{pk}")) == expected, login


@pytest.mark.parametrize("model,base", CASES)
def test_readers_of_a_record_outside_sales(app, dbx, client_as, model, base):
    company = build_company(dbx)
    pk = company.own("manager_b", model)
    assert expected_readers(dbx, model, pk, OWNERS) == {"admin", "manager_b", "readonly"}
    assert readers_on_page(client_as("manager_b").get(f"{base}/show/{pk}")) == sorted([
        (full_name(dbx, "admin"), role(app, "Admin"), scope(app, ALL)),
        (full_name(dbx, "manager_b"), role(app, "Manager"), scope(app, OWN)),
        (full_name(dbx, "readonly"), role(app, "Read-only"), scope(app, ALL)),
    ])


@pytest.mark.parametrize("model,base", CASES)
def test_the_head_of_the_owners_department_reads_by_the_head_rule(app, dbx, client_as,
                                                                  model, base):
    """Manager B heads Regions; a new employee of Regions owns the record: B reads it as
    its head (B's role alone gives only their own records)."""
    from app.database import db

    with app.app_context():
        sm = app.appbuilder.sm
        rep = sm.add_user(username="rep", first_name="Rep", last_name="Regions",
                          email="rep@test.local", role=sm.find_role("Manager"),
                          password=PASSWORD)
        regions = db.session.execute(
            select(Department.id).where(Department.name == "Regions")).scalar_one()
        db.session.execute(update(CrmUser.__table__).where(CrmUser.id == rep.id)
                           .values(department_id=regions))
        db.session.execute(update(Department.__table__).where(Department.id == regions)
                           .values(head_id=dbx.user_id("manager_b")))
        db.session.commit()
        db.session.remove()
    company = build_company(dbx)
    pk = company.own("manager_b", model)
    with dbx.session() as s:
        column = model.responsible_id
        s.execute(update(model.__table__).where(model.id == pk)
                  .values({column.key: dbx.user_id("rep")}))
        s.commit()
    assert expected_readers(dbx, model, pk, (*OWNERS, "rep")) == \
        {"admin", "rep", "manager_b", "readonly"}
    assert readers_on_page(client_as("manager_b").get(f"{base}/show/{pk}")) == sorted([
        (full_name(dbx, "admin"), role(app, "Admin"), scope(app, ALL)),
        ("Rep Regions", role(app, "Manager"), scope(app, OWN)),
        (full_name(dbx, "manager_b"), tr(app, "Head of department"), scope(app, SUBTREE)),
        (full_name(dbx, "readonly"), role(app, "Read-only"), scope(app, ALL)),
    ])


def add_employees(app, count: int, start: int = 0) -> None:
    """`count` more active employees: managers and supervisors of Sales, read-only users
    of Back office, managers of no department; some see the records, some do not."""
    from app.database import db

    kinds = [("Manager", "Sales"), ("Supervisor", "Sales"), ("Read-only", "Back office"),
             ("Manager", None)]
    with app.app_context():
        sm = app.appbuilder.sm
        departments = dict(db.session.execute(select(Department.name, Department.id)).all())
        for number in range(start, start + count):
            role, department = kinds[number % len(kinds)]
            user = sm.add_user(username=f"extra{number}", first_name="Extra",
                               last_name=f"{number:03d}", email=f"extra{number}@test.local",
                               role=sm.find_role(role), password=PASSWORD)
            if department:
                db.session.execute(update(CrmUser.__table__).where(CrmUser.id == user.id)
                                   .values(department_id=departments[department]))
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("model,base", CASES)
def test_who_can_see_it_takes_the_same_statements_whatever_the_number_of_users(
        app, dbx, client_as, count_queries, model, base):
    """The readers of a record are found with a fixed number of statements, with 5 extra
    employees as with 50, and they are exactly the users the access filter lets read it."""
    from app.database import db
    from app.services.access import allows
    from app.services.readers import readers_of

    company = build_company(dbx)
    pk = company.own("manager", model)

    def measure() -> tuple[int, int, set[str]]:
        page = client_as("supervisor")
        assert page.get(f"{base}/show/{pk}").status_code == 200  # caches filled
        with count_queries() as on_page:
            readers = readers_on_page(page.get(f"{base}/show/{pk}"))
        with app.test_request_context():
            record = db.session.get(model, pk)
            users = db.session.execute(select(CrmUser).where(CrmUser.active.is_(True))
                                       ).scalars().all()
            may_read = {f"{u.first_name} {u.last_name}" for u in users
                        if allows(record, "read", u)}
            with count_queries() as in_service:
                listed = readers_of(record)
            db.session.remove()
        assert {f"{r['user'].first_name} {r['user'].last_name}" for r in listed} == may_read
        assert {name for name, _role, _scope in readers} == may_read
        return on_page.count, in_service.count, may_read

    add_employees(app, 5)
    page_few, service_few, readers_few = measure()
    add_employees(app, 45, start=5)
    page_many, service_many, readers_many = measure()
    assert len(readers_many) > len(readers_few)
    assert service_many == service_few <= 4
    assert page_many == page_few
