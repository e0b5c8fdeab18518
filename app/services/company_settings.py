"""The company's settings that an administrator changes on a screen (Settings → Jobs):
how many days ahead birthdays are announced, and after how many hours an inquiry nobody
processed is reminded of. Each has a default; a value kept in crm_setting replaces it."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.database import db
from app.models import Setting
from app.services import access
from app.services.errors import Forbidden, RecordInvalid
from app.services.unit_of_work import unit_of_work


@dataclass(frozen=True)
class NumberSetting:
    key: str
    label: object
    help: object
    default: int
    least: int
    most: int


SETTINGS = (
    NumberSetting("birthday_days_ahead", _l("Birthdays: days ahead"),
                  _l("Birthdays of contacts and of clients who are persons are announced "
                     "this many days before (0: on the day)."), 3, 0, 60),
    NumberSetting("inquiry_stale_hours", _l("Unprocessed inquiry: hours"),
                  _l("An inquiry still new after this many hours is reminded of to its "
                     "manager and their head."), 4, 1, 720),
)
BY_KEY = {setting.key: setting for setting in SETTINGS}


def value(key: str) -> int:
    setting = BY_KEY[key]
    kept = db.session.execute(select(Setting.value).where(Setting.key == key)).scalar()
    return setting.default if kept is None else int(kept)


def values() -> dict[str, int]:
    kept = dict(db.session.execute(select(Setting.key, Setting.value)).all())
    return {s.key: s.default if kept.get(s.key) is None else int(kept[s.key])
            for s in SETTINGS}


def change(changes: dict) -> dict[str, int]:
    """Keep new values (whole numbers within their bounds); the settings' right to edit is
    needed. Answers every setting's value after the change."""
    if not access.can("settings", "edit"):
        raise Forbidden(gettext("You do not have the right to do this."))
    errors: dict[str, list[str]] = {}
    accepted: dict[str, int] = {}
    for key, raw in changes.items():
        setting = BY_KEY.get(key)
        if setting is None:
            errors[key] = [gettext("There is no such setting.")]
            continue
        try:
            number = int(str(raw).strip())
        except ValueError:
            errors[key] = [gettext("Enter a whole number.")]
            continue
        if not setting.least <= number <= setting.most:
            errors[key] = [gettext("Enter a number from %(least)s to %(most)s.",
                                   least=setting.least, most=setting.most)]
            continue
        accepted[key] = number
    if errors:
        raise RecordInvalid(errors)
    with unit_of_work():
        for key, number in accepted.items():
            row = db.session.get(Setting, key)
            if row is None:
                db.session.add(Setting(key=key, value=number))
            else:
                row.value = number
    return values()
