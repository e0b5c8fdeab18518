"""R8: a client is checked for duplicates before it is saved, new or changed. Another client
with the same INN and KPP refuses the save; the same phone or e-mail asks for confirmation
(the API's `"confirm_duplicates": true`, the form's "save anyway"). The other client is
offered instead: its name and a link when the user may see it; otherwise only that it
exists and who is responsible for it, so that two managers do not work one client without
knowing it.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from flask_babel import gettext
from sqlalchemy import select

from app.database import db
from app.models import Client, CrmUser
from app.rules.validation import normalize_phone, normalize_search
from app.services import access
from app.services.errors import RuleBroken

DUPLICATE = "duplicate"
CHECKED = ("inn", "kpp", "phone", "email")

_confirmed: ContextVar[bool] = ContextVar("voronka_duplicates_confirmed", default=False)


@contextmanager
def confirmed() -> Iterator[None]:
    """Saves inside the block were confirmed by the user: a phone or e-mail that repeats
    another client's is saved (the same INN and KPP still is not)."""
    token = _confirmed.set(True)
    try:
        yield
    finally:
        _confirmed.reset(token)


@dataclass(frozen=True)
class Match:
    """An existing client that the one being saved repeats."""

    id: Optional[int]          # None when the user may not see it
    name: Optional[str]        # None when the user may not see it
    responsible: str
    fields: tuple[str, ...]    # what is the same: "inn", "phone", "email"

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "responsible": self.responsible,
                "fields": list(self.fields)}


class DuplicateFound(RuleBroken):
    """The refusal of R8, with the clients it found; `confirmable` when only the phone or
    the e-mail repeats (the user may confirm and save)."""

    def __init__(self, message, errors, matches: list[Match], confirmable: bool):
        super().__init__(DUPLICATE, message, errors)
        self.matches = matches
        self.confirmable = confirmable

    def details(self) -> dict:
        """What the API answers besides the message: the clients found, and whether
        `"confirm_duplicates": true` would save."""
        return {"duplicates": [match.as_dict() for match in self.matches],
                "confirmable": self.confirmable}


def _same(client) -> dict[int, set[str]]:
    """{id of another client: the fields it has the same}, across every client: R8 looks
    beyond what the user may see."""
    session = db.session
    found: dict[int, set[str]] = {}

    def note(field: str, condition) -> None:
        query = select(Client.id).where(condition).limit(5)
        if client.id is not None:
            query = query.where(Client.id != client.id)
        for other in session.execute(query).scalars():
            found.setdefault(other, set()).add(field)

    inn = (client.inn or "").strip()
    if inn:
        kpp = (client.kpp or "").strip() or None
        note("inn", (Client.inn == inn) & (Client.kpp.is_(None) if kpp is None
                                             else Client.kpp == kpp))
    phone = normalize_phone(client.phone or "")
    if phone:
        note("phone", Client.phone_normalized == phone)
    email = normalize_search(client.email or "")
    if email:
        note("email", Client.email_normalized == email)
    return found


def _matches(found: dict[int, set[str]]) -> list[Match]:
    session = db.session
    visible = set(session.execute(access.readable(Client, Client.id)
                                  .where(Client.id.in_(list(found)))).scalars())
    rows = session.execute(select(Client.id, Client.name, Client.responsible_id)
                           .where(Client.id.in_(list(found))).order_by(Client.id)).all()
    people = {user.id: str(user) for user in session.execute(
        select(CrmUser).where(CrmUser.id.in_({row.responsible_id for row in rows}))).scalars()}
    order = ("inn", "phone", "email")
    return [Match(row.id if row.id in visible else None,
                  row.name if row.id in visible else None,
                  people.get(row.responsible_id, gettext("nobody")),
                  tuple(field for field in order if field in found[row.id]))
            for row in rows]


def refuse_repeating(client, before: Optional[dict[str, Any]]) -> None:
    """The guard of every save of a client (app.services.records): a new one, or a saved
    one whose INN, KPP, phone or e-mail changed, is checked (`before`: its columns before)."""
    if before is not None and all(getattr(client, name) == before.get(name)
                                  for name in CHECKED):
        return
    check(client, confirmed=_confirmed.get())


def check(client, *, confirmed: bool = False) -> None:
    """Raise DuplicateFound when `client` repeats another: always for the same INN and KPP,
    for the same phone or e-mail unless `confirmed`."""
    with db.session.no_autoflush:
        found = _same(client)
        if not found:
            return
        by_inn = any("inn" in fields for fields in found.values())
        if confirmed and not by_inn:
            return
        matches = _matches(found)
    fields = sorted({field for fields in found.values() for field in fields})
    if by_inn:
        message = gettext("A client with the same INN and KPP exists already. Open it "
                          "instead of registering the company again.")
    else:
        message = gettext("A client with the same phone or e-mail exists already. Open it "
                          "instead, or confirm that this is another client.")
    errors = {field: [gettext("The same as: %(clients)s", clients="; ".join(
        described(match) for match in matches if field in match.fields))] for field in fields}
    raise DuplicateFound(message, errors, matches, confirmable=not by_inn)


def described(match: Match) -> str:
    """A match as a form shows it: the client's name, or only whose it is."""
    if match.name is not None:
        return gettext("%(name)s (responsible: %(who)s)", name=match.name, who=match.responsible)
    return gettext("a client you cannot see (responsible: %(who)s)", who=match.responsible)
