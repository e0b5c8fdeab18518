"""Handing work over: one employee's open work, in bulk or all at once, to another.

What goes, as the user chooses (`items`, or "all"; `ids` narrows a kind to given records):

- interactions: the planned interactions and tasks the employee is responsible for;
- interests: the open interests (not closed), and with them the planned interactions of
  those interests that were the employee's, so that each keeps its plan (R1) with its new
  responsible;
- inquiries: the inquiries still to be processed (status "new");
- clients (only when chosen): the clients, and with them the contacts of those clients
  that were the employee's.

Everything moves in one unit of work (it commits once or leaves nothing), each moved
record's history gets one "responsible: from → to" row, and the receiver gets one
notification with the counts. A record id that is not the employee's open work of that
kind is refused, naming it: nothing of another user ever moves.

Who may hand over whose work follows the rights matrix: the "reassign" right of every kind
handed over (interactions too when interests are, contacts too when clients are), within
a scope that holds both employees. The receiver must be active.

`move()` is the command's core without the checks: it moves a given selection of one
employee's open work inside the caller's unit of work and answers what it moved, by kind
and id. An absence, or any later command that hands work around, can reuse it.

A user who still has open work (or clients) is not deactivated without someone to take it
over (`deactivate`): with a receiver, the handover and the deactivation are one command.

Speed: each kind is one UPDATE … RETURNING of its rows (the open-work condition itself,
never a list of thousands of ids unless the user gave them), and one multi-row insert of
its history; the plans that follow interests handed over without the interactions, one
more per thousand interests (clients, for their contacts). 16,000 records take about 20
statements: 0.2–0.3 s on SQLite, 0.7 s on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from flask_babel import gettext
from sqlalchemy import and_, func, select, true, update

from app.database import db
from app.entities import owner_column
from app.models import (
    ChangeLog,
    Client,
    Contact,
    CrmUser,
    Inquiry,
    Interaction,
    Interest,
    Notification,
    utcnow,
)
from app.services import access, actor, bounds, notifications
from app.services.access import user_within_scope
from app.services.clock import local_today
from app.services.errors import Forbidden, RecordInvalid, RuleBroken
from app.services.principals import principal
from app.services.unit_of_work import unit_of_work

# The kinds a user chooses, in the order they are moved, with their model and rights entity.
KINDS = ("interactions", "interests", "inquiries", "clients")
ALL = "all"
MODELS = {"interactions": Interaction, "interests": Interest, "inquiries": Inquiry,
          "clients": Client, "contacts": Contact}
ENTITY = {"interactions": "interaction", "interests": "interest", "inquiries": "inquiry",
          "clients": "client", "contacts": "contact"}
# What goes along with a chosen kind (and needs its reassign right too).
ALONG = {"interests": "interactions", "clients": "contacts"}
# The kinds whose records are the employee's open work (clients are not work, but an
# inactive employee must not keep them either).
WORK = ("interactions", "interests", "inquiries")
# Most records `ids` may name in one request.
MOST_IDS = 10_000
# Interests whose plans (clients whose contacts) follow them in one statement.
ALONG_BATCH = 1_000


def still_open(kind: str):
    """The condition of a record of `kind` still to be done (clients and contacts: any)."""
    if kind == "interactions":
        return Interaction.status == "planned"
    if kind == "interests":
        return Interest.closed_at.is_(None)
    if kind == "inquiries":
        return Inquiry.status == "new"
    return true()


@dataclass
class Handover:
    """What a handover moved: kind -> the ids of the records, plans that went with their
    interests among the interactions, contacts that went with their clients apart."""

    from_user: CrmUser
    to_user: CrmUser
    moved: dict[str, list[int]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(self.moved.get(kind, ())) for kind in (*KINDS, "contacts")}

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- Reading --------------------------------------------------------------------------------


def _reassignable(model):
    """The rows of `model` the acting user may reassign (a job or a command acting for no
    user: all of them)."""
    if actor.current_user_id() is None:
        return true()
    return access.condition(model, "reassign")


def counts(user_id: int) -> dict[str, int]:
    """How much of each kind the employee has to hand over (of what the acting user may
    reassign), in one statement."""
    columns = []
    for kind in KINDS:
        model = MODELS[kind]
        columns.append(select(func.count()).select_from(model).where(
            owner_column(model) == user_id, still_open(kind), _reassignable(model))
            .scalar_subquery())
    row = db.session.execute(select(*columns)).one()
    return dict(zip(KINDS, row, strict=True))


def reassign_scope(p) -> int:
    """The narrowest of a principal's reassign scopes over the kinds of open work."""
    return access.ALL if p.is_admin else min(
        p.scope(ENTITY[kind], "reassign") for kind in WORK)


def employees(active_only: bool = False) -> list[CrmUser]:
    """The employees the acting user may hand work from or to: within the narrowest of
    their reassign scopes over the kinds of work; none without the right."""
    p = principal()
    if p.user_id is None:
        return []
    scope = reassign_scope(p)
    if scope <= access.OWN:
        return []
    query = select(CrmUser).order_by(CrmUser.first_name, CrmUser.last_name, CrmUser.id)
    if active_only:
        query = query.where(CrmUser.active.is_(True))
    if scope < access.ALL:
        departments = access.scope_departments(p, scope, "reassign")
        query = query.where(CrmUser.department_id.in_(sorted(departments)) |
                            (CrmUser.id == p.user_id))
    return list(db.session.execute(query).scalars())


def may_hand_over() -> bool:
    """May the acting user hand over anybody's work at all (the page's menu entry)?"""
    return bool(employees())


# --- Commands -------------------------------------------------------------------------------


def hand_over(from_user: Any, to_user: Any, items: Any, ids: Any = None) -> Handover:
    """Hand `items` of `from_user`'s open work to `to_user` (see the module); commits once.
    Refuses unknown or equal employees, an inactive receiver, an unknown kind, an id that
    is not the employee's open work, a handover outside the user's reassign scope, and a
    handover of nothing."""
    with unit_of_work():
        giver = employee(from_user, "from_user")
        receiver = employee(to_user, "to_user")
        if receiver.id == giver.id:
            raise RecordInvalid({"to_user": [gettext(
                "Choose another employee to hand the work to.")]})
        if not receiver.active:
            raise RecordInvalid({"to_user": [gettext(
                "%(name)s is no longer active: choose an active employee.", name=receiver)]})
        kinds = _kinds(items)
        chosen = _ids(ids, kinds)
        authorize(giver.id, receiver.id, kinds)
        _refuse_others(giver, kinds, chosen)
        done = Handover(giver, receiver, move(giver.id, receiver.id, kinds, chosen))
        if not done.total:
            raise RuleBroken("nothing_to_hand_over", gettext(
                "%(name)s has nothing of that to hand over.", name=giver),
                {"items": [gettext("Nothing to hand over.")]})
        tell(done)
    return done


def deactivate(user: CrmUser, to_user: Any = None) -> Optional[Handover]:
    """Make `user` inactive (it may already be so in memory, as a form leaves it); their
    open work and clients go to `to_user` in the same command. Without a receiver, a user
    with open work or clients is refused, with what they have. Commits once."""
    from app.services import accounts

    with unit_of_work():
        user.active = False
        left = counts(user.id)
        done = None
        if any(left.values()):
            if to_user in (None, ""):
                text = gettext("%(name)s still has %(work)s. Choose who takes it over "
                               "before deactivating them.", name=user, work=work_text(left))
                raise RuleBroken("open_work", text, {"hand_over_to": [text]})
            try:
                done = hand_over(user.id, to_user, [ALL])
            except RecordInvalid as refused:
                # The receiver is chosen in the deactivating form's own field.
                raise RecordInvalid({("hand_over_to" if field == "to_user" else field): errors
                                     for field, errors in refused.errors.items()}) from None
        accounts.check_administrators_remain()
    return done


def authorize(from_id: int, to_id: int, kinds: Iterable[str]) -> None:
    """The reassign right of every kind handed over, over both employees."""
    p = principal()
    if p.is_admin or actor.current_user_id() is None:
        return
    for kind in _with_along(kinds):
        scope = p.scope(ENTITY[kind], "reassign")
        if not (user_within_scope(from_id, scope, p) and user_within_scope(to_id, scope, p)):
            raise Forbidden(gettext(
                "You may hand over only the work of employees whose %(kind)s you may "
                "reassign, to one of them.", kind=kind_label(kind)))


def move(from_id: int, to_id: int, kinds: Iterable[str],
         ids: Optional[dict[str, list[int]]] = None) -> dict[str, list[int]]:
    """Give `to_id` the open work of `from_id` of these kinds (all of it, or the records
    `ids` names of a kind), with what goes along, and record each change in the history.
    Checks nothing and commits nothing: it joins the caller's unit of work."""
    ids = ids or {}
    kinds = set(kinds)
    session = db.session
    session.flush()
    moved: dict[str, list[int]] = {}
    if "interactions" in kinds:
        moved["interactions"] = _update("interactions", from_id, to_id, _selection(
            "interactions", from_id, ids.get("interactions")))
    if "interests" in kinds:
        moved["interests"] = _update("interests", from_id, to_id,
                                     _selection("interests", from_id, ids.get("interests")))
        if "interactions" not in kinds or ids.get("interactions") is not None:
            # Their plans go with them (R1), those still the giver's: by the interests'
            # ids, a bounded batch per statement (a plan that reads well on a table whose
            # statistics are old, unlike a join).
            for start in range(0, len(moved["interests"]), ALONG_BATCH):
                batch = moved["interests"][start:start + ALONG_BATCH]
                moved["interactions"] = moved.get("interactions", []) + _update(
                    "interactions", from_id, to_id, Interaction.interest_id.in_(batch))
    if "inquiries" in kinds:
        moved["inquiries"] = _update("inquiries", from_id, to_id,
                                     _selection("inquiries", from_id, ids.get("inquiries")))
    if "clients" in kinds:
        moved["clients"] = _update("clients", from_id, to_id,
                                   _selection("clients", from_id, ids.get("clients")))
        moved["contacts"] = []
        for start in range(0, len(moved["clients"]), ALONG_BATCH):
            batch = moved["clients"][start:start + ALONG_BATCH]
            moved["contacts"] += _update("contacts", from_id, to_id,
                                         Contact.client_id.in_(batch))
    _forget_loaded(moved)
    return moved


def tell(done: Handover) -> None:
    """One notification to the receiver; a second handover from the same employee on the
    same day adds to it (and makes it unread, and due to be e-mailed, again)."""
    payload = {"from": str(done.from_user), "by": _acting_name(),
               **{ENTITY[kind]: count for kind, count in done.counts.items() if count}}
    row = {"user_id": done.to_user.id, "kind": "handover", "entity": "user",
           "record_id": done.from_user.id, "day": local_today(), "payload": payload}
    if notifications.add([row]):
        return
    existing = db.session.execute(select(Notification).where(
        Notification.kind == "handover", Notification.entity == "user",
        Notification.record_id == done.from_user.id,
        Notification.user_id == done.to_user.id,
        Notification.day == row["day"])).scalar_one_or_none()
    if existing is None:
        return  # the receiver has turned these notifications off
    merged = dict(existing.payload or {})
    for key in ENTITY.values():
        if payload.get(key):
            merged[key] = merged.get(key, 0) + payload[key]
    merged.update({"from": payload["from"], "by": payload["by"]})
    existing.payload = merged
    existing.read_at = existing.emailed_at = None


# --- Words ----------------------------------------------------------------------------------


def kind_label(kind: str) -> str:
    return {"interactions": gettext("interactions and tasks"),
            "interests": gettext("interests"), "inquiries": gettext("inquiries"),
            "clients": gettext("clients"), "contacts": gettext("contacts")}[kind]


def work_text(by_kind: dict[str, int]) -> str:
    """"3 interactions and tasks, 1 open interest, 2 clients" of counts by (plural) kind."""
    return notifications.handed_text({ENTITY[kind]: count
                                      for kind, count in by_kind.items()})


# --- The rules ------------------------------------------------------------------------------


def employee(value: Any, field_name: str) -> CrmUser:
    """The employee a form or a body names by id, or a refusal naming the field."""
    user_id = bounds.as_key(CrmUser.id, value) if not isinstance(value, bool) else None
    user = db.session.get(CrmUser, user_id) if user_id is not None else None
    if user is None:
        raise RecordInvalid({field_name: [gettext("Choose an employee.")]})
    return user


def _kinds(items: Any) -> set[str]:
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, (list, tuple, set)) or not items or \
            not all(isinstance(item, str) for item in items):
        raise RecordInvalid({"items": [gettext("Choose what to hand over.")]})
    unknown = sorted(set(items) - {*KINDS, ALL})
    if unknown:
        raise RecordInvalid({"items": [gettext(
            "Unknown kinds: %(kinds)s. Choose among %(choices)s.", kinds=", ".join(unknown),
            choices=", ".join((*KINDS, ALL)))]})
    return set(KINDS) if ALL in items else set(items)


def _ids(ids: Any, kinds: set[str]) -> dict[str, list[int]]:
    """`ids` as {kind: [id, …]}: an object by kind, or a list when one kind is chosen."""
    if ids is None:
        return {}
    if isinstance(ids, list):
        if len(kinds) != 1:
            raise RecordInvalid({"ids": [gettext(
                "With more than one kind, give the ids by kind: "
                "{\"interests\": [1, 2], \"clients\": [3]}.")]})
        ids = {next(iter(kinds)): ids}
    if not isinstance(ids, dict):
        raise RecordInvalid({"ids": [gettext("A list of ids, or lists of ids by kind.")]})
    chosen: dict[str, list[int]] = {}
    for kind, values in ids.items():
        if kind not in kinds:
            raise RecordInvalid({"ids": [gettext(
                "Ids are given for %(kind)s, which are not handed over.",
                kind=kind_label(kind) if kind in MODELS else kind)]})
        if not isinstance(values, list) or len(values) > MOST_IDS:
            raise RecordInvalid({"ids": [gettext(
                "A list of at most %(most)d ids.", most=MOST_IDS)]})
        keys = [bounds.as_key(MODELS[kind].id, value) if not isinstance(value, bool)
                else None for value in values]
        if any(key is None for key in keys):
            raise RecordInvalid({"ids": [gettext("The ids must be whole numbers.")]})
        chosen[kind] = sorted(set(keys))
    return chosen


def _with_along(kinds: Iterable[str]) -> list[str]:
    kinds = set(kinds)
    return [kind for kind in (*KINDS, "contacts")
            if kind in kinds or any(ALONG.get(chosen) == kind for chosen in kinds)]


def _selection(kind: str, from_id: int, ids: Optional[list[int]]):
    model = MODELS[kind]
    condition = and_(owner_column(model) == from_id, still_open(kind))
    return condition if ids is None else and_(condition, model.id.in_(ids))


def _refuse_others(giver: CrmUser, kinds: set[str], chosen: dict[str, list[int]]) -> None:
    """Every id given is the employee's open work of its kind (and the acting user may
    reassign it), else the whole handover is refused, naming the ids."""
    wrong: dict[str, list[int]] = {}
    for kind, ids in chosen.items():
        model = MODELS[kind]
        if not ids:
            continue
        found = set(db.session.execute(
            select(model.id).where(_selection(kind, giver.id, ids), _reassignable(model))
        ).scalars())
        missing = [pk for pk in ids if pk not in found]
        if missing:
            wrong[kind] = missing
    if wrong:
        listed = "; ".join(f"{kind_label(kind)}: {', '.join(map(str, pks))}"
                           for kind, pks in wrong.items())
        message = gettext("These records are not %(name)s's open work, so they cannot be "
                          "handed over: %(ids)s.", name=giver, ids=listed)
        raise RuleBroken("not_theirs", message, {"ids": [message]})


def _update(kind: str, from_id: int, to_id: int, condition) -> list[int]:
    """Give the rows of `kind` that are the giver's and meet `condition` to the receiver
    (one UPDATE … RETURNING), and write their history (one multi-row insert)."""
    model = MODELS[kind]
    table = model.__table__
    column = owner_column(model)
    now = utcnow()
    user_id = actor.current_user_id()
    statement = update(table).where(
        table.c[column.key] == from_id, still_open(kind), condition).values(
        {column.key: to_id, "version": table.c.version + 1, "changed_on": now,
         "changed_by_fk": user_id}).returning(table.c.id)
    moved = sorted(db.session.execute(statement).scalars())
    if moved:
        acting_name = None if user_id is not None else _acting_name()
        db.session.execute(ChangeLog.__table__.insert(), [
            {"entity": model.__name__, "record_id": pk, "action": "update",
             "changes": {column.key: [from_id, to_id]}, "changed_at": now,
             "user_id": user_id, "actor": acting_name} for pk in moved])
    return moved


def _forget_loaded(moved: dict[str, list[int]]) -> None:
    """Records of the session loaded before the move are read again when next used."""
    session = db.session
    wanted = {(MODELS[kind], pk) for kind, pks in moved.items() for pk in pks}
    for obj in list(session.identity_map.values()):
        if (type(obj), getattr(obj, "id", None)) in wanted:
            session.expire(obj)


def _acting_name() -> str:
    acting = actor.current()
    if acting is None:
        return gettext("the system")
    if acting.user_id is not None:
        user = db.session.get(CrmUser, acting.user_id)
        return str(user) if user is not None else ""
    return (acting.name or "")[:80]
