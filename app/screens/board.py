"""The board "My sales" (app.services.board) as a page: a toolbar of filters, the columns
with their totals and cards, "show more", and a list mode. Dragging a card (crm/board.js,
SortableJS) opens the command's form of the interest's screen in a dialog; without
JavaScript each card links to the interest's card, where the same commands are forms."""

from __future__ import annotations

from flask import abort, jsonify, render_template, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.database import db
from app.models import Client, CrmUser, DictionaryItem, Interest
from app.services import access, board, bounds, calendar, commands
from app.services.clock import UnreadableTime, format_local, parse_typed
from app.services.errors import DomainError
from app.services.principals import OWN, principal

DEPTH_LABELS = {
    "all": _l("Everything"),
    "today": _l("Overdue and today"),
    "3days": _l("3 days"),
    "week": _l("A week"),
    "month": _l("A month"),
}


def _int(name: str):
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value < 2**31 else None


def filters_from_request() -> board.Filters:
    depth = request.args.get("depth", "all")
    return board.Filters(
        pipeline_id=_int("pipeline"), client_id=_int("client"),
        service_type_id=_int("service_type"),
        tag_ids=tuple(sorted({t for t in request.args.getlist("tag", type=int)
                              if 0 < t < 2**31}))[:10],
        manager_id=_int("manager") if sees_colleagues() else None,
        depth=depth if depth in board.DEPTHS else "all",
        overdue_last=request.args.get("overdue_last") == "1")


def sees_colleagues() -> bool:
    """The manager filter is for those who see more than their own interests."""
    return principal().scope("interest", "read") > OWN


def _choices(kind: str) -> list[DictionaryItem]:
    return list(db.session.execute(
        select(DictionaryItem).where(DictionaryItem.kind == kind)
        .order_by(DictionaryItem.sort, DictionaryItem.name)).scalars())


def _managers() -> list[CrmUser]:
    owners = access.readable_owners(Interest)
    query = select(CrmUser).where(CrmUser.active.is_(True))
    if owners is None:
        return []
    if owners is not access.EVERY_OWNER:
        query = query.where(CrmUser.id.in_(sorted(owners)))
    return list(db.session.execute(query.order_by(CrmUser.first_name,
                                                  CrmUser.last_name)).scalars())


class BoardView(BaseView):
    """Whoever may read interests may open the board (app.entities.crm: the board is one of
    the interest's pages); pinning a card needs the right to change it."""

    route_base = "/board"
    default_view = "index"
    method_permission_name = {"index": "list", "more": "list", "load": "list",
                              "flag": "edit"}

    @expose("/")
    @has_access
    def index(self):
        filters = filters_from_request()
        mode = "list" if request.args.get("mode") == "list" else "board"
        if mode == "list":
            result = board.board(filters, page=0)
            rows = board.listing(filters, offset=max(0, request.args.get("offset", 0, type=int)
                                                     or 0))
        else:
            result, rows = board.board(filters), None
        client = None if filters.client_id is None else db.session.execute(
            access.readable(Client).where(Client.id == filters.client_id)).scalar()
        if filters.client_id is not None and client is None:
            abort(404)  # as the lists: a client the user may not read is not found
        return self.render_template(
            "crm/board.html", board=result, listing=rows, mode=mode, depths=DEPTH_LABELS,
            client=client,
            pipelines=board.pipelines(), service_types=_choices("service_type"),
            tags=_choices("tag"), managers=_managers() if sees_colleagues() else [],
            title=gettext("My sales"))

    @expose("/more")
    @has_access
    def more(self):
        """The next cards of a column, as HTML to append to it."""
        column = board.more_cards(filters_from_request(), request.args.get("column", ""),
                                  request.args.get("offset", 0, type=int) or 0)
        if column is None:
            abort(404)
        return render_template("crm/board_cards.html", column=column)

    @expose("/load")
    @has_access
    def load(self):
        """{"count", "text", "items"}: the responsible's planned interactions on a day, and
        which (app.services.calendar.day_items)."""
        interest = db.session.execute(access.readable(Interest).where(
            Interest.id == (_int("interest") or 0))).scalar()
        try:
            day = parse_typed(request.args.get("day", ""), with_time=False)
        except (UnreadableTime, ValueError):
            abort(400)
        if interest is None:
            abort(404)
        items = calendar.day_items(interest.responsible_id, day)
        return jsonify(count=len(items), text=load_text(len(items), interest.responsible),
                       items=[{"time": format_local(item.start)[-5:],
                               "end": format_local(item.end)[-5:],
                               "subject": item.interaction.subject} for item in items[:20]])


    @expose("/flag/<int:pk>", methods=["POST"])
    @has_access
    def flag(self, pk):
        """Pin or unpin a card: a pinned interest comes first in its column."""
        key = bounds.as_key(Interest.id, pk)
        interest = None if key is None else db.session.execute(
            access.readable(Interest, action="edit").where(Interest.id == key)).scalar()
        if interest is None:
            abort(404)
        try:
            commands.update(interest, lambda i: setattr(i, "flagged", not i.flagged),
                            seen_version=request.form.get("version"))
        except DomainError as error:
            db.session.rollback()
            return jsonify(message=error.message, code=error.code), error.status
        return jsonify(flagged=interest.flagged, version=interest.version)


def load_text(count: int, who) -> str:
    if count == 0:
        return gettext("%(who)s has nothing planned on this day.", who=who)
    return gettext("%(who)s has %(count)d planned on this day.", who=who, count=count)
