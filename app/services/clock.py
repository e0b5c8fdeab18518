"""Time in the company's time zone. The database keeps naive UTC; people see local time."""

from __future__ import annotations

import datetime as dt
import re
from typing import Callable
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def company_tz() -> ZoneInfo:
    name = current_app.config.get("CRM_TIMEZONE", "Europe/Moscow") if has_app_context() \
        else "Europe/Moscow"
    return ZoneInfo(name)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def to_local(value: dt.datetime | None) -> dt.datetime | None:
    """Naive UTC from the database -> naive local time for a person."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).astimezone(company_tz()).replace(tzinfo=None)


def to_local_many() -> Callable[[dt.datetime | None], dt.datetime | None]:
    """`to_local` for a stream of values (an export's million rows): the zone's offset is
    looked up once per day, and per value only on a day the clocks change."""
    zone, offsets = company_tz(), {}

    def offset_of(value: dt.datetime) -> dt.timedelta:
        return value.replace(tzinfo=dt.timezone.utc).astimezone(zone).utcoffset()

    def convert(value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        day = value.toordinal()
        offset = offsets.get(day)
        if offset is None:
            start = dt.datetime.fromordinal(day)
            first, last = offset_of(start), offset_of(start + dt.timedelta(days=1))
            offset = offsets[day] = first if first == last else False
        if offset is False:  # the clocks change this day
            offset = offset_of(value)
        return value + offset

    return convert


def to_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Naive local time typed by a person -> naive UTC for the database."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=company_tz())
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def local_today() -> dt.date:
    return to_local(utcnow()).date()


def local_day_bounds_utc(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day, in naive UTC."""
    start = dt.datetime.combine(day, dt.time.min)
    return to_utc(start), to_utc(start + dt.timedelta(days=1))


def format_local(value: dt.datetime | None) -> str:
    local = to_local(value)
    return local.strftime("%d.%m.%Y %H:%M") if local else ""


# What people type and what the date picker writes: 03.12.2026 14:30, 3.12.2026 9:05,
# 03.12.2026, 2026-12-03 14:30, 2026-12-03T14:30:05.123 (seconds and fractions optional).
_TYPED = re.compile(
    r"\s*(?:(?P<d>\d{1,2})[./](?P<m>\d{1,2})[./](?P<y>\d{4})"
    r"|(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))"
    r"(?:(?:\s+|T)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?\s*")


class UnreadableTime(ValueError):
    """The text is not a date (and time) in any form people write them."""


# The days the application works with: time zones and day arithmetic hold well inside them
# (a typed year 1 or 9999 is refused, not carried to an overflow).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def parse_typed(text: str, with_time: bool = True) -> dt.datetime | dt.date:
    """A date and time as a person typed it or the picker wrote it, in local time (naive);
    a date without a time is the start of the day. With with_time=False: a date, and a
    typed time is refused; a day outside FIRST_DAY..LAST_DAY is refused."""
    match = _TYPED.fullmatch(text or "")
    if match is None:
        raise UnreadableTime(text)
    parts = match.groupdict()
    year, month, day = (parts["y"], parts["m"], parts["d"]) if parts["y"] else \
        (parts["iy"], parts["im"], parts["id"])
    if not with_time and parts["H"] is not None:
        raise UnreadableTime(text)
    try:
        typed = dt.date(int(year), int(month), int(day))
        if not FIRST_DAY <= typed <= LAST_DAY:
            raise UnreadableTime(text)
        if not with_time:
            return typed
        return dt.datetime(int(year), int(month), int(day), int(parts["H"] or 0),
                           int(parts["M"] or 0), int(parts["S"] or 0),
                           int((parts["f"] or "0").ljust(6, "0")))
    except ValueError:
        raise UnreadableTime(text) from None


def format_typed(value: dt.datetime | dt.date | None) -> str:
    """How a form shows a local date (and time): as people type it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


def local_now_minute() -> dt.datetime:
    """Now, in local time to the minute: what a new record's time field starts with."""
    return to_local(utcnow()).replace(second=0, microsecond=0)
