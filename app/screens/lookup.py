"""Pick a related record from a large table by typing: select boxes for clients, contacts
and interests ask the server for the first matches instead of listing a million rows."""

from __future__ import annotations

from flask import abort, g, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import or_
from wtforms import Field, ValidationError

from app.fab.filters import prefix_condition
from app.models import Client, Contact, Interest
from app.rules.validation import normalize_name, normalize_search, phone_search_prefix
from app.services import access, bounds

LIMIT = 20


def _client_matches(term: str):
    digits = "".join(ch for ch in term if ch.isdigit())
    conditions = [prefix_condition(Client.name_search, normalize_name(term))]
    if digits and len(digits) >= 3:
        conditions.append(prefix_condition(Client.inn, digits))
        conditions.append(prefix_condition(Client.phone_normalized, phone_search_prefix(term)))
    return or_(*conditions)


# entity -> (model, the view whose read right it needs, condition for a typed term, order)
LOOKUPS = {
    "client": (Client, "ClientView", _client_matches, Client.name_search),
    "contact": (Contact, "ContactView",
                lambda term: prefix_condition(Contact.name_search, normalize_search(term)),
                Contact.name_search),
    "interest": (Interest, "InterestView",
                 lambda term: prefix_condition(Interest.title_search, normalize_search(term)),
                 Interest.title_search),
}


def lookup_text(item) -> str:
    if isinstance(item, Client) and item.inn:
        return f"{item.name} ({item.inn})"
    if isinstance(item, Contact) and item.client is not None:
        return f"{item.name} — {item.client.name}"
    return str(item)


class LookupView(BaseView):
    route_base = "/lookup"
    default_view = "search"

    @expose("/<entity>")
    def search(self, entity):
        if entity not in LOOKUPS:
            abort(404)
        model, view_name, condition, order = LOOKUPS[entity]
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            abort(401)
        if not self.appbuilder.sm.has_access("can_list", view_name):
            abort(403)
        term = (request.args.get("q") or "").strip()[:100]
        from app.database import db

        statement = access.readable(model).order_by(order, model.id).limit(LIMIT)
        if term:
            statement = statement.where(condition(term))
        items = db.session.execute(statement).scalars().all()
        return jsonify(results=[{"id": item.id, "text": lookup_text(item)} for item in items],
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
        return LOOKUPS[self.entity][0]

    def process_data(self, value):
        self.object = value
        self.data = value

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "") or ""
        if not raw.strip():
            self.object = self.data = None
            return
        from app.database import db

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
