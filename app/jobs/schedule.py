"""When a job runs, written as people write it, and the slots that follows from it.

    every 10m     every 10 minutes from midnight UTC (also 30s, 2h)
    daily 07:00   every day at 07:00 in the company's time zone
    off           never on its own (still by "run now")

A slot is the moment of the schedule a run is for: the latest one at or before the time
the run starts. Every process computes the same slot for the same moment, so the unique
(job, slot) record is the same row for all of them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Optional

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.services.clock import company_tz, to_local, to_utc

_EVERY = re.compile(r"every\s+(\d+)\s*(s|m|h)", re.IGNORECASE)
_DAILY = re.compile(r"daily\s+(\d{1,2}):(\d{2})", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours"}
# Interval slots count from here (naive UTC).
_EPOCH = dt.datetime(2000, 1, 1)


class BadSchedule(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    text: str
    period: Optional[dt.timedelta] = None   # every …
    at: Optional[dt.time] = None             # daily at …, local time

    @classmethod
    def parse(cls, text: str) -> "Schedule":
        text = " ".join((text or "").split())
        if text.lower() == "off":
            return cls("off")
        every = _EVERY.fullmatch(text)
        if every:
            period = dt.timedelta(**{_UNITS[every.group(2).lower()]: int(every.group(1))})
            if period <= dt.timedelta(0):
                raise BadSchedule(text)
            return cls(text, period=period)
        daily = _DAILY.fullmatch(text)
        if daily and int(daily.group(1)) < 24 and int(daily.group(2)) < 60:
            return cls(text, at=dt.time(int(daily.group(1)), int(daily.group(2))))
        raise BadSchedule(text)

    @property
    def off(self) -> bool:
        return self.period is None and self.at is None

    @property
    def every(self) -> dt.timedelta:
        """The time between two slots."""
        return self.period or dt.timedelta(days=1)

    @property
    def misfire_grace(self) -> dt.timedelta:
        """How late a slot may still run (after a pause, once): a period, and for a daily
        job half a day, so that yesterday's digest is not sent this morning."""
        return self.period or dt.timedelta(hours=12)

    def slot_at(self, now: dt.datetime) -> Optional[dt.datetime]:
        """The latest slot at or before `now` (naive UTC), or None (off)."""
        if self.period is not None:
            periods = (now - _EPOCH) // self.period
            return _EPOCH + periods * self.period
        if self.at is not None:
            local = to_local(now)
            slot = dt.datetime.combine(local.date(), self.at)
            if slot > local:
                slot = dt.datetime.combine(local.date() - dt.timedelta(days=1), self.at)
            return to_utc(slot)
        return None

    def next_after(self, now: dt.datetime) -> Optional[dt.datetime]:
        """The first slot after `now` (naive UTC), or None (off)."""
        slot = self.slot_at(now)
        if slot is None:
            return None
        if self.period is not None:
            return slot + self.period
        local = to_local(slot)
        return to_utc(dt.datetime.combine(local.date() + dt.timedelta(days=1), self.at))

    def trigger(self):
        """The APScheduler trigger that fires at the slots."""
        if self.period is not None:
            return IntervalTrigger(seconds=self.period.total_seconds(),
                                   start_date=_EPOCH.replace(tzinfo=dt.timezone.utc),
                                   timezone=dt.timezone.utc)
        return CronTrigger(hour=self.at.hour, minute=self.at.minute, timezone=company_tz())
