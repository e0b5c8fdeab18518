"""The user's calendar feed (app.services.calendar_feed): the page that turns it on, shows
its URL once, makes a new one or turns it off; and the feed itself, which a calendar
application fetches without a login, by the token in its URL."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app.services import calendar_feed
from app.services.clock import format_local


def feed_url(token: str) -> str:
    return url_for("CalendarFeedView.feed", token=token, _external=True)


class CalendarFeedView(BaseView):
    route_base = "/calendar_feed"
    default_view = "index"
    method_permission_name = {"index": "list", "turn_on": "edit", "revoke": "edit"}

    def _page(self, url=None):
        feed = calendar_feed.state(g.user.id)
        return self.render_template(
            "crm/calendar_feed.html", title=gettext("My calendar feed"), url=url,
            feed=feed, created=format_local(feed.created_on) if feed else None,
            fetched=format_local(feed.fetched_at) if feed and feed.fetched_at else None)

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    @expose("/on", methods=["POST"])
    @has_access
    def turn_on(self):
        # The URL is shown on this answer alone: only its hash is kept.
        return self._page(url=feed_url(calendar_feed.turn_on(g.user.id)))

    @expose("/off", methods=["POST"])
    @has_access
    def revoke(self):
        if calendar_feed.revoke(g.user.id):
            flash(gettext("The calendar feed is turned off: its URL no longer answers."),
                  "info")
        return redirect(url_for("CalendarFeedView.index"))

    @expose("/<token>.ics")
    def feed(self, token):
        """The feed, by its token alone: no login, and nothing but the feed."""
        user = calendar_feed.owner_of(token)
        if user is None:
            abort(404)
        body = calendar_feed.calendar(user, lambda pk: url_for(
            "InteractionView.show", pk=pk, _external=True))
        calendar_feed.mark_fetched(user.id)
        response = Response(body, mimetype="text/calendar")
        response.headers["Content-Disposition"] = 'inline; filename="voronka.ics"'
        response.headers["Cache-Control"] = "private, no-store"
        return response
