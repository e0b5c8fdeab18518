"""Absences in the REST API (app.services.absences).

    GET    /api/v1/absence/         the absences I may see, latest first
    POST   /api/v1/absence/         plan one: user, deputy, starts_on, ends_on, note; 201
    GET    /api/v1/absence/<id>     one, with what was handed to the deputy
    PUT    /api/v1/absence/<id>     change it (version); under way, only ends_on and note
    DELETE /api/v1/absence/<id>     cancel it; under way, it ends now and the work returns

Refusals: 400 for a body that is not a JSON object, 403 without the reassign right over
the employee and the deputy, 404 for an absence I may not see, 409 {"code":
"stale_version"}, 422 {"code": "invalid"} naming the field.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext

from app.database import db
from app.fab.api_fields import utc_iso
from app.fab.rest import answer
from app.models import ABSENCE_STATUSES, Absence
from app.services import absences, bounds
from app.services.errors import DomainError

FIELDS = ("user", "deputy", "starts_on", "ends_on", "note")
MOST = 500

ABSENCE_SCHEMA = """
                    type: object
                    properties:
                      id: {type: integer}
                      user: {type: integer}
                      user_name: {type: string}
                      deputy: {type: integer}
                      deputy_name: {type: string}
                      starts_on: {type: string, format: date}
                      ends_on: {type: string, format: date}
                      note: {type: string, nullable: true}
                      status: {type: string, enum: [planned, active, ended, cancelled]}
                      status_name: {type: string}
                      version: {type: integer}
                      changed_on: {type: string, format: date-time}"""


def represent(absence: Absence, handed: bool = False) -> dict:
    body = {"id": absence.id, "user": absence.user_id, "user_name": str(absence.user),
            "deputy": absence.deputy_id, "deputy_name": str(absence.deputy),
            "starts_on": absence.starts_on.isoformat(), "ends_on": absence.ends_on.isoformat(),
            "note": absence.note, "status": absence.status,
            "status_name": str(ABSENCE_STATUSES[absence.status]),
            "version": absence.version, "changed_on": utc_iso(absence.changed_on)}
    if handed:
        counts = absences.handed_counts([absence.id]).get(absence.id, {})
        body["handed"] = {kind: counts.get(kind, 0) for kind in absences.KINDS}
    return body


def _refusal(error: DomainError):
    db.session.rollback()
    return answer(error.status, {"code": error.code, "message": error.errors or error.message})


def _body() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _not_an_object():
    return answer(400, {"code": "bad_request",
                        "message": gettext("The request body must be a JSON object.")})


class AbsenceApi(BaseApi):
    resource_name = "absence"
    allow_browser_login = True
    openapi_spec_tag = "Absences"
    method_permission_name = {"list_absences": "get", "get_absence": "get",
                              "plan_absence": "post", "change_absence": "put",
                              "cancel_absence": "delete"}

    def _find(self, pk: int):
        key = bounds.as_key(Absence.id, pk)
        return absences.one(key) if key is not None else absences.one(0)

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def list_absences(self):
        """The absences I may see: my own, those I stand in for, and those of the employees
        whose work I may reassign; latest first.
        ---
        get:
          responses:
            200:
              description: The absences
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      result:
                        type: array
                        items:
                          type: object
            401:
              $ref: '#/components/responses/401'
        """
        rows = db.session.execute(
            absences.visible().order_by(Absence.starts_on.desc(), Absence.id.desc())
            .limit(MOST)).scalars().all()
        return answer(200, {"count": len(rows), "result": [represent(row) for row in rows]})

    @expose("/", methods=["POST"])
    @protect()
    @safe
    def plan_absence(self):
        """Plan an absence: from `starts_on` to `ends_on` the employee's open work is with
        `deputy`; one that begins today begins at once.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [user, deputy, starts_on, ends_on]
                  properties:
                    user: {type: integer}
                    deputy: {type: integer}
                    starts_on: {type: string, format: date}
                    ends_on: {type: string, format: date}
                    note: {type: string}
          responses:
            201:
              description: Planned
              content:
                application/json:
                  schema:%s
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              description: Not allowed to reassign the employee's or the deputy's work
            422:
              $ref: '#/components/responses/422'
        """
        body = _body()
        if body is None:
            return _not_an_object()
        try:
            absence = absences.plan(body.get("user"), body.get("deputy"), body.get("starts_on"),
                                    body.get("ends_on"), _text(body.get("note")))
        except DomainError as error:
            return _refusal(error)
        return answer(201, represent(absence, handed=True))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get_absence(self, pk):
        """One absence, with how many records of each kind went to the deputy.
        ---
        get:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The absence
              content:
                application/json:
                  schema:%s
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        try:
            return answer(200, represent(self._find(pk), handed=True))
        except DomainError as error:
            return _refusal(error)

    @expose("/<int:pk>", methods=["PUT"])
    @protect()
    @safe
    def change_absence(self, pk):
        """Change an absence I may plan; under way, only its last day and note.
        ---
        put:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    deputy: {type: integer}
                    starts_on: {type: string, format: date}
                    ends_on: {type: string, format: date}
                    note: {type: string}
                    version: {type: integer}
          responses:
            200:
              description: Changed
              content:
                application/json:
                  schema:%s
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              description: Not allowed to plan this absence
            404:
              $ref: '#/components/responses/404'
            409:
              description: Changed by someone else since (code stale_version)
            422:
              $ref: '#/components/responses/422'
        """
        body = _body()
        if body is None:
            return _not_an_object()
        try:
            absence = absences.change(
                self._find(pk), deputy_id=body.get("deputy"), starts_on=body.get("starts_on"),
                ends_on=body.get("ends_on"), note=_text(body.get("note")),
                seen_version=body.get("version"))
        except DomainError as error:
            return _refusal(error)
        return answer(200, represent(absence, handed=True))

    @expose("/<int:pk>", methods=["DELETE"])
    @protect()
    @safe
    def cancel_absence(self, pk):
        """Cancel a planned absence, or end one under way now: what is still open with the
        deputy returns.
        ---
        delete:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: query, name: version, schema: {type: integer}}
          responses:
            200:
              description: Cancelled or ended
              content:
                application/json:
                  schema:%s
            401:
              $ref: '#/components/responses/401'
            403:
              description: Not allowed to plan this absence
            404:
              $ref: '#/components/responses/404'
            409:
              description: Changed by someone else since (code stale_version)
            422:
              $ref: '#/components/responses/422'
        """
        try:
            absence = absences.cancel(self._find(pk), seen_version=request.args.get("version"))
        except DomainError as error:
            return _refusal(error)
        return answer(200, represent(absence, handed=True))


for _method in (AbsenceApi.plan_absence, AbsenceApi.get_absence, AbsenceApi.change_absence,
                AbsenceApi.cancel_absence):
    _method.__doc__ = _method.__doc__ % ABSENCE_SCHEMA


def _text(value) -> str | None:
    return value if isinstance(value, str) else None
