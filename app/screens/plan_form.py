"""The next plan in a form (R1): the type, subject, date and time of the interaction that
follows. A new interest's form asks for its first one; the commands' forms on an interest's
page ask for the one after the current."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional

from app.database import db
from app.fab.forms import LocalDateTimeField
from app.labels import LABELS
from app.models import DictionaryItem
from app.services.clock import local_now_minute, to_utc
from app.services.sales import Plan

PLAN_FIELDS = ("next_type", "next_subject", "next_planned_at")


def interaction_types() -> list[DictionaryItem]:
    return list(db.session.execute(
        select(DictionaryItem).where(DictionaryItem.kind == "interaction_type")
        .order_by(DictionaryItem.sort, DictionaryItem.name)).scalars())


def a_call() -> DictionaryItem | None:
    """What a plan's type starts with: a call."""
    return db.session.execute(
        select(DictionaryItem).where(DictionaryItem.kind == "interaction_type",
                                     DictionaryItem.code == "call")).scalar()


def next_working_morning() -> dt.datetime:
    """Tomorrow at ten, local time: what a plan's time starts with."""
    return (local_now_minute() + dt.timedelta(days=1)).replace(hour=10, minute=0)


def plan_fields(required: bool = True) -> dict:
    """The plan's fields, to add to a form class; not `required` where a plan is needed
    only sometimes (completing an interaction: when it is the interest's last)."""
    needed = DataRequired if required else Optional
    return {
        "next_type": QuerySelectField(LABELS["next_type"], query_func=interaction_types,
                                      get_pk_func=lambda item: item.id, allow_blank=True,
                                      blank_text="—", widget=Select2Widget(),
                                      default=a_call),
        "next_subject": StringField(LABELS["next_subject"], [needed(), Length(max=255)],
                                    widget=BS3TextFieldWidget()),
        "next_planned_at": LocalDateTimeField(LABELS["next_planned_at"], [needed()],
                                              default=next_working_morning if required
                                              else None),
    }


def plan_of(form) -> Plan | None:
    """The plan a form carries, or None when it names none."""
    subject = (form.next_subject.data or "").strip()
    when = form.next_planned_at.data
    if not subject and when is None:
        return None
    kind = form.next_type.data
    return Plan(subject=subject, planned_at=to_utc(when),
                type_id=kind.id if kind is not None else None)
