"""The bell and the reminders' page: a user's notifications (app.services.notifications),
newest first, each opening its record and marked read as it is opened; "mark all read";
and the user's own choice of reminders. Every user has these pages for themselves
(app.services.rights: PERSONAL_PERMISSIONS); nobody sees another's reminders."""

from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app.models import NOTIFICATION_DELIVERIES
from app.services import mail, notifications
from app.services.clock import format_local
from app.services.errors import DomainError
from app.services.paging import page_of

PAGE_SIZE = 30
MAX_PAGE = 10**6

ICONS = {"overdue": "fa-clock-o", "overdue_team": "fa-users", "digest": "fa-sun-o",
         "no_plan": "fa-exclamation-triangle", "birthday": "fa-birthday-cake",
         "stale_inquiry": "fa-inbox", "export": "fa-download", "absence": "fa-plane",
         "handover": "fa-exchange", "given_done": "fa-check", "given_overdue": "fa-clock-o"}


def _item(note) -> dict:
    return {"id": note.id, "kind": note.kind, "icon": ICONS.get(note.kind, "fa-bell"),
            "title": notifications.title(note), "details": notifications.details(note),
            "when": format_local(note.created_at), "unread": note.read_at is None,
            "kind_label": notifications.BY_CODE[note.kind].label
            if note.kind in notifications.BY_CODE else note.kind}


class NotificationView(BaseView):
    route_base = "/notifications"
    default_view = "index"
    method_permission_name = {"index": "list", "count": "list", "open": "edit",
                              "read": "edit", "read_all": "edit", "settings": "edit"}

    @expose("/")
    @has_access
    def index(self):
        unread_only = request.args.get("show") != "all"
        kind = request.args.get("kind") or None
        if kind not in notifications.BY_CODE:
            kind = None
        page = min(max(request.args.get("page", 0, type=int), 0), MAX_PAGE)
        query = notifications.mine(unread_only=unread_only, kind=kind)
        total, rows = page_of(query, page, PAGE_SIZE)
        return self.render_template(
            "crm/notifications.html", title=gettext("Notifications"),
            items=[_item(note) for note in rows], total=total, page=page,
            pages=(total + PAGE_SIZE - 1) // PAGE_SIZE, unread_only=unread_only, kind=kind,
            kinds=notifications.KINDS, unread=unread_now())

    @expose("/count")
    @has_access
    def count(self):
        """{"unread": n}: the bell refreshes itself with this."""
        return jsonify(unread=notifications.unread_count(g.user.id))

    @expose("/<int:pk>/open", methods=["POST"])
    @has_access
    def open(self, pk):
        try:
            note = notifications.mark_read(pk)
        except DomainError:
            abort(404)
        return redirect(mail.record_path(note))

    @expose("/<int:pk>/read", methods=["POST"])
    @has_access
    def read(self, pk):
        try:
            notifications.mark_read(pk)
        except DomainError:
            abort(404)
        back = request.form.get("back", "")
        # Back to the same page of the list, never to another site.
        if not back.startswith("/notifications/") or back.startswith("//"):
            back = url_for("NotificationView.index")
        return redirect(back)

    @expose("/read_all", methods=["POST"])
    @has_access
    def read_all(self):
        done = notifications.mark_all_read()
        if done:
            flash(gettext("All notifications are marked read."), "success")
        return redirect(url_for("NotificationView.index"))

    @expose("/settings", methods=["GET", "POST"])
    @has_access
    def settings(self):
        if request.method == "POST":
            disabled = [kind.code for kind in notifications.KINDS
                        if request.form.get(f"kind_{kind.code}") != "on"]
            try:
                notifications.change_preferences(disabled, request.form.get("delivery", ""),
                                                 request.form.get("language") or None)
            except DomainError as error:
                flash(error.message, "danger")
            else:
                flash(gettext("Your choice of reminders is saved."), "success")
                return redirect(url_for("NotificationView.settings"))
        return self.render_template(
            "crm/notification_settings.html", title=gettext("My reminders"),
            kinds=notifications.KINDS, chosen=notifications.preferences(),
            deliveries=NOTIFICATION_DELIVERIES, mail_configured=mail.configured(),
            email=g.user.email)


def unread_now() -> int:
    """The current user's unread notifications: counted once per request (one indexed
    statement), however many parts of the page show the number."""
    if "crm_unread" not in g:
        user = getattr(g, "user", None)
        g.crm_unread = notifications.unread_count(user.id) \
            if user is not None and getattr(user, "is_authenticated", False) else 0
    return g.crm_unread


def install(app) -> None:
    """Pages reach the bell's number as `unread_notifications()`."""
    app.context_processor(lambda: {"unread_notifications": unread_now})
