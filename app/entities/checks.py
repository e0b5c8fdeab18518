"""Field rules the declarations share: a rule takes the record and the field's value and
raises app.rules.validation.ValidationError."""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

from app.rules import validation as v


def _ogrn_kind(record) -> Optional[str]:
    kind = getattr(record, "kind", None) or getattr(record, "template", None)
    return {"company": "company", "person": "ip", "ip": "ip"}.get(kind)


def _inn_kind(record) -> Optional[str]:
    kind = getattr(record, "kind", None) or getattr(record, "template", None)
    return {"company": "company", "person": "person", "ip": "person"}.get(kind)


def inn(record, value) -> None:
    v.validate_inn(value, _inn_kind(record))


def ogrn(record, value) -> None:
    v.validate_ogrn(value, _ogrn_kind(record))


def kpp(record, value) -> None:
    v.validate_kpp(value)


def email(record, value) -> None:
    v.validate_email(value)


def phone(record, value) -> None:
    v.validate_phone(value)


def non_negative(record, value) -> None:
    v.validate_non_negative(value)


def percent(record, value) -> None:
    v.validate_non_negative(value)
    if Decimal(str(value)) > 100:
        raise v.ValidationError(v.N_("Discount must be between 0 and 100 percent"))


def probability(record, value) -> None:
    if value is not None and not 0 <= int(value) <= 100:
        raise v.ValidationError(v.N_("The probability must be from 0 to 100 %"))


def positive(record, value) -> None:
    if value is not None and int(value) < 1:
        raise v.ValidationError(v.N_("The number must be 1 or more"))


def bik(record, value) -> None:
    v.validate_bik(value)


def account(record, value) -> None:
    v.validate_account(value, record.bik)


def corr_account(record, value) -> None:
    v.validate_corr_account(value, record.bik)


def one_of(choices: dict):
    def check(record, value) -> None:
        if value is not None and value not in choices:
            raise v.ValidationError(v.N_("Choose one of the offered values"))
    return check


def planned_minutes(record, value) -> None:
    """How long an item is planned to take: from 5 minutes to a day."""
    if value is not None and not 5 <= int(value) <= 24 * 60:
        raise v.ValidationError(v.N_("An item lasts from 5 minutes to 24 hours."))


def spent_minutes(record, value) -> None:
    """How long an item took: from 0 minutes to a day."""
    if value is not None and not 0 <= int(value) <= 24 * 60:
        raise v.ValidationError(v.N_("The time spent is from 0 minutes to 24 hours."))
