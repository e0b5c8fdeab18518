"""Time in the company's time zone. The database keeps naive UTC; people see local time."""

from __future__ import annotations

import datetime as dt
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
