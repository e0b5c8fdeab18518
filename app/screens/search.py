"""The quick search in the navbar: clients by any word of the name, INN, phone in any
format, e-mail or domain, and their contact persons' phones and e-mails
(app.services.client_search, the same search as the intake wizard and the API). As the
user types, the first matches drop down under the box; Enter opens the page of all of
them, or the client's card when only one is found."""

from __future__ import annotations

from flask import jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext, ngettext

from app.services import client_search

TERM_LENGTH = 200
DROPDOWN = 8


def _term() -> str:
    return (request.args.get("q") or "").strip()[:TERM_LENGTH]


class SearchView(BaseView):
    """Whoever may read clients may search them (app.entities.crm: one of the client's
    pages); only the clients the access filter gives are found."""

    route_base = "/search"
    default_view = "index"
    method_permission_name = {"index": "list", "quick": "list"}

    @expose("/")
    @has_access
    def index(self):
        term = _term()
        found = client_search.find_clients(term) if term else []
        if len(found) == 1:
            return redirect(url_for("ClientView.show", pk=found[0].client.id))
        return self.render_template("crm/search.html", term=term, found=found,
                                    limit=client_search.LIMIT,
                                    title=gettext("Search: %(term)s", term=term) if term
                                    else gettext("Search"))

    @expose("/quick")
    @has_access
    def quick(self):
        """[{"name", "details", "url", "open"}]: the first matches, for the dropdown;
        "details" are the INN, phone, e-mail and the number of open interests."""
        term = _term()
        found = client_search.find_clients(term, limit=DROPDOWN) if len(term) >= 2 else []
        return jsonify(result=[{
            "name": item.client.name, "details": _details(item),
            "url": url_for("ClientView.show", pk=item.client.id),
            "open": len(item.open_interests)} for item in found])


def _details(found) -> str:
    client = found.client
    parts = [client.inn, client.phone, client.email]
    if found.open_interests:
        parts.append(ngettext("%(num)d open interest", "%(num)d open interests",
                              len(found.open_interests)))
    return " · ".join(part for part in parts if part)
