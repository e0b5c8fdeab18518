"""The start page, the manager's desk (app.services.desk): the four counters of what needs
my attention, today's and overdue interactions and tasks with "Done" in place, new
inquiries to process, my open interests by stage, my unread reminders; and for a head of
department each manager's figures."""

from __future__ import annotations

from flask import g, url_for
from flask_appbuilder import IndexView, expose

from app.database import db
from app.screens.my_tasks import next_morning
from app.screens.notifications import ICONS
from app.services import access, desk, my_tasks, notifications, worklists
from app.services.clock import format_local, to_local_many, utcnow

# The list screen behind each tile of the start page.
TILE_VIEWS = {"overdue": "InteractionView", "today": "InteractionView",
              "my_open_interests": "InterestView", "new_inquiries": "InquiryView"}


class HomeView(IndexView):
    route_base = ""
    index_template = "crm/index.html"

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                        tiles=None)
        figures = worklists.counts(db.session, user.id)
        tiles = [(name, figures[name], worklists.WORKLISTS[name].label,
                  url_for(f"{TILE_VIEWS[name]}.list", worklist=name))
                 for name in ("overdue", "today", "my_open_interests", "new_inquiries")]
        sm = self.appbuilder.sm
        board = desk.desk(user.id) if access.can("interaction", "read") else None
        reminders = [] if board is None else [
            {"icon": ICONS.get(note.kind, "fa-bell"), "title": notifications.title(note),
             "details": notifications.details(note), "when": format_local(note.created_at)}
            for note in board.reminders]
        return self.render_template(
            self.index_template, appbuilder=self.appbuilder, tiles=tiles, desk=board,
            page=board, local=to_local_many(), now=utcnow(), me=user.id,
            types=my_tasks.interaction_types() if board is not None else [],
            next_morning=next_morning(), filters=my_tasks.Filters(), failed=None,
            failed_form={}, errors={},
            message="", reminders=reminders,
            team_total=desk.team_total(board.team) if board and board.team else None,
            can_complete=sm.has_access("can_edit", "MyTasksView"),
            can_process=sm.has_access("can_edit", "InquiryView"))
