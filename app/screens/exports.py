"""The exports' page: the user's exports, newest first, with the progress of those being
written in the background and a link to download each file while it is kept; for those
who read the settings, everybody's exports too (who exported what, how many rows)."""

from __future__ import annotations

from flask import abort, jsonify, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app.fab.downloads import send_export
from app.models import EXPORT_FORMATS, EXPORT_STATUSES
from app.services import access, actor, list_exports
from app.services.clock import format_local
from app.services.errors import DomainError
from app.services.paging import page_of

PAGE_SIZE = 50
MAX_PAGE = 10**6


def status_of(run) -> dict:
    mine = run.user_id == actor.current_user_id()
    return list_exports.as_json(
        run, url_for("ExportView.download", pk=run.id) if mine else None)


class ExportView(BaseView):
    route_base = "/exports"
    default_view = "index"
    method_permission_name = {"index": "list", "status": "list", "download": "list"}

    @expose("/")
    @has_access
    def index(self):
        may_see_all = access.can("settings", "read")
        everyone = may_see_all and request.args.get("who") == "all"
        page = min(max(request.args.get("page", 0, type=int), 0), MAX_PAGE)
        query = list_exports.history(everyone)
        total, runs = page_of(query, page, PAGE_SIZE)
        return self.render_template(
            "crm/exports.html", title=gettext("Exports"), runs=runs,
            states={run.id: status_of(run) for run in runs}, everyone=everyone,
            may_see_all=may_see_all, may_see_errors=access.can("settings", "edit"),
            page=page, pages=(total + PAGE_SIZE - 1) // PAGE_SIZE, total=total,
            formats=EXPORT_FORMATS, statuses=EXPORT_STATUSES, local=format_local)

    @expose("/<int:pk>/status")
    @has_access
    def status(self, pk):
        try:
            return jsonify(status_of(list_exports.one(pk)))
        except DomainError:
            abort(404)

    @expose("/<int:pk>/download")
    @has_access
    def download(self, pk):
        try:
            return send_export(list_exports.one(pk))
        except DomainError:
            abort(404)
