"""What generated rows refer to: the generated managers in their departments, and the ids
of the directory items, pipelines, stages and products the rows point at."""

from __future__ import annotations

import random

from flask import current_app
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.models import (
    CrmUser,
    Department,
    DictionaryItem,
    Pipeline,
    Product,
    Stage,
)
from app.sample_data import people
from app.sample_data.catalogue import ACTIVITY_NORM

MANAGERS = 50
MANAGERS_PER_DEPARTMENT = 10


class Catalogue:
    """Ids of the directory items, stages, products and managers the rows point at."""

    def __init__(self, session, managers: list[int]):
        items: dict[str, dict[str, int]] = {}
        for kind, code, item_id in session.execute(
                select(DictionaryItem.kind, DictionaryItem.code, DictionaryItem.id)
                .order_by(DictionaryItem.kind, DictionaryItem.sort, DictionaryItem.id)):
            items.setdefault(kind, {})[code] = item_id
        self.items = items
        self.managers = managers
        self.products = [(pid, str(price)) for pid, price in session.execute(
            select(Product.id, Product.price).where(Product.is_active.is_(True))
            .order_by(Product.id))]
        pipelines = session.execute(
            select(Pipeline.id, Pipeline.is_default).order_by(Pipeline.sort, Pipeline.id)).all()
        stages = session.execute(
            select(Stage.id, Stage.pipeline_id, Stage.kind, Stage.requires_client)
            .order_by(Stage.pipeline_id, Stage.sort, Stage.id)).all()
        self.pipelines = []
        for pipeline_id, is_default in pipelines:
            own = [s for s in stages if s.pipeline_id == pipeline_id]
            open_stages = [s for s in own if s.kind == "open"]
            won = [s for s in own if s.kind == "won"]
            lost = [s for s in own if s.kind == "lost"]
            if not open_stages or not won or not lost:
                continue
            self.pipelines.append({
                "id": pipeline_id,
                "weight": 75 if is_default else 25,
                "open": [(s.id, s.requires_client) for s in open_stages],
                "won": won[0].id,
                "lost": lost[0].id,
                "lost_requires_client": lost[0].requires_client,
                # Where an interest with only a potential client may stand.
                "potential_open": [s.id for s in open_stages if not s.requires_client],
            })
        if not self.pipelines:
            raise RuntimeError("No pipeline has open, won and lost stages")

    def ids(self, kind: str) -> list[int]:
        found = list(self.items.get(kind, {}).values())
        if not found:
            raise RuntimeError(f"The directory '{kind}' is empty")
        return found


def ensure_managers(session, echo) -> list[int]:
    """Fifty managers in five sales departments; existing ones are reused.

    They sign in with CRM_DEMO_PASSWORD, like the demo users: generated data is for
    development and load tests, never for a production database.
    """
    sm = current_app.appbuilder.sm
    role = sm.find_role("Manager")
    if role is None:
        raise RuntimeError("The Manager role is missing: run `flask crm init` first")
    logins = [f"manager{n:03d}" for n in range(1, MANAGERS + 1)]
    existing = {u.username: u for u in session.execute(
        select(CrmUser).where(CrmUser.username.in_(logins))).scalars()}
    if len(existing) == len(logins):
        echo(f"  managers: {len(logins)} existed")
        return [existing[login].id for login in logins]
    rng = random.Random(7)
    password = current_app.config.get("CRM_DEMO_PASSWORD") or "demo-Voronka-2026"
    hashed = generate_password_hash(
        password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16))
    root = session.execute(select(Department).where(
        Department.name == "Компания", Department.parent_id.is_(None))).scalars().first()
    departments = []
    for number in range(1, -(-MANAGERS // MANAGERS_PER_DEPARTMENT) + 1):
        name = f"Отдел продаж № {number}"
        department = session.execute(
            select(Department).where(Department.name == name)).scalars().first()
        if department is None:
            department = Department(name=name, parent=root, activity_norm=ACTIVITY_NORM)
            session.add(department)
        departments.append(department)
    session.flush()
    users = []
    for index, login in enumerate(logins):
        user = existing.get(login)
        if user is None:
            first, surname, _middle, _female = people.person_name(rng)
            user = sm.add_user(username=login, first_name=first, last_name=surname,
                               email=f"{login}@voronka.local", role=role,
                               hashed_password=hashed, commit=False)
            if not user:
                raise RuntimeError(f"The user {login} could not be created")
            user.position = "Менеджер по продажам"
            user.phone = people.mobile_phone(rng)
            user.department_id = departments[index // MANAGERS_PER_DEPARTMENT].id
        users.append(user)
    session.flush()
    for number, department in enumerate(departments):
        members = users[number * MANAGERS_PER_DEPARTMENT:(number + 1) * MANAGERS_PER_DEPARTMENT]
        if department.head_id is None and members:
            department.head_id = members[0].id
    session.commit()
    echo(f"  managers: {len(logins) - len(existing)} created, {len(existing)} existed")
    return [user.id for user in users]
