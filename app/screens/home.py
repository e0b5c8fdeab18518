"""The start page: what needs my attention today."""

from __future__ import annotations

from flask import g, url_for
from flask_appbuilder import IndexView, expose

from app.database import db
from app.services import worklists

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
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    tiles=tiles)
