"""The access rules restated for the tests, and a company whose employees own records.

What a user should see and change is derived here from the built-in rights matrices
(app.services.rights.BUILTIN_ROLES), the scopes, the departments of the test company and
each record's owner — never from app.services.access itself, so that the tests compare the
access filter with an independent statement of the rules:

- a role's cell (entity, action) gives a scope: none < own < own department <
  department and sub-departments < all; a user has their own roles and their department's
  roles, and the widest scope wins; the administrator has every right;
- a head of department reads at least the records of the subtree they head;
- a record is within a scope when its owner is: the user, a member of the user's
  department, of the department's subtree, anyone;
- a contact is also within a scope with its client; an interest's product with its
  interest; a history entry with the record it is about;
- products, directories and settings have no owner: any scope but none is all;
- screens and API resources (Flask-AppBuilder's permissions) follow the user's own roles:
  a cell above none gives the screen's permissions for that action.

A new screen or resource is covered as soon as its model names its entity in
app.services.access.MODEL_ENTITY (the tests refuse a model that does not).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Optional

from sqlalchemy import select

from app.models import (
    ChangeLog,
    Client,
    CompanyRequisites,
    Contact,
    CrmUser,
    Department,
    Inquiry,
    Interaction,
    Interest,
    InterestProduct,
    Product,
    ProductGroup,
    SalesPlan,
    department_role,
)
from app.services.access import ALL, DEPARTMENT, MODEL_ENTITY, NONE, SUBTREE
from app.services.actor import acting_as
from app.services.rights import BUILTIN_ROLES
from tests.conftest import ROLE_USERS
from tests.factories import (
    ACCOUNT,
    BIK,
    CORR_ACCOUNT,
    default_pipeline,
    first_stage,
    system_item,
    valid_inn,
    valid_ogrn,
)

ANONYMOUS = "anonymous"
# Everyone the matrix tests act as; the employees among them own records.
PRINCIPALS = (ANONYMOUS, "admin", "supervisor", "manager", "manager_b", "readonly")
OWNERS = tuple(login for login in PRINCIPALS if login != ANONYMOUS)
ADMIN_ROLE = "Admin"

# The column naming a record's owner, per model (the tests' own statement of it).
OWNER_COLUMN = {
    Client: "responsible_id",
    Contact: "responsible_id",
    Inquiry: "manager_id",
    Interest: "responsible_id",
    Interaction: "responsible_id",
}
OWNED_MODELS = tuple(OWNER_COLUMN)
OWNED_ENTITIES = ("client", "contact", "inquiry", "interest", "interaction")


def entity_of(model) -> str:
    entity = MODEL_ENTITY.get(model)
    assert entity is not None, (
        f"{model.__name__} has no entity in app.services.access.MODEL_ENTITY: every screen "
        "and resource must say which rights govern it")
    return entity


# --- who ---------------------------------------------------------------------------------------


@dataclass
class Who:
    """A principal of the tests: the anonymous visitor or an employee."""

    login: str
    user_id: Optional[int] = None
    department_id: Optional[int] = None
    roles: tuple[str, ...] = ()  # their own roles: Flask-AppBuilder knows these
    department_roles: tuple[str, ...] = ()  # their department's roles: the access filter's
    matrices: dict[str, dict] = field(default_factory=dict, repr=False)
    subtree: frozenset = frozenset()  # their department and every one below it
    headed: frozenset = frozenset()  # the departments of the subtrees they head
    departments: dict[int, Optional[int]] = field(default_factory=dict, repr=False)  # user -> dept

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def admin(self) -> bool:
        return ADMIN_ROLE in self.roles or ADMIN_ROLE in self.department_roles

    def scope(self, entity: str, action: str) -> int:
        """The widest scope the user's roles give on (entity, action)."""
        if self.anonymous:
            return NONE
        if self.admin:
            return ALL
        scope = max([self.matrices[role].get((entity, action), NONE)
                     for role in (*self.roles, *self.department_roles)
                     if role in self.matrices] or [NONE])
        if action == "read" and entity in OWNED_ENTITIES and self.headed:
            scope = max(scope, SUBTREE)
        return scope

    def screen_right(self, entity: str, action: str) -> bool:
        """Does Flask-AppBuilder let the user reach the screens of (entity, action)?"""
        if self.anonymous:
            return False
        if ADMIN_ROLE in self.roles:
            return True
        return any(self.matrices[role].get((entity, action), NONE) > NONE
                   for role in self.roles if role in self.matrices)

    def owner_within(self, owner: Optional[int], scope: int, action: str) -> bool:
        if scope == ALL:
            return True
        if scope == NONE or owner is None:
            return False
        if owner == self.user_id:
            return True
        department = self.departments.get(owner)
        if action == "read" and department in self.headed:
            return True
        if scope == DEPARTMENT:
            return department is not None and department == self.department_id
        if scope == SUBTREE:
            return department in self.subtree
        return False


def _subtree(children: dict, root: Optional[int]) -> set[int]:
    if root is None:
        return set()
    found, stack = set(), [root]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


def who(dbx, login: str, matrices: Optional[dict] = None) -> Who:
    """The principal `login` as the database describes them now (roles, department, the
    departments they head); `matrices` replaces the built-in ones (role -> matrix)."""
    if login == ANONYMOUS:
        return Who(login)
    from flask_appbuilder.security.sqla.models import Role

    with dbx.session() as s:
        user = s.execute(select(CrmUser).where(CrmUser.username == login)).scalar_one()
        departments = {row.id: (row.parent_id, row.head_id)
                       for row in s.execute(select(Department.id, Department.parent_id,
                                                   Department.head_id))}
        children: dict = {}
        for dep_id, (parent, _head) in departments.items():
            children.setdefault(parent, []).append(dep_id)
        headed = set()
        for dep_id, (_parent, head) in departments.items():
            if head == user.id:
                headed |= _subtree(children, dep_id)
        department_roles = tuple(s.execute(
            select(Role.name).join(department_role, department_role.c.role_id == Role.id)
            .where(department_role.c.department_id == user.department_id)).scalars())
        return Who(
            login=login, user_id=user.id, department_id=user.department_id,
            roles=tuple(role.name for role in user.roles),
            department_roles=department_roles,
            matrices=dict(matrices or BUILTIN_ROLES),
            subtree=frozenset(_subtree(children, user.department_id)),
            headed=frozenset(headed),
            departments=dict(s.execute(select(CrmUser.id, CrmUser.department_id)).tuples().all()),
        )


# --- records -----------------------------------------------------------------------------------


class Records:
    """The rows of the database as the rules need them, read once per check."""

    def __init__(self, dbx):
        self.dbx = dbx
        self._cache: dict[type, dict[int, dict]] = {}

    def of(self, model) -> dict[int, dict]:
        """id -> {"id", "owner", ...} for every row of `model`."""
        if model not in self._cache:
            with self.dbx.session() as s:
                if model in OWNER_COLUMN:
                    columns = [model.id, getattr(model, OWNER_COLUMN[model]).label("owner")]
                    if model is Contact:
                        columns.append(Contact.client_id)
                    rows = {row.id: dict(row._mapping) for row in s.execute(select(*columns))}
                elif model is InterestProduct:
                    rows = {row.id: dict(row._mapping) for row in s.execute(
                        select(InterestProduct.id, InterestProduct.interest_id))}
                elif model is ChangeLog:
                    rows = {row.id: dict(row._mapping) for row in s.execute(
                        select(ChangeLog.id, ChangeLog.entity, ChangeLog.record_id))}
                elif model is SalesPlan:
                    rows = {row.id: dict(row._mapping) for row in s.execute(
                        select(SalesPlan.id, SalesPlan.manager_id, SalesPlan.department_id))}
                else:
                    rows = {pk: {"id": pk} for pk in s.execute(select(model.id)).scalars()}
            self._cache[model] = rows
        return self._cache[model]

    def ids(self, model) -> set[int]:
        return set(self.of(model))


_TRACKED = {model.__name__: model for model in OWNED_MODELS}


def may(who_: Who, model, row: dict, action: str, records: Records) -> bool:
    """May `who_` do `action` (read, add, edit, delete) with this row of `model`?"""
    if who_.anonymous:
        return False
    if who_.admin:
        return True
    entity = entity_of(model)
    scope = who_.scope(entity, action)
    if scope == NONE:
        return False
    if model is ChangeLog:
        target_model = _TRACKED.get(row["entity"])
        target = records.of(target_model).get(row["record_id"]) if target_model else None
        return target is not None and may(who_, target_model, target, "read", records)
    if model is InterestProduct:
        interest = records.of(Interest).get(row["interest_id"])
        return interest is not None and may(who_, Interest, interest, action, records)
    if model is SalesPlan:
        # A manager's plan goes with the manager's figures, a department's with it.
        if row["department_id"] is not None:
            return scope == ALL or row["department_id"] in (
                who_.subtree if scope == SUBTREE else {who_.department_id}
                if scope == DEPARTMENT else set()) | (who_.headed if action == "read"
                                                      else set())
        return who_.owner_within(row["manager_id"], scope, action)
    if model not in OWNER_COLUMN:
        return True
    if who_.owner_within(row["owner"], scope, action):
        return True
    if model is Contact:
        client = records.of(Client).get(row["client_id"])
        return client is not None and who_.owner_within(client["owner"], scope, action)
    return False


def expected_visible(who_: Who, model, records: Records, action: str = "read") -> set[int]:
    """The ids of `model` that `who_` should see (or edit, delete: `action`)."""
    return {pk for pk, row in records.of(model).items()
            if may(who_, model, row, action, records)}


# --- the company -------------------------------------------------------------------------------


@dataclass
class Company:
    """Who owns what: login -> model -> [ids], in the order they were made."""

    owned: dict[str, dict[type, list[int]]]
    users: dict[str, int]
    product: int
    shared: dict[type, list[int]]  # records nobody owns, made for the tests

    def own(self, login: str, model, index: int = 0) -> int:
        return self.owned[login][model][index]

    def of_owner(self, login: str, model) -> list[int]:
        return list(self.owned[login][model])


def build_company(dbx, per_owner: int = 2) -> Company:
    """Each employee owns `per_owner` clients, contacts, inquiries, interests and
    interactions; links cross owners, so that a manager's client carries records of
    others:

    - contact 0 is on the owner's client 0, contact 1 on the next owner's client 1;
    - interest 0 is for the owner's client 0, interest 1 for the next owner's client 1;
    - interaction 0 is about the owner's interest 0 (overdue), interaction 1 about the
      previous owner's interest 0 and client 0 (planned in a week);
    - inquiry 0 is new, inquiry 1 processed; interest 0 has a product.

    One unit of work, written as the administrator: the change log records every row.
    """
    users = {login: dbx.user_id(login) for login in OWNERS}
    assert set(ROLE_USERS) >= set(OWNERS)
    pipeline = default_pipeline(dbx)
    stage = first_stage(dbx, pipeline)
    call = system_item(dbx, "interaction_type", "call")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    owned: dict[str, dict[type, list]] = {login: {m: [] for m in (*OWNED_MODELS,
                                                                 InterestProduct)}
                                          for login in OWNERS}
    shared: dict[type, list] = {}
    with dbx.session() as s, acting_as(users["admin"]):
        group = ProductGroup(name="Оборудование", sort=10)
        product = Product(name="Станок", sku="ST-1", group=group, unit="шт",
                          price=Decimal("1000.00"), currency="RUB", is_active=True)
        spare = Product(name="Запчасть", sku="ZP-1", group=group, unit="шт",
                        price=Decimal("10.00"), currency="RUB", is_active=True)
        requisites = CompanyRequisites(
            template="company", full_name="ООО Воронка", short_name="Воронка",
            inn=valid_inn(1), kpp="773601001", ogrn=valid_ogrn(1), address="Москва",
            bank_name="ПАО Сбербанк", bik=BIK, account=ACCOUNT, corr_account=CORR_ACCOUNT,
            director="Иванов И. И.", is_default=True)
        s.add_all([group, product, spare, requisites])
        objects: dict[str, dict[type, list]] = {login: {} for login in OWNERS}
        for number, login in enumerate(OWNERS):
            clients = [Client(kind="company", name=f"Клиент {login} {k}",
                              inn=valid_inn(100 + number * 10 + k),
                              phone=f"+7 916 000-{number:02d}-{k:02d}",
                              email=f"{login}{k}@clients.test", responsible_id=users[login])
                       for k in range(per_owner)]
            s.add_all(clients)
            objects[login][Client] = clients
        s.flush()
        for number, login in enumerate(OWNERS):
            following = OWNERS[(number + 1) % len(OWNERS)]
            mine = objects[login][Client]
            theirs = objects[following][Client][min(1, per_owner - 1)]
            contacts = [Contact(client=mine[0] if k == 0 else theirs,
                                name=f"Контакт {login} {k}", phone="+7 916 111-22-33",
                                email=f"contact.{login}{k}@clients.test",
                                responsible_id=users[login]) for k in range(per_owner)]
            inquiries = [Inquiry(channel="call", text="Нужен расчёт",
                                 sender_name=f"Отправитель {login} {k}",
                                 sender_company="ООО Лютик", received_at=now,
                                 manager_id=users[login],
                                 status="new" if k == 0 else "processed")
                         for k in range(per_owner)]
            interests = [Interest(title=f"Интерес {login} {k}",
                                  client=mine[0] if k == 0 else theirs,
                                  pipeline_id=pipeline, stage_id=stage,
                                  amount=Decimal(1000 * (k + 1)), currency="RUB",
                                  responsible_id=users[login]) for k in range(per_owner)]
            line = InterestProduct(interest=interests[0], product=product,
                                   quantity=Decimal(1), price=Decimal("1000.00"),
                                   discount=Decimal(0))
            s.add_all([*contacts, *inquiries, *interests, line])
            objects[login].update({Contact: contacts, Inquiry: inquiries,
                                   Interest: interests, InterestProduct: [line]})
        for number, login in enumerate(OWNERS):
            previous = OWNERS[(number - 1) % len(OWNERS)]
            interactions = [Interaction(
                type_id=call, subject=f"Звонок {login} {k}",
                client=objects[login][Client][0] if k == 0 else objects[previous][Client][0],
                interest=objects[login][Interest][0] if k == 0 else
                objects[previous][Interest][0],
                planned_at=now - dt.timedelta(days=1) if k == 0 else
                now + dt.timedelta(days=7),
                status="planned", responsible_id=users[login]) for k in range(per_owner)]
            s.add_all(interactions)
            objects[login][Interaction] = interactions
        s.commit()
        for login in OWNERS:
            for model, items in objects[login].items():
                owned[login][model] = [item.id for item in items]
        shared = {ProductGroup: [group.id], Product: [product.id, spare.id],
                  CompanyRequisites: [requisites.id]}
        product_id = product.id
    return Company(owned=owned, users=users, product=product_id, shared=shared)


def deps_for(base: dict, company: Company, login: str) -> dict:
    """A factory's dependencies (tests/factories.py) with the principal's own user, client
    and interest, so that what they make links only to records they can see."""
    deps = dict(base)
    if login == ANONYMOUS:
        return deps
    if "user" in deps:
        deps["user"] = company.users[login]
    if "client" in deps:
        deps["client"] = company.own(login, Client)
    if "interest" in deps:
        deps["interest"] = company.own(login, Interest)
    return deps


def bulk_actions(view) -> list[str]:
    """The names of a screen's bulk actions (Flask-AppBuilder's @action)."""
    names = []
    for attr in dir(view):
        spec = getattr(getattr(view, attr, None), "_action", None)
        if spec:
            names.append(spec[0])
    return sorted(names)


def row_dicts(dbx, model, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Full rows of `model` as the database holds them (every column), by id."""
    table = model.__table__
    with dbx.session() as s:
        return {row["id"]: dict(row) for row in s.execute(
            select(table).where(table.c.id.in_(sorted(ids)))).mappings()}
