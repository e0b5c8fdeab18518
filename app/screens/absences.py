"""Absences (app.services.absences): who is away when, with which deputy, and what was
handed over; a form to plan one for those who may reassign the work, and ending or
cancelling one."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app.database import db
from app.models import ABSENCE_STATUSES, Absence
from app.services import absences
from app.services.clock import local_today
from app.services.errors import DomainError
from app.services.notifications import handed_text

SHOWN = 200


class AbsenceView(BaseView):
    route_base = "/absences"
    default_view = "index"
    method_permission_name = {"index": "list", "plan": "edit", "cancel": "edit"}

    def _page(self, form=None, errors=None, status=200):
        rows = db.session.execute(
            absences.visible().order_by(Absence.starts_on.desc(), Absence.id.desc())
            .limit(SHOWN)).scalars().all()
        today = local_today()
        return self.render_template(
            "crm/absences.html", title=gettext("Absences"), rows=rows,
            handed=absences.handed_counts(row.id for row in rows), handed_text=handed_text, statuses=ABSENCE_STATUSES, employees=absences.employees(),
            form=form or {"starts_on": today.isoformat(), "ends_on": today.isoformat()},
            errors=errors or {}, today=today), status

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/plan", methods=["POST"])
    @has_access
    def plan(self):
        form = {name: request.form.get(name, "") for name in
                ("user", "deputy", "starts_on", "ends_on", "note")}
        try:
            absence = absences.plan(form["user"], form["deputy"], form["starts_on"],
                                    form["ends_on"], form["note"])
        except DomainError as error:
            db.session.rollback()
            if not error.errors:
                flash(error.message, "danger")
            return self._page(form, error.errors, status=422)
        if absence.status == "active":
            flash(gettext("The absence has begun: %(name)s's work is with %(deputy)s.",
                          name=absence.user, deputy=absence.deputy), "success")
        else:
            flash(gettext("The absence is planned: on its first day %(name)s's work goes "
                          "to %(deputy)s.", name=absence.user, deputy=absence.deputy),
                  "success")
        return redirect(url_for("AbsenceView.index"))

    @expose("/<int:pk>/cancel", methods=["POST"])
    @has_access
    def cancel(self, pk):
        try:
            absence = absences.cancel(absences.one(pk),
                                      seen_version=request.form.get("version"))
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(gettext("The absence is cancelled.") if absence.status == "cancelled" else
                  gettext("The absence has ended: what was still open is back with "
                          "%(name)s.", name=absence.user), "success")
        return redirect(url_for("AbsenceView.index"))
