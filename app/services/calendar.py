"""A user's calendar: their interactions and tasks planned in a period (and the meetings they
take part in), each with where it starts and ends, read through the access filter (a user
sees another's calendar only as far as the rights matrix lets them read that user's
interactions). Rescheduling an item, the busy time a new or moved meeting runs into, a
day's load, and a head's managers side by side."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from flask_babel import gettext
from sqlalchemy import or_, select

from app.database import db
from app.models import (
    Client,
    Contact,
    CrmUser,
    DictionaryItem,
    Interaction,
    InteractionParticipant,
    Interest,
)
from app.services import access, commands
from app.services.clock import format_local, local_day_bounds_utc, to_local, to_utc, utcnow
from app.services.errors import RecordInvalid, RuleBroken
from app.services.unit_of_work import unit_of_work

# The longest period one request reads: a month's view with the weeks around it.
LONGEST = dt.timedelta(days=62)
# The most items one answer holds; a fuller period says it was cut short.
MOST_ITEMS = 5000
# How long an item lasts in the calendar: a meeting an hour, anything else half of one.
LENGTHS = {"meeting": dt.timedelta(hours=1)}
DEFAULT_LENGTH = dt.timedelta(minutes=30)


# The longest item: what a search for the items overlapping a time looks back over.
LONGEST_ITEM = dt.timedelta(hours=24)
NOT_PLANNED = "not_planned"


def length_of(type_code: Optional[str]) -> dt.timedelta:
    return LENGTHS.get(type_code or "", DEFAULT_LENGTH)


def duration_of(planned_minutes: Optional[int], type_code: Optional[str]) -> dt.timedelta:
    """How long an item lasts: its planned minutes, else its type's usual length."""
    if planned_minutes:
        return dt.timedelta(minutes=planned_minutes)
    return length_of(type_code)


def parse_moment(text: str, field: str, end: bool = False) -> dt.datetime:
    """A period's end as naive UTC: a date is the company's midnight that begins it (the
    end's date is the first day not wanted, as calendar libraries send it); a time with an
    offset is converted, one without is UTC, as everywhere in the API."""
    value = (text or "").strip()
    try:
        if len(value) == 10:
            return local_day_bounds_utc(dt.date.fromisoformat(value))[0]
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return to_utc(moment) if moment.tzinfo is not None else moment
    except (ValueError, OverflowError):  # not a date, or one at the ends of the calendar
        raise RecordInvalid({field: [gettext(
            "A date (2026-12-01) or a date and time (2026-12-01T09:00:00+03:00) is "
            "expected.")]}) from None


@dataclass
class Item:
    interaction: Interaction
    type_code: Optional[str]
    type_name: Optional[str]
    client: Optional[str]
    interest: Optional[str]

    @property
    def start(self) -> dt.datetime:
        return self.interaction.planned_at

    @property
    def end(self) -> dt.datetime:
        return self.start + duration_of(self.interaction.planned_minutes, self.type_code)


def _items(reader=None):
    return access.readable(
        Interaction, Interaction, DictionaryItem.code, DictionaryItem.name, Client.name,
        Interest.title, user=reader,
    ).outerjoin(DictionaryItem, DictionaryItem.id == Interaction.type_id).outerjoin(
        Client, Client.id == Interaction.client_id).outerjoin(
        Interest, Interest.id == Interaction.interest_id)


def _taking_part(user_ids):
    """The interactions whose participants include one of `user_ids`."""
    return select(InteractionParticipant.interaction_id).where(
        InteractionParticipant.user_id.in_(list(user_ids)))


def items_of(user_id: int, reader=None):
    """SELECT the items (Item's fields) of `user_id` in time order: those they are
    responsible for and the meetings they take part in, as `reader` (default: whoever acts
    now) may read them."""
    return _items(reader).where(or_(
        Interaction.responsible_id == user_id,
        Interaction.id.in_(_taking_part([user_id])))).order_by(Interaction.planned_at,
                                                                Interaction.id)


def period_items(start: dt.datetime, end: dt.datetime, user_id: int) -> tuple[list[Item], bool]:
    """The items of `user_id` planned in [start, end), as the current user may read them,
    in time order; and whether the period held more than MOST_ITEMS."""
    if end <= start:
        raise RecordInvalid({"end": [gettext("The end must be after the start.")]})
    if end - start > LONGEST:
        raise RecordInvalid({"end": [gettext(
            "A calendar reads at most %(days)d days at once.", days=LONGEST.days)]})
    rows = db.session.execute(items_of(user_id).where(
        Interaction.planned_at >= start, Interaction.planned_at < end,
    ).limit(MOST_ITEMS + 1)).all()
    items = [Item(*row) for row in rows[:MOST_ITEMS]]
    return items, len(rows) > MOST_ITEMS


def is_overdue(item: Item, now: Optional[dt.datetime] = None) -> bool:
    return item.interaction.status == "planned" and item.start < (now or utcnow())


def today_bounds(now: Optional[dt.datetime] = None) -> tuple[dt.datetime, dt.datetime]:
    """The company's today as [start, end) in naive UTC."""
    return local_day_bounds_utc(to_local(now or utcnow()).date())


def state_of(item: Item, now: Optional[dt.datetime] = None, today=None) -> str:
    """What the calendar colours an item by: done, cancelled, overdue, today or planned
    (`today`: today_bounds(now), when many items are coloured at once)."""
    status = item.interaction.status
    if status != "planned":
        return status
    now = now or utcnow()
    if item.start < now:
        return "overdue"
    start, end = today or today_bounds(now)
    return "today" if start <= item.start < end else "planned"


# --- Rescheduling ---------------------------------------------------------------------------


def editable(interaction_id: int) -> Optional[Interaction]:
    """The interaction, if the user acting now may change it."""
    return db.session.execute(access.readable(Interaction, action="edit").where(
        Interaction.id == interaction_id)).scalar()


def check_length(planned_minutes: Optional[int]) -> None:
    """An item lasts from 5 minutes to a day (unset: its type's usual length)."""
    if planned_minutes is not None and not 5 <= planned_minutes <= 24 * 60:
        raise RecordInvalid({"planned_minutes": [gettext(
            "An item lasts from 5 minutes to 24 hours.")]})


def reschedule(interaction, planned_at: Optional[dt.datetime], *,
               planned_minutes: Optional[int] = None, seen_version=None) -> Interaction:
    """A planned item to another time (naive UTC), and with `planned_minutes` another
    length, as the user saw it at `seen_version` (a stale version is refused with
    StaleVersion); the change goes to the record's history. Only planned items move."""
    with unit_of_work():
        if interaction.status != "planned":
            raise RuleBroken(NOT_PLANNED, gettext(
                "Only a planned interaction can be moved in the calendar."))
        if planned_at is None:
            raise RecordInvalid({"planned_at": [gettext("This field is required.")]})
        check_length(planned_minutes)

        def moved(item):
            item.planned_at = planned_at
            if planned_minutes is not None:
                item.planned_minutes = planned_minutes

        commands.update(interaction, moved, seen_version=seen_version)
    return interaction


# --- Busy time ------------------------------------------------------------------------------


@dataclass
class Clash:
    """Someone (responsible or participant) busy at that time: with `item` when the user
    may read it, else only busy."""

    user: CrmUser
    start: dt.datetime
    end: dt.datetime
    item: Optional[Item] = None


def conflicts(user_ids, start: dt.datetime, end: dt.datetime, *,
              excluding: Optional[int] = None) -> list[Clash]:
    """The planned items the users (a meeting's responsible and participants) have that
    overlap [start, end), whoever may read them, each with what it is when the user acting
    now may read it: a warning the user may accept, not a refusal."""
    wanted = sorted({user for user in user_ids if user is not None})
    if not wanted or end <= start:
        return []
    busy = [row for row in db.session.execute(
        access.busy_times(wanted, start - LONGEST_ITEM, end)
        .order_by(Interaction.planned_at, Interaction.id)).all()
        if row.id != excluding and
        row.planned_at + duration_of(row.planned_minutes, row.code) > start]
    if not busy:
        return []
    ids = [row.id for row in busy]
    taking = {}
    for interaction_id, user_id in db.session.execute(
            select(InteractionParticipant.interaction_id, InteractionParticipant.user_id)
            .where(InteractionParticipant.interaction_id.in_(ids),
                   InteractionParticipant.user_id.in_(wanted))).all():
        taking.setdefault(interaction_id, []).append(user_id)
    readable = {row[0].id: Item(*row) for row in db.session.execute(
        _items().where(Interaction.id.in_(ids))).all()}
    users = {user.id: user for user in db.session.execute(
        select(CrmUser).where(CrmUser.id.in_(wanted))).scalars()}
    clashes = []
    for row in busy:
        ends = row.planned_at + duration_of(row.planned_minutes, row.code)
        for user_id in sorted({row.responsible_id, *taking.get(row.id, [])}):
            if user_id in users:
                clashes.append(Clash(users[user_id], row.planned_at, ends,
                                     readable.get(row.id)))
    return clashes


def describe(clash: Clash) -> str:
    if clash.item is None:
        return gettext("%(who)s is busy %(start)s–%(end)s", who=clash.user,
                       start=format_local(clash.start), end=format_local(clash.end)[-5:])
    return gettext("%(who)s is busy: %(subject)s, %(start)s–%(end)s",
                   who=clash.user, subject=clash.item.interaction.subject,
                   start=format_local(clash.start), end=format_local(clash.end)[-5:])


# --- Meetings: who takes part ----------------------------------------------------------------


def employees() -> list[CrmUser]:
    """The active employees, who may take part in a meeting."""
    return list(db.session.execute(select(CrmUser).where(CrmUser.active.is_(True)).order_by(
        CrmUser.first_name, CrmUser.last_name, CrmUser.id)).scalars())


def contacts_of(client_id: Optional[int]) -> list[Contact]:
    """The contact persons of a client the user may read, who may take part in its
    meetings."""
    if client_id is None:
        return []
    return list(db.session.execute(access.readable(Contact).where(
        Contact.client_id == client_id).order_by(Contact.name, Contact.id)).scalars())


def set_participants(interaction, users, contacts) -> None:
    """The employees (besides its responsible) and the client's contact persons taking part
    in an interaction: those no longer named leave, the new ones join. Part of the command
    that saves the interaction (its fill or change)."""
    user_ids = {user.id for user in users or () if user is not None} - {
        interaction.responsible_id or (interaction.responsible.id
                                       if interaction.responsible is not None else None)}
    client_id = interaction.client_id or (interaction.client.id if interaction.client
                                          is not None else None)
    contact_ids = {contact.id for contact in contacts or () if contact is not None}
    strangers = [contact for contact in contacts or ()
                 if contact is not None and contact.client_id != client_id]
    if strangers:
        raise RecordInvalid({"participant_contacts": [gettext(
            "Choose contact persons of the interaction's client.")]})
    kept = []
    for participant in list(interaction.participants):
        if participant.user_id in user_ids:
            user_ids.discard(participant.user_id)
            kept.append(participant)
        elif participant.contact_id in contact_ids:
            contact_ids.discard(participant.contact_id)
            kept.append(participant)
    kept += [InteractionParticipant(user_id=user_id) for user_id in sorted(user_ids)]
    kept += [InteractionParticipant(contact_id=contact_id) for contact_id in sorted(contact_ids)]
    interaction.participants = kept


def change_participants(interaction, user_ids: Iterable[int], contact_ids: Iterable[int], *,
                        seen_version: Any = None):
    """Set who takes part in an interaction besides its responsible, by id: active
    employees and contact persons of its client the user may read (an id naming anyone
    else is refused)."""
    user_ids, contact_ids = sorted(set(user_ids)), sorted(set(contact_ids))
    users = list(db.session.execute(select(CrmUser).where(
        CrmUser.id.in_(user_ids), CrmUser.active.is_(True))).scalars())
    if len(users) != len(user_ids):
        raise RecordInvalid({"users": [gettext("Choose active employees.")]})
    contacts = list(db.session.execute(access.readable(Contact).where(
        Contact.id.in_(contact_ids))).scalars())
    if len(contacts) != len(contact_ids):
        raise RecordInvalid({"contacts": [gettext(
            "Choose contact persons of the interaction's client.")]})
    return commands.update(interaction, lambda item: set_participants(item, users, contacts),
                           seen_version=seen_version)


def clashes_of(interaction) -> list[Clash]:
    """The busy time a planned interaction runs into: its responsible's and its employees'
    other planned items at the same time."""
    if interaction.status != "planned" or interaction.planned_at is None:
        return []
    responsible = interaction.responsible_id or (
        interaction.responsible.id if interaction.responsible is not None else None)
    users = [responsible, *[p.user_id for p in interaction.participants if p.user_id]]
    kind = interaction.type.code if interaction.type is not None else None
    start = interaction.planned_at
    return conflicts(users, start, start + duration_of(interaction.planned_minutes, kind),
                     excluding=interaction.id)


def participant_names(interaction) -> str:
    return ", ".join(str(p.user or p.contact) for p in interaction.participants)


# --- A day's load and the team side by side -------------------------------------------------


def day_items(user_id: Optional[int], day: dt.date) -> list[Item]:
    """The user's planned items on a day of the company (1C:CRM's "load by day")."""
    if user_id is None:
        return []
    start, end = local_day_bounds_utc(day)
    return [Item(*row) for row in db.session.execute(items_of(user_id).where(
        Interaction.status == "planned", Interaction.planned_at >= start,
        Interaction.planned_at < end).limit(MOST_ITEMS)).all()]


def team(reader=None) -> list[CrmUser]:
    """The active users whose calendars the reader may read (a head: their subtree), the
    reader first; nobody but the reader when they read only their own."""
    owners = access.readable_owners(Interaction, user=reader)
    query = select(CrmUser).where(CrmUser.active.is_(True))
    if owners is None:
        return []
    if owners is not access.EVERY_OWNER:
        query = query.where(CrmUser.id.in_(sorted(owners)))
    return list(db.session.execute(query.order_by(CrmUser.first_name, CrmUser.last_name,
                                                  CrmUser.id)).scalars())


def side_by_side(user_ids, start: dt.datetime, end: dt.datetime
                 ) -> dict[int, list[Item]]:
    """Each user's items in [start, end) (responsible or participant), in time order, in
    two statements whatever the number of users."""
    wanted = sorted(set(user_ids))
    if end <= start:
        raise RecordInvalid({"end": [gettext("The end must be after the start.")]})
    if end - start > LONGEST:
        raise RecordInvalid({"end": [gettext(
            "A calendar reads at most %(days)d days at once.", days=LONGEST.days)]})
    result: dict[int, list[Item]] = {user: [] for user in wanted}
    if not wanted:
        return result
    rows = db.session.execute(_items().add_columns(Interaction.responsible_id).where(
        Interaction.planned_at >= start, Interaction.planned_at < end,
        Interaction.status != "cancelled",
        or_(Interaction.responsible_id.in_(wanted),
            Interaction.id.in_(_taking_part(wanted)))).order_by(
        Interaction.planned_at, Interaction.id).limit(MOST_ITEMS)).all()
    items = {row[0].id: (Item(*row[:5]), row[5]) for row in rows}
    owners: dict[int, set[int]] = {pk: {owner} for pk, (_, owner) in items.items()}
    if items:
        for interaction_id, user_id in db.session.execute(
                select(InteractionParticipant.interaction_id, InteractionParticipant.user_id)
                .where(InteractionParticipant.interaction_id.in_(list(items)),
                       InteractionParticipant.user_id.in_(wanted))).all():
            owners[interaction_id].add(user_id)
    for pk, (item, _) in items.items():
        for user in owners[pk]:
            if user in result:
                result[user].append(item)
    return result
