""""My tasks" (app.services.my_tasks) as a page: my planned interactions and tasks by
group, each completed in place with its result and time spent (and the next plan when it is
the last of an open interest, R1: app.services.sales.complete, as the API does); a new task
for myself or a colleague; the tasks I gave and their state.

The forms work without JavaScript: each item's "Done" opens its form in place (a
<details> element). A refused form comes back open, with what was typed and the message."""

from __future__ import annotations

import datetime as dt

from flask import flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app.database import db
from app.models import Interaction
from app.services import access, my_tasks, sales
from app.services.clock import (
    UnreadableTime,
    format_typed,
    local_day_bounds_utc,
    local_today,
    parse_typed,
    to_local,
    to_local_many,
    to_utc,
    utcnow,
)
from app.services.errors import DomainError, RecordInvalid
from app.services.plans import NEXT_PLAN_REQUIRED
from app.services.sales import Plan


def _when(text: str, field: str, errors: dict) -> object:
    """A local date and time as typed -> naive UTC; unreadable, an error of `field`."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return to_utc(parse_typed(text))
    except UnreadableTime:
        errors[field] = [gettext("Enter a date and time, e.g. 03.12.2026 14:30.")]
        return None


def next_morning() -> str:
    """Tomorrow at ten, as a person types it: what a next plan's time starts with."""
    return format_typed((to_local(utcnow()) + dt.timedelta(days=1))
                        .replace(hour=10, minute=0, second=0, microsecond=0))


def _messages(error: DomainError) -> dict:
    return {key: [str(message) for message in messages]
            for key, messages in (error.errors or {}).items()}


def _back() -> str:
    """The page again, with its filters and nothing else of the request."""
    return url_for("MyTasksView.index", **my_tasks.filters_from(request.args).as_args())


class MyTasksView(BaseView):
    """Whoever may read interactions opens it (app.entities.crm: a page of the
    interaction); completing one and giving a task need the right to change and add them."""

    route_base = "/my_tasks"
    default_view = "index"
    method_permission_name = {"index": "list", "counts": "list", "complete": "edit",
                              "give": "add"}

    def _page(self, *, failed: int | None = None, failed_form: dict | None = None,
              errors: dict | None = None, message: str = "", task_form: dict | None = None,
              task_errors: dict | None = None, status: int = 200):
        filters = my_tasks.filters_from(request.args)
        page = my_tasks.page(g.user.id, filters)
        listed = {item.id for items in page.groups.values() for item in items}
        if failed is not None and message and failed not in listed:
            # Its form is not on the page (done meanwhile, filtered out): say it above.
            flash(message, "danger")
        now = utcnow()
        local = to_local_many()
        _start, end_of_today = local_day_bounds_utc(local_today())
        given = my_tasks.given_by_me(g.user.id)
        return self.render_template(
            "crm/my_tasks.html", title=gettext("My tasks"), page=page,
            groups=my_tasks.GROUPS, filters=filters, local=local, now=now,
            end_of_today=end_of_today, given=given, state_of=my_tasks.state_of,
            types=my_tasks.interaction_types(), colleagues=my_tasks.colleagues(),
            client=my_tasks.client_named(filters.client_id),
            interest=my_tasks.interest_named(filters.interest_id),
            failed=failed, failed_form=failed_form or {}, errors=errors or {},
            message=message, task_form=task_form or {}, task_errors=task_errors or {},
            next_morning=next_morning(), me=g.user.id,
            can_give=access.can("interaction", "add")), status

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/counts")
    @has_access
    def counts(self):
        """How many of my items are overdue and due today (the menu's badge)."""
        return jsonify(**my_tasks.counts(db.session, g.user.id),
                       labels={"overdue": gettext("Overdue"), "today": gettext("Due today")})

    @expose("/complete/<int:pk>", methods=["POST"])
    @has_access
    def complete(self, pk):
        item = db.session.execute(access.readable(Interaction, action="edit")
                                  .where(Interaction.id == pk)).scalar()
        form = request.form
        if item is None:
            flash(gettext("The interaction is not found, or you may not change it."), "danger")
            return redirect(_back())
        errors: dict = {}
        plan = None
        subject = (form.get("next_subject") or "").strip()
        when = _when(form.get("next_planned_at"), "next.planned_at", errors)
        if subject or when or form.get("next_planned_at"):
            plan = Plan(subject=subject, planned_at=when,
                        type_id=my_tasks._int(form.get("next_type")))
        try:
            if errors:
                raise RecordInvalid(errors)
            sales.complete(item, result=form.get("result"), plan=plan,
                           spent_minutes=form.get("spent_minutes"),
                           seen_version=form.get("version") or None)
        except DomainError as error:
            db.session.rollback()
            return self._page(failed=pk, failed_form=form.to_dict(),
                              errors={**_messages(error), **errors},
                              message=error.message if error.code != NEXT_PLAN_REQUIRED
                              else gettext("This is the last plan of its interest: plan "
                                           "the next interaction below."),
                              status=422)
        flash(gettext("Done: %(subject)s", subject=item.subject), "success")
        if form.get("back") == "desk":
            return redirect(url_for("HomeView.index"))
        return redirect(_back())

    @expose("/give", methods=["POST"])
    @has_access
    def give(self):
        form = request.form
        errors: dict = {}
        when = _when(form.get("planned_at"), "planned_at", errors)
        try:
            if errors:
                raise RecordInvalid(errors)
            task = my_tasks.give_task(
                subject=form.get("subject"), planned_at=when,
                description=form.get("description"), responsible_id=form.get("responsible"),
                planned_minutes=form.get("planned_minutes"))
        except DomainError as error:
            db.session.rollback()
            return self._page(task_form=form.to_dict(),
                              task_errors={**_messages(error), **errors,
                                           "_": [error.message]}, status=422)
        if task.given_by_id:
            flash(gettext("The task is given to %(name)s.", name=str(task.responsible)),
                  "success")
        else:
            flash(gettext("The task is planned."), "success")
        return redirect(_back())
