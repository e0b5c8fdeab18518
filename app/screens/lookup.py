"""Pick a related record from a large table by typing: select boxes for clients, contacts
and interests ask the server for the first matches instead of listing a million rows.
Where a term is looked for, and how a match reads, is each entity's declaration's."""

from __future__ import annotations

from flask import abort, g, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import false, or_
from wtforms import Field, ValidationError

from app.database import db
from app.entities import BY_MODEL, LOOKUPS
from app.services import access, bounds
from app.services.prefixes import prefix_condition

LIMIT = 20
# The most records of one client a look-up lists at once.
CLIENT_LIMIT = 200


def _matches(entity, term: str):
    """The records whose declared look-up columns start with the term (app.entities)."""
    conditions = []
    for match in entity.lookup.matches:
        prefix = match.prepare(term)
        if prefix or not match.optional:
            conditions.append(prefix_condition(getattr(entity.model, match.column), prefix))
    return or_(*conditions) if conditions else false()


def lookup_text(item) -> str:
    entity = BY_MODEL.get(type(item))
    return entity.lookup.text(item) if entity is not None and entity.lookup else str(item)


class LookupView(BaseView):
    route_base = "/lookup"
    default_view = "search"

    @expose("/<entity>")
    def search(self, entity):
        declared = LOOKUPS.get(entity)
        if declared is None:
            abort(404)
        model = declared.model
        order = getattr(model, declared.lookup.order)
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            abort(401)
        if not self.appbuilder.sm.has_access("can_list", declared.view_name):
            abort(403)
        term = (request.args.get("q") or "").strip()[:100]

        statement = access.readable(model).order_by(order, model.id).limit(LIMIT)
        if term:
            statement = statement.where(_matches(declared, term))
        text = lookup_text
        if "client" in request.args and hasattr(model, "client_id"):
            # A client's own records (a meeting's contact persons), all of them but a few,
            # each by its own name: the client is the one already chosen.
            client_id = bounds.as_key(model.client_id, request.args["client"])
            statement = statement.where(model.client_id == client_id).limit(CLIENT_LIMIT)
            text = str
        items = db.session.execute(statement).scalars().all()
        return jsonify(results=[{"id": item.id, "text": text(item)} for item in items],
                       pagination={"more": False})


class LookupWidget:
    def __call__(self, field, **kwargs):
        selected = ""
        if field.object is not None:
            selected = (f'<option value="{field.object.id}" selected>'
                        f"{escape(lookup_text(field.object))}</option>")
        placeholder = escape(str(_l("Start typing to search")))
        return Markup(
            f'<select id="{field.id}" name="{field.name}" class="form-control crm-lookup" '
            f'data-endpoint="/lookup/{field.entity}" data-placeholder="{placeholder}">'
            f'<option value=""></option>{selected}</select>'
        )


class LookupField(Field):
    """A many-to-one field whose value is a record's id, looked up as the user types."""

    widget = LookupWidget()

    def __init__(self, label=None, validators=None, entity: str = "client", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.entity = entity
        self.object = None
        self._invalid = False
        self._posted = None

    @property
    def model(self):
        return LOOKUPS[self.entity].model

    def process_data(self, value):
        self.object = value
        self.data = value

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "") or ""
        if not raw.strip():
            self.object = self.data = None
            return

        # A key the id column cannot hold names no record (the database would refuse it).
        pk = bounds.as_key(self.model.id, raw)
        self._posted = pk
        self.object = None if pk is None else db.session.execute(
            access.readable(self.model).where(self.model.id == pk)).scalar()
        self._invalid = self.object is None
        self.data = self.object

    def keep_current(self, current) -> None:
        """On an edit: the record already linked stays a valid choice even if the user can
        no longer see it (it went to someone else); only a new choice must be visible."""
        if self._invalid and current is not None and self._posted == current.id:
            self.object = self.data = current
            self._invalid = False

    def pre_validate(self, form):
        if self._invalid:
            raise ValidationError(_l("The chosen record does not exist."))

    def _value(self):
        return "" if self.object is None else str(self.object.id)
