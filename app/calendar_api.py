"""The calendar and the current user's calendar feed in the REST API (app.services.calendar,
app.services.calendar_feed).

    GET    /api/v1/calendar?start=…&end=…&user=…
                                    a user's items planned in [start, end) (mine by
                                    default), through the access filter: id, subject,
                                    type, status, start, end, overdue, version, client,
                                    interest; 422 {"code": "invalid"} for a bad period

    GET    /api/v1/calendar_feed/   whether it is on: enabled, created_on, fetched_at
    POST   /api/v1/calendar_feed/   turn it on, or make a new URL: 201 with its `url`
                                    (shown this once; the previous URL stops answering)
    DELETE /api/v1/calendar_feed/   revoke it: its URL answers 404 from now on; 404
                                    {"code": "feed_off"} when it was not on
"""

from __future__ import annotations

from flask import g, request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext

from app.fab.api_fields import utc_iso
from app.fab.rest import answer
from app.models import CrmUser
from app.screens.calendar_feed import feed_url
from app.services import bounds, calendar, calendar_feed
from app.services.clock import utcnow
from app.services.errors import DomainError


def _represent(feed) -> dict:
    return {"enabled": feed is not None,
            "created_on": utc_iso(feed.created_on) if feed else None,
            "fetched_at": utc_iso(feed.fetched_at) if feed else None}


class CalendarFeedApi(BaseApi):
    resource_name = "calendar_feed"
    allow_browser_login = True
    openapi_spec_tag = "Calendar"
    method_permission_name = {"get_state": "get", "turn_on": "post", "revoke": "delete"}

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_state(self):
        """Whether my calendar feed is on.
        ---
        get:
          responses:
            200:
              description: The feed's state
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      enabled: {type: boolean}
                      created_on: {type: string, format: date-time, nullable: true}
                      fetched_at: {type: string, format: date-time, nullable: true}
            401:
              $ref: '#/components/responses/401'
        """
        return answer(200, _represent(calendar_feed.state(g.user.id)))

    @expose("/", methods=["POST"])
    @protect()
    @safe
    def turn_on(self):
        """Turn my calendar feed on, or give it a new URL (the old one stops answering).
        ---
        post:
          responses:
            201:
              description: The feed's URL, shown this once
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      url: {type: string}
                      enabled: {type: boolean}
                      created_on: {type: string, format: date-time}
                      fetched_at: {type: string, format: date-time, nullable: true}
            401:
              $ref: '#/components/responses/401'
        """
        url = feed_url(calendar_feed.turn_on(g.user.id))
        return answer(201, {"url": url, **_represent(calendar_feed.state(g.user.id))})

    @expose("/", methods=["DELETE"])
    @protect()
    @safe
    def revoke(self):
        """Revoke my calendar feed: its URL answers 404 from now on.
        ---
        delete:
          responses:
            200:
              description: Revoked
            401:
              $ref: '#/components/responses/401'
            404:
              description: The feed was not on
        """
        if not calendar_feed.revoke(g.user.id):
            return answer(404, {"code": "feed_off",
                                "message": gettext("Your calendar feed is not on.")})
        return answer(200, {"message": gettext(
            "The calendar feed is turned off: its URL no longer answers."), "enabled": False})


def represent_item(item: calendar.Item, now) -> dict:
    interaction = item.interaction
    return {"id": interaction.id, "subject": interaction.subject, "type": item.type_code,
            "type_name": item.type_name, "status": interaction.status,
            "start": utc_iso(item.start), "end": utc_iso(item.end),
            "overdue": calendar.is_overdue(item, now), "version": interaction.version,
            "client_id": interaction.client_id, "client": item.client,
            "interest_id": interaction.interest_id, "interest": item.interest}


class CalendarApi(BaseApi):
    resource_name = "calendar"
    allow_browser_login = True
    openapi_spec_tag = "Calendar"
    method_permission_name = {"get_items": "get"}

    @expose("", methods=["GET"])
    @protect()
    @safe
    def get_items(self):
        """A user's interactions and tasks planned in a period (mine by default), as the
        access filter lets me read them.
        ---
        get:
          parameters:
          - {in: query, name: start, required: true, schema: {type: string},
             description: "a date (the company's midnight) or an ISO date-time"}
          - {in: query, name: end, required: true, schema: {type: string},
             description: "the first moment not wanted (at most 62 days after start)"}
          - {in: query, name: user, schema: {type: integer}, description: "default: me"}
          responses:
            200:
              description: The items in time order
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      truncated: {type: boolean}
                      result: {type: array, items: {type: object}}
            401:
              $ref: '#/components/responses/401'
            422:
              $ref: '#/components/responses/422'
        """
        user = bounds.as_key(CrmUser.id, request.args["user"]) if "user" in request.args \
            else g.user.id
        if user is None:
            return answer(422, {"code": "invalid", "message": {
                "user": [gettext("A user's id is expected.")]}})
        try:
            start = calendar.parse_moment(request.args.get("start", ""), "start")
            end = calendar.parse_moment(request.args.get("end", ""), "end")
            items, truncated = calendar.period_items(start, end, user)
        except DomainError as error:
            return answer(error.status, {"code": error.code,
                                         "message": error.errors or error.message})
        now = utcnow()
        return answer(200, {"count": len(items), "truncated": truncated,
                            "result": [represent_item(item, now) for item in items]})
