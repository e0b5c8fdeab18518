"""Sales → Hand over work (app.services.handover): choose whose work, see how much of each
kind they have, choose what goes (clients only when asked) and to whom, confirm; the page
says what was moved. For those with the reassign right; the rules are the service's."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app.database import db
from app.models import CrmUser
from app.services import bounds, handover
from app.services.errors import DomainError


class HandoverView(BaseView):
    route_base = "/handover"
    default_view = "index"
    method_permission_name = {"index": "list", "hand": "edit"}

    def _page(self, from_id=None, chosen=None, to_id=None, errors=None, status=200):
        employees = handover.employees()
        by_id = {person.id: person for person in employees}
        giver = by_id.get(from_id)
        counts = handover.counts(giver.id) if giver is not None else {}
        return self.render_template(
            "crm/handover.html", title=gettext("Hand over work"), employees=employees,
            receivers=[person for person in employees
                       if person.active and person.id != from_id],
            giver=giver, counts=counts,
            chosen=chosen if chosen is not None else set(handover.WORK),
            to_id=to_id, errors=errors or {}, labels=_labels()), status

    @expose("/")
    @has_access
    def index(self):
        return self._page(bounds.as_key(CrmUser.id, request.args.get("from_user")))

    @expose("/", methods=["POST"])
    @has_access
    def hand(self):
        from_id = bounds.as_key(CrmUser.id, request.form.get("from_user"))
        to_id = bounds.as_key(CrmUser.id, request.form.get("to_user"))
        chosen = {kind for kind in request.form.getlist("items") if kind in handover.KINDS}
        try:
            done = handover.hand_over(request.form.get("from_user"),
                                      request.form.get("to_user"), sorted(chosen))
        except DomainError as error:
            db.session.rollback()
            messages = [message for field in error.errors.values() for message in field] \
                or [error.message]
            for message in dict.fromkeys(messages):
                flash(message, "danger")
            return self._page(from_id, chosen, to_id, error.errors, status=422)
        flash(gettext("Handed over to %(name)s: %(what)s.", name=done.to_user,
                      what=handover.work_text(done.counts)), "success")
        return redirect(url_for("HandoverView.index", from_user=done.from_user.id))


def _labels() -> list[tuple[str, str, str]]:
    """(kind, what it is called, what goes along) in the page's order."""
    return [
        ("interactions", gettext("Planned interactions and tasks"), ""),
        ("interests", gettext("Open interests"),
         gettext("Their planned interactions go with them.")),
        ("inquiries", gettext("Inquiries to be processed"), ""),
        ("clients", gettext("Clients"),
         gettext("Only when the clients themselves change hands; their contacts that "
                 "were this employee's go with them.")),
    ]
