"""A user's calendar: their interactions and tasks planned in a period, each with where it
starts and ends, read through the access filter (a user sees another's calendar only as
far as the rights matrix lets them read that user's interactions)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from flask_babel import gettext

from app.database import db
from app.models import Client, DictionaryItem, Interaction, Interest
from app.services import access
from app.services.clock import local_day_bounds_utc, to_utc, utcnow
from app.services.errors import RecordInvalid

# The longest period one request reads: a month's view with the weeks around it.
LONGEST = dt.timedelta(days=62)
# The most items one answer holds; a fuller period says it was cut short.
MOST_ITEMS = 5000
# How long an item lasts in the calendar: a meeting an hour, anything else half of one.
LENGTHS = {"meeting": dt.timedelta(hours=1)}
DEFAULT_LENGTH = dt.timedelta(minutes=30)


def length_of(type_code: Optional[str]) -> dt.timedelta:
    return LENGTHS.get(type_code or "", DEFAULT_LENGTH)


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
        return self.start + length_of(self.type_code)


def items_of(user_id: int, reader=None):
    """SELECT the items (Item's fields) of `user_id` in time order, as `reader` (default:
    whoever acts now) may read them."""
    return access.readable(
        Interaction, Interaction, DictionaryItem.code, DictionaryItem.name, Client.name,
        Interest.title, user=reader,
    ).outerjoin(DictionaryItem, DictionaryItem.id == Interaction.type_id).outerjoin(
        Client, Client.id == Interaction.client_id).outerjoin(
        Interest, Interest.id == Interaction.interest_id).where(
        Interaction.responsible_id == user_id).order_by(Interaction.planned_at,
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
