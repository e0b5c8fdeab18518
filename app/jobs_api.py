"""The scheduled jobs and the user's notifications in the REST API.

    GET  /api/v1/job/                 every job: id, schedule, next_run_at, last run
    GET  /api/v1/job/<id>
    POST /api/v1/job/<id>/run         run it now (the settings' right to edit); 409 while
                                      it runs elsewhere
    GET  /api/v1/notification/        the current user's notifications, newest first
                                      (?unread=1, ?kind=, ?page=, ?page_size=)
    POST /api/v1/notification/<id>/read
    POST /api/v1/notification/read_all

    GET  /api/v1/job_run/             the runs, newest first (?job=, ?status=, ?page=,
                                      ?page_size=)
"""

from __future__ import annotations

from typing import Optional

from flask import g, request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext

from app.fab.api_fields import utc_iso
from app.fab.rest import answer
from app.jobs import BY_ID, runner
from app.models import JobRun, Notification, utcnow
from app.services import access, mail, notifications
from app.services.errors import DomainError
from app.services.paging import page_of

MAX_PAGE_SIZE = 100
MAX_PAGE = 10**6


def _paging() -> tuple[Optional[int], int]:
    """(page from 0, page size) of a list request; page None when either is out of range."""
    page = request.args.get("page", 0, type=int)
    size = request.args.get("page_size", 25, type=int)
    return (page if 0 <= page <= MAX_PAGE and 1 <= size <= MAX_PAGE_SIZE else None), size


def represent_run(run: Optional[JobRun]) -> Optional[dict]:
    if run is None:
        return None
    return {"id": run.id, "job": run.job_id, "slot": utc_iso(run.slot), "trigger": run.trigger,
            "status": run.status, "started_at": utc_iso(run.started_at),
            "finished_at": utc_iso(run.finished_at), "rows": run.rows,
            # A traceback may quote records' values: for those who may change the settings.
            "error": run.error if access.can("settings", "edit") else
            (gettext("Failed; the details are for administrators.") if run.error else None)}


def _represent_state(state: dict) -> dict:
    job = state["job"]
    return {"id": job.id, "label": str(job.label), "description": str(job.description),
            "schedule": state["schedule"].text, "next_run_at": utc_iso(state["next_run_at"]),
            "late": state["late"], "last_run": represent_run(state["last"]),
            "last_failure": represent_run(state["failure"])}


_JOB_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "string"}, "label": {"type": "string"}, "description": {"type": "string"},
    "schedule": {"type": "string"},
    "next_run_at": {"type": "string", "format": "date-time", "nullable": True},
    "late": {"type": "boolean"},
    "last_run": {"type": "object", "nullable": True},
    "last_failure": {"type": "object", "nullable": True}}}


class JobApi(BaseApi):
    resource_name = "job"
    allow_browser_login = True
    openapi_spec_tag = "Scheduled jobs"
    method_permission_name = {"get_list": "get", "get": "get", "run": "put"}

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """The scheduled jobs with their last run and next time.
        ---
        get:
          responses:
            200:
              description: The jobs
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      result: {type: array, items: {type: object}}
            401:
              $ref: '#/components/responses/401'
        """
        states = [_represent_state(state) for state in runner.overview(utcnow())]
        return self.response(200, count=len(states), result=states)

    @expose("/<job_id>", methods=["GET"])
    @protect()
    @safe
    def get(self, job_id):
        """One scheduled job.
        ---
        get:
          parameters:
          - {in: path, name: job_id, required: true, schema: {type: string}}
          responses:
            200:
              description: The job
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: string}
                      result: {type: object}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        if job_id not in BY_ID:
            return self.response_404()
        state = next(s for s in runner.overview(utcnow()) if s["job"].id == job_id)
        return self.response(200, id=job_id, result=_represent_state(state))

    @expose("/<job_id>/run", methods=["POST"])
    @protect()
    @safe
    def run(self, job_id):
        """Run a job now; answers its run when it has finished.
        ---
        post:
          parameters:
          - {in: path, name: job_id, required: true, schema: {type: string}}
          responses:
            200:
              description: The run, finished (its status says whether it failed)
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result: {type: object}
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: The job is running elsewhere now
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      message: {type: string}
                      code: {type: string}
        """
        job = BY_ID.get(job_id)
        if job is None:
            return self.response_404()
        record = runner.run(job, utcnow(), "manual", requested_by=g.user.id)
        if record is None:
            return answer(409, {"code": "job_running", "message": gettext(
                "%(job)s is running now; try again when it has finished.", job=job.label)})
        return self.response(200, result=represent_run(record))


class JobRunApi(BaseApi):
    resource_name = "job_run"
    allow_browser_login = True
    openapi_spec_tag = "Scheduled jobs"
    method_permission_name = {"get_list": "get"}

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """The runs of the scheduled jobs, newest first.
        ---
        get:
          parameters:
          - {in: query, name: job, schema: {type: string}}
          - {in: query, name: status, schema: {type: string,
             enum: [running, succeeded, failed, interrupted]}}
          - {in: query, name: page, schema: {type: integer, minimum: 0, maximum: 1000000}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          responses:
            200:
              description: The runs
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      result: {type: array, items: {type: object}}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        page, size = _paging()
        if page is None:
            return self.response_400(message=gettext(
                "page must be from 0 to 1000000, page_size from 1 to 100."))
        count, found = runner.runs(request.args.get("job"), request.args.get("status"),
                                   page, size)
        return self.response(200, count=count, result=[represent_run(run) for run in found])


def represent_notification(note: Notification) -> dict:
    return {"id": note.id, "kind": note.kind, "entity": note.entity,
            "record_id": note.record_id, "day": note.day.isoformat(),
            "title": notifications.title(note), "details": notifications.details(note),
            "url": mail.record_path(note), "created_at": utc_iso(note.created_at),
            "read_at": utc_iso(note.read_at), "payload": note.payload or {}}


class NotificationApi(BaseApi):
    resource_name = "notification"
    allow_browser_login = True
    openapi_spec_tag = "Notifications"
    method_permission_name = {"get_list": "get", "read": "put", "read_all": "put"}

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """The current user's notifications, newest first.
        ---
        get:
          parameters:
          - {in: query, name: unread, schema: {type: integer, enum: [0, 1]},
             description: "1: only the unread ones"}
          - {in: query, name: kind, schema: {type: string}}
          - {in: query, name: page, schema: {type: integer, minimum: 0, maximum: 1000000}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          responses:
            200:
              description: The notifications
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      unread: {type: integer}
                      result: {type: array, items: {type: object}}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        page, size = _paging()
        kind = request.args.get("kind") or None
        if page is None or (kind is not None and kind not in notifications.BY_CODE):
            return self.response_400(message=gettext(
                "page must be from 0 to 1000000, page_size from 1 to 100, kind one of "
                "%(kinds)s.",
                kinds=", ".join(notifications.BY_CODE)))
        query = notifications.mine(unread_only=request.args.get("unread") == "1", kind=kind)
        count, rows = page_of(query, page, size)
        return self.response(200, count=count, unread=notifications.unread_total(g.user.id),
                             result=[represent_notification(note) for note in rows])

    @expose("/<int:pk>/read", methods=["POST"])
    @protect()
    @safe
    def read(self, pk):
        """Mark a notification read.
        ---
        post:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The notification, read
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result: {type: object}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        if not 0 < pk < 2**63:
            return self.response_404()
        try:
            note = notifications.mark_read(pk)
        except DomainError:
            return self.response_404()
        return self.response(200, result=represent_notification(note))

    @expose("/read_all", methods=["POST"])
    @protect()
    @safe
    def read_all(self):
        """Mark every notification of the current user read.
        ---
        post:
          responses:
            200:
              description: How many were marked
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      marked: {type: integer}
            401:
              $ref: '#/components/responses/401'
        """
        return self.response(200, marked=notifications.mark_all_read())
