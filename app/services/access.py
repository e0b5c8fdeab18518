"""Who may do what with which records: the one access filter.

A role's rights matrix gives, for each entity and action, a scope:

    none < own < own department < department and sub-departments < all

A user has the roles of their department plus their own; the widest scope wins. The
administrator role has every right. A head of department reads at least the records of
the subtree they head (the 1C:CRM rule). `condition(user, model, action)` turns that into
a SQL restriction that every path applies: lists, show/edit/delete by id, bulk actions,
the API, lookups, related lists, the start page, and later exports, the kanban, reports.

A user's rights and the department tree (app.services.principals) are read from the
database when the cache stamp (app.services.stamp) has changed since they were last read,
so a change of the matrix takes effect on the next request of every user in every process.
"""

from __future__ import annotations

from typing import Iterable, Optional

from flask_babel import gettext
from sqlalchemy import false, select, true

from app.database import db
from app.entities import MODEL_ENTITY, OWNER_RELATION, PARENTS, TRACKED_MODELS, owner_column
from app.models import (
    CalendarFeed,
    ChangeLog,
    Client,
    Contact,
    CrmUser,
    DictionaryItem,
    ExportRun,
    Inquiry,
    Interaction,
    InteractionParticipant,
    Interest,
    Notification,
    NotificationSetting,
    ReportSubscription,
    SalesPlan,
)
from app.services import actor
from app.services.errors import Forbidden, RecordInvalid
from app.services.principals import (  # the matrix's vocabulary, as the filter's callers know it
    ACTIONS as ACTIONS,
)
from app.services.principals import (
    ALL as ALL,
)
from app.services.principals import (
    DEPARTMENT as DEPARTMENT,
)
from app.services.principals import (
    EMPLOYEE_LISTS as EMPLOYEE_LISTS,
)
from app.services.principals import (
    MATRIX_ENTITIES as MATRIX_ENTITIES,
)
from app.services.principals import (
    NONE as NONE,
)
from app.services.principals import (
    OWN as OWN,
)
from app.services.principals import (
    OWNED_ENTITIES as OWNED_ENTITIES,
)
from app.services.principals import (
    SCOPES as SCOPES,
)
from app.services.principals import (
    SUBTREE as SUBTREE,
)
from app.services.principals import (
    Principal as Principal,
)
from app.services.principals import (
    principal as principal,
)
from app.services.principals import (
    scope_departments,
)
from app.services.principals import (
    subtree as subtree,
)

# --- The filter ----------------------------------------------------------------------------

# Records that belong to one user alone (their reminders and their choice of them): only
# that user reads them, the administrator included, whatever the rights matrix says.
PERSONAL = {Notification: Notification.user_id, NotificationSetting: NotificationSetting.user_id,
            ReportSubscription: ReportSubscription.user_id,
            CalendarFeed: CalendarFeed.user_id}


def _users_in(departments: Iterable[int]):
    return select(CrmUser.id).where(CrmUser.department_id.in_(sorted(departments)))


# What a deputy may do with the records of the employee they stand in for.
DEPUTY_ACTIONS = ("read", "edit")


def _own_ids(p: Principal, action: str) -> list[int]:
    """The user, and for reading and editing the employees they stand in for today."""
    if action in DEPUTY_ACTIONS and p.stands_in_for:
        return [p.user_id, *sorted(p.stands_in_for)]
    return [p.user_id]


def _owner_condition(p: Principal, column, scope: int, action: str):
    departments = scope_departments(p, scope, action)
    own = _own_ids(p, action)
    mine = column == own[0] if len(own) == 1 else column.in_(own)
    if departments:
        return mine | column.in_(_users_in(departments))
    return mine


def condition(model, action: str = "read", user=None):
    """A SQL condition that keeps only the rows of `model` the user may `action`.

    It fails closed: a model that is neither in the rights matrix (MODEL_ENTITY) nor one of
    the EMPLOYEE_LISTS yields no rows for anyone but the administrator, so a new read path
    over a model nobody declared shows nothing rather than everything.
    """
    p = principal(user)
    if p.user_id is None:
        return false()
    if model in PERSONAL:
        return PERSONAL[model] == p.user_id
    if model is ExportRun:
        # Everyone's own exports; the history of all to those who read the settings.
        return true() if p.is_admin or p.scope("settings", "read") == ALL \
            else ExportRun.user_id == p.user_id
    if p.is_admin:
        return true()
    if model is ChangeLog:
        return _history_condition(user)
    if model is SalesPlan:
        return _plan_condition(action, user)
    entity = MODEL_ENTITY.get(model)
    if entity is None:
        return true() if model in EMPLOYEE_LISTS and action == "read" else false()
    scope = p.scope(entity, action)
    if scope == NONE:
        return false()
    if scope == ALL:
        return true()
    if model in PARENTS:
        # Goes with its parent record (an interest's products with their interest).
        link, parent = PARENTS[model].parent_relation
        return link.in_(select(parent.id).where(condition(parent, action, user)))
    column = owner_column(model)
    if column is None:
        return true()  # products, directories, settings: no owner, any scope is all
    owned = _owner_condition(p, column, scope, action)
    if model is Contact:
        # A contact is also visible with its client.
        owned = owned | Contact.client_id.in_(
            select(Client.id).where(_owner_condition(p, Client.responsible_id, scope, action)))
    if model is Interaction and action == "read":
        # A colleague taking part in a meeting reads it (their calendar shows it); the
        # lists, which read by owner (readable_owners), show what one is responsible for.
        owned = owned | Interaction.id.in_(
            select(InteractionParticipant.interaction_id)
            .where(InteractionParticipant.user_id == p.user_id))
    return owned


def figures_condition(user_column, action: str = "read", user=None):
    """A condition on a column of user ids that keeps the report figures of the users whose
    figures the user may `action` (the matrix's "report" entity): a manager their own, a
    head of department the subtree's."""
    p = principal(user)
    if p.user_id is None:
        return false()
    scope = p.scope("report", action)
    if scope == NONE:
        return false()
    if scope == ALL:
        return true()
    return _owner_condition(p, user_column, scope, action)


def _plan_condition(action: str, user=None):
    """A manager's plan with the manager's figures, a department's with the department."""
    departments = figures_departments(action, user)
    if departments is None:
        return true()
    return figures_condition(SalesPlan.manager_id, action, user) | \
        SalesPlan.department_id.in_(sorted(departments))


def figures_departments(action: str = "read", user=None) -> Optional[set[int]]:
    """The departments whose figures the user may `action` as a whole (a department's
    plan, its line in a report); None for all of them."""
    p = principal(user)
    scope = p.scope("report", action) if p.user_id is not None else NONE
    if scope == ALL:
        return None
    if scope == NONE:
        return set()
    return scope_departments(p, scope, action)


EVERY_OWNER = object()  # readable_owners: the access filter does not narrow the list


def readable_owners(model, user=None):
    """The users whose records of `model` the user may read, when that is all the access
    filter asks (`condition` is exactly "the owner is one of them"): a frozenset of their
    ids, EVERY_OWNER when the filter lets every row through, None when the filter is of
    another shape (the caller then reads through `condition` alone). Of interactions, the
    lists' owners: the meetings a user takes part in besides are read through
    `condition` (a meeting's page, the calendar)."""
    p = principal(user)
    if p.user_id is None or model not in (Client, Inquiry, Interest, Interaction):
        return None
    if p.is_admin:
        return EVERY_OWNER
    scope = p.scope(MODEL_ENTITY[model], "read")
    if scope == ALL:
        return EVERY_OWNER
    if scope == NONE:
        return None
    departments = scope_departments(p, scope, "read")
    owners = set(_own_ids(p, "read"))
    if departments:
        owners |= set(db.session.execute(_users_in(departments)).scalars())
    return frozenset(owners)


def readable(model, *columns, action: str = "read", user=None):
    """SELECT `columns` (default: the records) of the rows of `model` the user may
    `action`: the one way to read owned records outside the lists' data model."""
    return select(*(columns or (model,))).select_from(model).where(
        condition(model, action, user))


def possible_owners(model, user_column, action: str = "read", user=None):
    """A condition on a column of user ids that holds for every user whose records of
    `model` the user may `action`; None when that is no narrower than all users.

    Used to skip, before asking the database, the users none of whose records can show
    (sorting a list by its responsible reads one index range per user). Contacts are also
    visible through their client, whoever their responsible is: never narrowed."""
    p = principal(user)
    entity = MODEL_ENTITY.get(model)
    column = owner_column(model)
    if p.is_admin or entity is None or column is None or model is Contact:
        return None
    scope = p.scope(entity, action)
    if scope == NONE:
        return false()
    if scope == ALL:
        return None
    return _owner_condition(p, user_column, scope, action)


def busy_times(user_ids: Iterable[int], since, until):
    """When employees are busy, whoever asks: SELECT the id, responsible, start, planned
    length and type of the planned interactions of `user_ids` (theirs, or meetings they
    take part in) that start in [since, until). That a colleague is busy at a time is
    known to anyone planning a meeting with them; what with, only to those who may read
    it (app.services.calendar.conflicts reads that through the filter)."""
    wanted = sorted(set(user_ids))
    return select(Interaction.id, Interaction.responsible_id, Interaction.planned_at,
                  Interaction.planned_minutes, DictionaryItem.code).outerjoin(
        DictionaryItem, DictionaryItem.id == Interaction.type_id).where(
        Interaction.status == "planned", Interaction.planned_at >= since,
        Interaction.planned_at < until,
        Interaction.responsible_id.in_(wanted) | Interaction.id.in_(
            select(InteractionParticipant.interaction_id)
            .where(InteractionParticipant.user_id.in_(wanted))))


def _history_condition(user=None):
    """The change log of the records the user can read."""
    from sqlalchemy import or_

    return or_(*[
        (ChangeLog.entity == model.__name__)
        & ChangeLog.record_id.in_(select(model.id).where(condition(model, "read", user)))
        for model in TRACKED_MODELS
    ])


def can(entity: str, action: str, user=None) -> bool:
    """May the user `action` any record of `entity` at all?"""
    return principal(user).scope(entity, action) > NONE


def allows(obj, action: str, user=None) -> bool:
    """May the user `action` this saved record? One query by primary key."""
    model = type(obj)
    return db.session.execute(
        select(model.id).where(model.id == obj.id, condition(model, action, user))
    ).first() is not None


def owner_of(obj) -> Optional[int]:
    relation = OWNER_RELATION.get(type(obj))
    if relation is None:
        return None
    related = getattr(obj, relation, None)
    if related is not None:
        return related.id
    return getattr(obj, owner_column(type(obj)).key)


def assign_default_owner(obj, user=None) -> None:
    """A new record without a responsible belongs to the user who creates it."""
    relation = OWNER_RELATION.get(type(obj))
    if relation is None or owner_of(obj) is not None:
        return
    if user is None:
        user = actor.current_user()
    if user is not None and getattr(user, "is_authenticated", False):
        setattr(obj, relation, db.session.get(CrmUser, user.id))


def user_within_scope(user_id: Optional[int], scope: int, p: Principal) -> bool:
    if scope == ALL:
        return True
    if user_id is None or scope == NONE:
        return False
    if user_id == p.user_id:
        return True
    if scope == OWN:
        return False
    department_id = db.session.execute(
        select(CrmUser.department_id).where(CrmUser.id == user_id)).scalar()
    if department_id is None:
        return False
    if scope == DEPARTMENT:
        return department_id == p.department_id
    return department_id in subtree(p.department_id)


def can_reassign(model, user=None) -> bool:
    """May the user choose who is responsible for a record of `model`?"""
    entity = MODEL_ENTITY.get(model)
    return entity is not None and principal(user).scope(entity, "reassign") > NONE


def assignable_users_condition(model, user=None):
    """The users the current user may make responsible for a record of `model`."""
    p = principal(user)
    if p.is_admin:
        return true()
    entity = MODEL_ENTITY.get(model)
    scope = p.scope(entity, "reassign") if entity else NONE
    if scope == ALL:
        return true()
    if scope in (NONE, OWN):
        return CrmUser.id == p.user_id
    departments = {p.department_id} if scope == DEPARTMENT else subtree(p.department_id)
    return (CrmUser.id == p.user_id) | CrmUser.department_id.in_(sorted(departments))


def authorize_save(obj, *, is_new: bool, previous_owner: Optional[int] = None,
                   previous_links: Optional[dict[str, Optional[int]]] = None,
                   user=None) -> None:
    """Refuse a save that the user's rights do not cover (raise Forbidden).

    - adding or editing needs the right to, within a scope that holds the record's owner
      after the save (a record cannot be pushed out of one's own scope);
    - making someone else responsible needs the reassign right over that person;
    - a new link to a client, contact or interest needs the right to read it; a link kept
      as it was (`previous_links`, from links_of() before the change) does not.

    The record is judged as it is in memory: the queries made here do not flush the change
    to the database, which only the save does (there a version conflict is a 409; flushed
    from here it was a crash).
    """
    with db.session.no_autoflush:
        _authorize_save(obj, is_new=is_new, previous_owner=previous_owner,
                        previous_links=previous_links, user=user)


def _authorize_save(obj, *, is_new: bool, previous_owner: Optional[int],
                    previous_links: Optional[dict[str, Optional[int]]], user) -> None:
    p = principal(user)
    if p.is_admin:
        return
    model = type(obj)
    _authorize_links(obj, previous_links or {}, user)
    if model in PARENTS:
        parent = getattr(obj, PARENTS[model].parent)
        if parent is None or (parent.id is not None and not allows(parent, "edit", user)):
            raise Forbidden(gettext("You may not change the record this one belongs to."))
        return
    entity = MODEL_ENTITY.get(model)
    action = "add" if is_new else "edit"
    scope = p.scope(entity, action) if entity else NONE
    if scope == NONE:
        raise Forbidden(gettext("You do not have the right to do this."))
    if model is SalesPlan:
        _authorize_plan(obj, action, user)
        return
    if model not in OWNER_RELATION:
        return
    owner = owner_of(obj)
    owner_changed = owner != (p.user_id if is_new else previous_owner)
    if owner_changed and owner is not None:
        reassign = p.scope(entity, "reassign")
        if not user_within_scope(owner, reassign, p):
            raise Forbidden(gettext(
                "You may not make another employee responsible for this record."))
    if owner is None and model is Contact and obj.client is not None:
        if obj.client.id is not None and not allows(obj.client, "read", user):
            raise Forbidden(gettext("You do not have the right to do this."))
        return
    if not user_within_scope(owner, scope, p) and not _client_within_scope(obj, scope, p) \
            and not (action in DEPUTY_ACTIONS and owner in p.stands_in_for):
        raise Forbidden(gettext(
            "After this change the record would be outside what you may see; "
            "choose a responsible within your scope."))


def _authorize_plan(plan, action: str, user=None) -> None:
    departments = figures_departments(action, user)
    if departments is None:
        return
    p = principal(user)
    department_id = plan.department.id if plan.department is not None else plan.department_id
    manager_id = plan.manager.id if plan.manager is not None else plan.manager_id
    if department_id is None and manager_id is None:
        return  # the plan's own check says what is missing
    within = department_id in departments if department_id is not None else \
        user_within_scope(manager_id, p.scope("report", action), p)
    if not within:
        raise Forbidden(gettext("You may set plans only for the employees and departments "
                                "whose figures you see."))


def _client_within_scope(obj, scope: int, p: Principal) -> bool:
    """A contact is within a scope with its client, as condition() has it."""
    client = obj.client if isinstance(obj, Contact) else None
    return client is not None and user_within_scope(owner_of(client), scope, p)


def _links(model):
    """The many-to-one relations of `model` to records that have owners, with their keys."""
    from sqlalchemy import inspect as sa_inspect

    for relation in sa_inspect(model).relationships:
        if relation.direction.name == "MANYTOONE" and relation.mapper.class_ in OWNER_RELATION:
            yield relation, list(relation.local_columns)[0].key


def links_of(obj) -> dict[str, Optional[int]]:
    """The clients, contacts and interests a saved record links to: {relation: id}. Taken
    before an edit, so that authorize_save() knows which links are new."""
    return {relation.key: getattr(obj, column) for relation, column in _links(type(obj))}


def _authorize_links(obj, previous: dict[str, Optional[int]], user=None) -> None:
    """A record may only be newly linked to clients, contacts and interests the user can
    see. A link kept as it was stays, even to a record given to someone else since."""
    for relation, _column in _links(type(obj)):
        target = getattr(obj, relation.key, None)
        if target is None or target.id is None or previous.get(relation.key) == target.id:
            continue
        if not allows(target, "read", user):
            raise RecordInvalid({relation.key: [gettext("The chosen record does not exist.")]})
