"""Handing work over in the REST API (app.services.handover).

    POST /api/v1/handover    {"from_user": 7, "to_user": 9,
                              "items": ["interactions", "interests", "inquiries", "clients"]
                                       or ["all"],
                              "ids": {"interests": [1, 2]} (optional; a plain list when one
                                     kind is chosen)}
                             200 with what was moved: counts by kind and the ids

Refusals: 400 for a body that is not a JSON object, 403 without the reassign right over
both employees, 422 {"code": "invalid"} naming the field (unknown or equal employees, an
inactive receiver, an unknown kind), 422 {"code": "not_theirs"} listing the ids that are
not the employee's open work, 422 {"code": "nothing_to_hand_over"}.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext

from app.database import db
from app.fab.rest import answer
from app.services import handover
from app.services.errors import DomainError


def represent(done: handover.Handover) -> dict:
    return {"from_user": done.from_user.id, "from_user_name": str(done.from_user),
            "to_user": done.to_user.id, "to_user_name": str(done.to_user),
            "moved": done.counts, "total": done.total,
            "ids": {kind: sorted(ids) for kind, ids in done.moved.items()}}


class HandoverApi(BaseApi):
    resource_name = "handover"
    allow_browser_login = True
    openapi_spec_tag = "Handover"
    method_permission_name = {"hand_over": "post"}

    @expose("", methods=["POST"])
    @protect()
    @safe
    def hand_over(self):
        """Hand one employee's open work to another, in one transaction: planned
        interactions and tasks, open interests (with their planned interactions),
        unprocessed inquiries and, when chosen, clients (with their contacts).
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [from_user, to_user, items]
                  properties:
                    from_user: {type: integer, description: The employee whose work goes}
                    to_user: {type: integer, description: The active employee who takes it}
                    items:
                      type: array
                      items:
                        type: string
                        enum: [interactions, interests, inquiries, clients, all]
                    ids:
                      description: Only these records of a kind, by kind (or a plain list
                        of ids when one kind is chosen)
                      oneOf:
                      - type: array
                        items: {type: integer}
                      - type: object
                        additionalProperties:
                          type: array
                          items: {type: integer}
          responses:
            200:
              description: What was moved, by kind
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      from_user: {type: integer}
                      from_user_name: {type: string}
                      to_user: {type: integer}
                      to_user_name: {type: string}
                      total: {type: integer}
                      moved:
                        type: object
                        properties:
                          interactions: {type: integer}
                          interests: {type: integer}
                          inquiries: {type: integer}
                          clients: {type: integer}
                          contacts: {type: integer}
                      ids:
                        type: object
                        additionalProperties:
                          type: array
                          items: {type: integer}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            422:
              $ref: '#/components/responses/422'
        """
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return answer(400, {"code": "bad_request",
                                "message": gettext("The request body must be a JSON object.")})
        try:
            done = handover.hand_over(body.get("from_user"), body.get("to_user"),
                                      body.get("items"), body.get("ids"))
        except DomainError as error:
            db.session.rollback()
            return answer(error.status, {"code": error.code,
                                         "message": error.errors or error.message})
        return answer(200, represent(done))
