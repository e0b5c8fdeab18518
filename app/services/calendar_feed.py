"""Each user's private calendar feed (RFC 5545): their planned interactions and tasks as
an iCalendar file, to subscribe to from Google Calendar, Yandex Calendar or Outlook.

The feed answers at a URL holding a long random token, without a login: whoever has the
URL reads the feed, and nothing else. Only a hash of the token is kept, so the URL is
shown once, when the feed is turned on; turning it on again makes a new URL and the old
one stops answering, as does revoking it. The feed is read through the access filter as
its owner (a user who may no longer read interactions gets an empty calendar; a
deactivated user's feed answers nothing), and holds their planned items from a month ago
on, times in UTC with the company's time zone named (icalendar writes the file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Optional

from flask_babel import gettext
from icalendar import Calendar, Event
from sqlalchemy import delete, select

from app.database import db
from app.models import CalendarFeed, CrmUser, Interaction
from app.services.calendar import Item, is_overdue, items_of
from app.services.clock import company_tz, utcnow
from app.services.errors import DomainError
from app.services.unit_of_work import unit_of_work

# How far back the feed reaches: last month's plans still show, older ones are history.
PAST = dt.timedelta(days=31)
# The most items one feed holds (a calendar application refetches it every few hours).
MOST_ITEMS = 5000


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def state(user_id: int) -> Optional[CalendarFeed]:
    """The user's feed, or None when it is off."""
    return db.session.get(CalendarFeed, user_id)


def turn_on(user_id: int) -> str:
    """A new token for the user's feed (its previous URL stops answering); the token is
    not kept, only its hash: this is the one time it is known."""
    token = secrets.token_urlsafe(32)
    for attempt in range(2):
        try:
            with unit_of_work():
                feed = state(user_id)
                if feed is None:
                    feed = CalendarFeed(user_id=user_id)
                    db.session.add(feed)
                feed.token_hash = _hash(token)
                feed.created_on = utcnow()
                feed.fetched_at = None
            return token
        except DomainError:
            # Turned on twice at once (a double click): the other made the row first, and
            # this one gives it its own token instead.
            if attempt:
                raise
    raise AssertionError("unreachable")


def revoke(user_id: int) -> bool:
    """The user's feed turned off; whether there was one."""
    with unit_of_work():
        gone = db.session.execute(delete(CalendarFeed).where(
            CalendarFeed.user_id == user_id)).rowcount
    return bool(gone)


def owner_of(token: str) -> Optional[CrmUser]:
    """The active user whose feed the token opens, or None."""
    if not token or len(token) > 100:
        return None
    feed = db.session.execute(select(CalendarFeed).where(
        CalendarFeed.token_hash == _hash(token))).scalar_one_or_none()
    if feed is None:
        return None
    user = db.session.get(CrmUser, feed.user_id)
    return user if user is not None and user.active else None


def items(user: CrmUser, now: dt.datetime) -> list[Item]:
    """The user's planned interactions from a month before `now` on, as the access filter
    lets them read theirs."""
    rows = db.session.execute(items_of(user.id, reader=user).where(
        Interaction.status == "planned", Interaction.planned_at >= now - PAST,
    ).limit(MOST_ITEMS))
    return [Item(*row) for row in rows]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc)


def calendar(user: CrmUser, link_of) -> bytes:
    """The feed of `user` as an iCalendar file; `link_of(interaction id)` is the URL of an
    item's page in the CRM."""
    now = utcnow()
    cal = Calendar()
    cal.add("prodid", "-//Voronka CRM//Calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", gettext("Voronka CRM: %(name)s", name=user.get_full_name()))
    cal.add("x-wr-timezone", company_tz().key)
    for item in items(user, now):
        interaction = item.interaction
        event = Event()
        event.add("uid", f"interaction-{interaction.id}@voronka")
        event.add("dtstamp", _utc(now))
        event.add("dtstart", _utc(item.start))
        event.add("dtend", _utc(item.end))
        event.add("summary", f"{item.type_name}: {interaction.subject}" if item.type_name
                  else interaction.subject)
        about = [text for text in (
            item.client and gettext("Client: %(name)s", name=item.client),
            item.interest and gettext("Interest: %(name)s", name=item.interest)) if text]
        if about:
            event.add("description", "\n".join(about))
        event.add("url", link_of(interaction.id))
        if is_overdue(item, now):
            event.add("categories", [gettext("Overdue")])
        cal.add_component(event)
    return cal.to_ical()


def mark_fetched(user_id: int) -> None:
    """When a calendar last fetched the feed: written at most once an hour."""
    feed = db.session.get(CalendarFeed, user_id)
    now = utcnow()
    if feed is not None and (feed.fetched_at is None
                             or now - feed.fetched_at > dt.timedelta(hours=1)):
        with unit_of_work():
            feed.fetched_at = now
