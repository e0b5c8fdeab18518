"""Finding a client by what a person has at hand: any word of the name (case, `ё`, quotes
and legal forms do not matter), the INN, a phone number in any format or only its last
digits, an e-mail address or its domain, and the phones and e-mails of the client's
contact persons. One search for the intake wizard, the quick search and the API.

Every way is an indexed lookup: the words of the name through a word index (SQLite FTS5,
PostgreSQL's GIN over a `simple` tsvector, both made by the migration 0011), the INN and the
e-mail address through their b-tree indexes as a range, a phone through its digits from the
last one back (`phone_tail`), a domain through `email_domain`. Only clients the user may
see are found; with each, its open interests, so that the same request is not registered
twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, literal_column, or_, select, table, text

from app.database import db
from app.models import Client, Contact, Interest
from app.rules.validation import normalize_name, normalize_search, typed_phone_tail
from app.services import access
from app.services.prefixes import prefix_condition

LIMIT = 20
_WORD = re.compile(r"\w+")


@dataclass
class Found:
    client: Client
    open_interests: list[Interest] = field(default_factory=list)


def _words_condition(words: list[str]):
    """Clients having a word that starts with each of `words` (the word index)."""
    if db.session.get_bind().dialect.name == "postgresql":
        query = " & ".join(f"{word}:*" for word in words)
        vector = func.to_tsvector(literal_column("'simple'::regconfig"), Client.name_search)
        return vector.op("@@")(func.to_tsquery(literal_column("'simple'::regconfig"), query))
    match = " ".join(f'"{word}"*' for word in words)
    words_table = table("crm_client_words")
    return Client.id.in_(select(literal_column("rowid")).select_from(words_table)
                         .where(text("crm_client_words MATCH :words").bindparams(words=match)))


def _contact_condition(condition):
    """Clients one of whose contact persons matches."""
    return Client.id.in_(access.readable(Contact, Contact.client_id).where(condition))


def phone_condition(model, term: str):
    """`model` (Client or Contact) has a phone ending in the typed digits; None when too few
    digits were typed to look a number up."""
    tail = typed_phone_tail(term)
    return prefix_condition(model.phone_tail, tail) if tail else None


def email_condition(model, term: str):
    """`model` has an e-mail starting with the typed text, or, typed as "@domain" or as a
    bare domain ("mail.ru"), an address at that domain."""
    address = normalize_search(term)
    if not address:
        return None
    if address.startswith("@"):
        return prefix_condition(model.email_domain, address[1:])
    if "@" in address or "." not in address:
        return prefix_condition(model.email_normalized, address)
    return or_(prefix_condition(model.email_normalized, address),
               prefix_condition(model.email_domain, address))


def name_condition(term: str):
    """Clients having a word of the name starting with each typed word."""
    words = [word for word in _WORD.findall(normalize_name(term)) if word]
    return _words_condition(words[:6]) if words else None


def indexed_contains(model, field: str, typed: str):
    """The indexed condition a list's "contains" filter on `field` of `model` uses, or None
    when the field has none (or too little was typed for it)."""
    if field == "name" and model is Client:
        return name_condition(typed)
    if field == "phone" and hasattr(model, "phone_tail"):
        return phone_condition(model, typed)
    if field == "email" and hasattr(model, "email_domain"):
        return email_condition(model, typed)
    return None


def conditions(term: str) -> list:
    """The lookups a typed term asks for, each an indexed condition on clients."""
    term = term.strip()
    digits = "".join(ch for ch in term if ch.isdigit())
    letters = any(ch.isalpha() for ch in term)
    found = []
    if "@" in term or ("." in term and letters and " " not in term):
        found += [email_condition(Client, term),
                  _contact_condition(email_condition(Contact, term))]
    elif digits and not letters:
        if len(digits) >= 3 and len(digits) == len(term.replace(" ", "")):
            found.append(prefix_condition(Client.inn, digits))
        if typed_phone_tail(term):
            found += [phone_condition(Client, term),
                      _contact_condition(phone_condition(Contact, term))]
    else:
        found.append(name_condition(term))
    return [condition for condition in found if condition is not None]


def find_clients(term: str, *, limit: int = LIMIT) -> list[Found]:
    """The clients the user may see that the term finds, by name, with their open
    interests (two statements for the clients, one for the interests)."""
    ways = conditions(term or "")
    if not ways:
        return []
    ids: list[int] = []
    for way in ways:
        ids += db.session.execute(access.readable(Client, Client.id).where(way)
                                  .limit(limit)).scalars()
    if not ids:
        return []
    clients = list(db.session.execute(
        access.readable(Client).where(Client.id.in_(set(ids)))
        .order_by(Client.name_search, Client.id).limit(limit)).scalars())
    interests: dict[int, list[Interest]] = {client.id: [] for client in clients}
    if clients:
        for interest in db.session.execute(
                access.readable(Interest).where(Interest.client_id.in_(list(interests)),
                                                Interest.closed_at.is_(None))
                .order_by(Interest.id)).scalars():
            interests[interest.client_id].append(interest)
    return [Found(client, interests[client.id]) for client in clients]


def any_match(term: str):
    """One condition for all the ways of a term (the clients list's quick filter)."""
    ways = conditions(term or "")
    return or_(*ways) if ways else None
