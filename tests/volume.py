"""Many rows fast, by bulk inserts (bypassing the services: volume only, no rules tested)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from app.models import Client, Interest, Stage, client_tag, interest_tag, utcnow
from app.rules.validation import normalize_phone, normalize_search
from tests.factories import (
    INTEREST,
    default_pipeline,
    dictionary_item,
    first_stage,
    valid_inn,
)

ROLE_LOGINS = ("admin", "supervisor", "manager", "readonly")


def _next_id(dbx, model) -> int:
    return (dbx.scalar(select(func.max(model.id))) or 0) + 1


def bulk_clients(dbx, count: int, *, responsible: list[str] | None = None,
                 with_tags: bool = True) -> list[int]:
    """`count` clients with a responsible manager, an industry, a source and two tags."""
    users = [dbx.user_id(u) for u in (responsible or ROLE_LOGINS)]
    tags = [dictionary_item(dbx, "tag", "VIP"), dictionary_item(dbx, "tag", "Hot")]
    industry = dictionary_item(dbx, "industry", "Retail")
    first = _next_id(dbx, Client)
    now = utcnow()
    rows, links = [], []
    for offset in range(count):
        pk = first + offset
        name = f"Клиент {pk:06d}"
        phone = f"+7 916 {pk:07d}"
        rows.append({
            "id": pk, "kind": "company", "name": name, "name_search": normalize_search(name),
            "inn": valid_inn(pk), "phone": phone, "phone_normalized": normalize_phone(phone),
            "email": f"c{pk}@example.com", "email_normalized": f"c{pk}@example.com",
            "industry_id": industry, "responsible_id": users[offset % len(users)],
            "created_on": now - dt.timedelta(seconds=count - offset), "changed_on": now,
            "version": 1,
        })
        if with_tags:
            links += [{"client_id": pk, "tag_id": tag} for tag in tags]
    dbx.insert(Client, rows)
    if links:
        dbx.insert(client_tag, links)
    return [row["id"] for row in rows]


def bulk_interests(dbx, count: int) -> list[int]:
    """`count` interests spread over the stages of the default pipeline, with a client,
    a responsible manager and a tag."""
    pipeline = default_pipeline(dbx)
    stages = dbx.all(select(Stage.id).where(Stage.pipeline_id == pipeline).order_by(Stage.sort))
    assert first_stage(dbx, pipeline) == stages[0]
    clients = bulk_clients(dbx, max(1, count // 5), with_tags=False)
    users = [dbx.user_id(u) for u in ROLE_LOGINS]
    tag = dictionary_item(dbx, "tag", "Hot")
    first = _next_id(dbx, Interest)
    now = utcnow()
    rows, links = [], []
    for offset in range(count):
        pk = first + offset
        title = f"{INTEREST.key} {pk:06d}"
        rows.append({
            "id": pk, "title": title, "title_search": normalize_search(title),
            "pipeline_id": pipeline, "stage_id": stages[offset % len(stages)],
            "amount": Decimal(1000 + offset), "currency": "RUB",
            "responsible_id": users[offset % len(users)],
            "client_id": clients[offset % len(clients)], "flagged": False,
            "created_on": now, "changed_on": now, "version": 1,
        })
        links.append({"interest_id": pk, "tag_id": tag})
    dbx.insert(Interest, rows)
    dbx.insert(interest_tag, links)
    return [row["id"] for row in rows]
