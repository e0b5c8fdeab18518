"""The history of exports and their files in the REST API.

    GET /api/v1/export/                the current user's exports, newest first (?who=all:
                                       everybody's, for those who read the settings;
                                       ?page=, ?page_size=)
    GET /api/v1/export/<id>            one export: its status, rows and, when it is the
                                       user's own and ready, `download_url`
    GET /api/v1/export/<id>/download   its file

A resource's list answers `?format=csv|xlsx` with the file; one of more rows than
CRM_EXPORT_INLINE_ROWS answers 202 with the export, written in the background, whose
`Location` is its /api/v1/export/<id>.
"""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext

from app.fab.api_fields import utc_iso
from app.fab.downloads import send_export
from app.jobs_api import _paging
from app.services import access, actor, list_exports
from app.services.errors import DomainError
from app.services.paging import page_of


def represent_export(run) -> dict:
    mine = run.user_id == actor.current_user_id()
    body = list_exports.as_json(run, f"/api/v1/export/{run.id}/download" if mine else None)
    body.update(created_at=utc_iso(run.created_at), finished_at=utc_iso(run.finished_at),
                user=run.user_id, source=run.source)
    if run.status == "failed":
        # A traceback may quote records' values: for those who may change the settings.
        body["error"] = run.error if access.can("settings", "edit") else \
            gettext("Failed; the details are for administrators.")
    return body


class ExportApi(BaseApi):
    resource_name = "export"
    allow_browser_login = True
    openapi_spec_tag = "Exports"
    method_permission_name = {"get_list": "get", "get": "get", "download": "get"}

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get_list(self):
        """The exports, newest first.
        ---
        get:
          parameters:
          - {in: query, name: who, schema: {type: string, enum: [mine, all]}}
          - {in: query, name: page, schema: {type: integer, minimum: 0, maximum: 1000000}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          responses:
            200:
              description: The exports
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
        everyone = request.args.get("who") == "all" and access.can("settings", "read")
        query = list_exports.history(everyone)
        count, rows = page_of(query, page, size)
        return self.response(200, count=count, result=[represent_export(run) for run in rows])

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get(self, pk):
        """One export: how far it got.
        ---
        get:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The export
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        try:
            return self.response(200, result=represent_export(list_exports.one(pk)))
        except DomainError:
            return self.response_404()

    @expose("/<int:pk>/download", methods=["GET"])
    @protect()
    @safe
    def download(self, pk):
        """The file of one of the user's own exports, once it is ready.
        ---
        get:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The CSV or XLSX file
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        try:
            return send_export(list_exports.one(pk))
        except DomainError:
            return self.response_404()
