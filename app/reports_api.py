"""The reports in the REST API (app.services.reports).

    GET /api/v1/report/                    the reports there are
    GET /api/v1/report/<name>              one report's grid as JSON: columns, rows, totals,
                                           when its data was computed
                                           (?start=&end=&pipeline=&department=&manager=&view=)
    GET /api/v1/report/<name>?format=csv   the same grid as a file (csv or xlsx), written to
                                           the history of exports
    GET /api/v1/report/<name>/drill        the records behind one cell (?stage=, ?cell=,
                                           ?manager=, ?line_department=, ?day=), with format
                                           too
    POST /api/v1/report/<name>/recompute   "recompute now" (the report edit right)
    POST /api/v1/report/pricelist/send     the price list to a client's e-mail as XLSX
                                           ({"email", "group", "product": [ids]})
    GET, POST /api/v1/report/subscription/ the user's subscriptions; subscribe
                                           ({"report", "frequency", "recipients", "filters"})
    POST /api/v1/report/subscription/<id>/send, DELETE /api/v1/report/subscription/<id>

A bad filter answers 422 with the message per argument, a report the user may not read
403, an unknown report 404.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext

from app.database import db
from app.fab.api_fields import utc_iso
from app.fab.downloads import send_export
from app.fab.rest import answer
from app.jobs_api import _paging
from app.services import access, list_exports, report_subscriptions, reports
from app.services.clock import to_local
from app.services.errors import DomainError


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return utc_iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _refusal(error: DomainError):
    body = {"message": error.errors or error.message, "code": error.code}
    return answer(error.status, body)


def _columns(columns) -> list[dict]:
    return [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in columns]


def _file(name: str, title: str, fmt: str, columns, rows):
    values = [[to_local(v) if column.kind == "datetime" else v
               for v, column in zip(row, columns, strict=True)] for row in rows]
    run = list_exports.write_rows_now(f"report:{name}", title, request.args.to_dict(), fmt,
                                      columns, values)
    return send_export(run)


def represent_delivery(delivery) -> dict:
    return {"id": delivery.id, "sent_at": utc_iso(delivery.sent_at), "trigger": delivery.trigger,
            "status": delivery.status, "recipients": delivery.recipients,
            "rows": delivery.rows, "error": delivery.error}


def represent_subscription(subscription) -> dict:
    return {"id": subscription.id, "report": subscription.report,
            "filters": subscription.arguments or {}, "frequency": subscription.frequency,
            "recipients": subscription.recipients, "active": subscription.active,
            "next_at": utc_iso(subscription.next_at),
            "last_sent_at": utc_iso(subscription.last_sent_at),
            "last_status": subscription.last_status, "last_error": subscription.last_error,
            "deliveries": [represent_delivery(d)
                           for d in report_subscriptions.deliveries(subscription)]}


class ReportApi(BaseApi):
    resource_name = "report"
    allow_browser_login = True
    openapi_spec_tag = "Reports"
    method_permission_name = {"names": "get", "get": "get", "drill": "get",
                              "recompute": "put", "send": "export",
                              "subscriptions": "get", "subscribe": "get",
                              "subscription_send": "get", "subscription_delete": "get"}

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def names(self):
        """The reports.
        ---
        get:
          responses:
            200:
              description: The names and titles of the reports
            401:
              $ref: '#/components/responses/401'
        """
        return self.response(200, result=[{"name": name, "title": str(title)}
                                          for name, title in reports.REPORTS.items()])

    @expose("/<name>", methods=["GET"])
    @protect()
    @safe
    def get(self, name):
        """One report's grid, or its file with ?format=csv|xlsx.
        ---
        get:
          parameters:
          - {in: path, name: name, required: true, schema: {type: string, enum: [funnel, motivator, control, quality, abcxyz, pricelist, time_spent]}}
          - {in: query, name: start, schema: {type: string, format: date}}
          - {in: query, name: end, schema: {type: string, format: date}}
          - {in: query, name: pipeline, schema: {type: integer}}
          - {in: query, name: department, schema: {type: integer}}
          - {in: query, name: manager, schema: {type: integer}}
          - {in: query, name: group, schema: {type: integer}}
          - {in: query, name: product, schema: {type: array, items: {type: integer}, maxItems: 500}, style: form, explode: true}
          - {in: query, name: view, schema: {type: string, enum: [stages, managers, departments, clients, touches, interactions, warm, interests, clients_interests]}}
          - {in: query, name: format, schema: {type: string, enum: [csv, xlsx]}}
          responses:
            200:
              description: The grid (JSON), or its CSV or XLSX file
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            422:
              $ref: '#/components/responses/422'
        """
        if name not in reports.REPORTS:
            return self.response_404()
        fmt = request.args.get("format")
        if fmt is not None and not access.can("report", "export"):
            return self.response_403()
        try:
            grid = reports.report(name, reports.parse_filters(request.args, name))
            if fmt is not None:
                return _file(name, grid.title, fmt, grid.columns, grid.values())
        except DomainError as error:
            return _refusal(error)
        keys = [column.key for column in grid.columns]
        drills = {}
        for (index, key), arguments in grid.drills.items():
            drills.setdefault(index, {})[key] = arguments
        return self.response(
            200, name=name, title=grid.title, filters=grid.filters.as_args(),
            computed_at=utc_iso(grid.computed_at), columns=_columns(grid.columns),
            rows=[{**{key: _plain(value) for key, value in row.items()},
                   "drill": drills.get(index, {}),
                   "below_norm": sorted(key for (i, key) in grid.marked if i == index)}
                  for index, row in enumerate(grid.rows)],
            totals=None if grid.totals is None else
            {key: _plain(grid.totals.get(key)) for key in keys},
            totals_drill=drills.get("totals", {}), checks=grid.checks, chart=grid.chart)

    @expose("/<name>/drill", methods=["GET"])
    @protect()
    @safe
    def drill(self, name):
        """The records behind one cell of a report.
        ---
        get:
          parameters:
          - {in: path, name: name, required: true, schema: {type: string, enum: [funnel, motivator, control, quality, abcxyz, pricelist, time_spent]}}
          - {in: query, name: stage, schema: {type: integer}}
          - {in: query, name: cell, schema: {type: string, enum: [started, won]}}
          - {in: query, name: line_department, schema: {type: integer}}
          - {in: query, name: day, schema: {type: string, format: date}}
          - {in: query, name: abc, schema: {type: string, enum: [A, B, C]}}
          - {in: query, name: xyz, schema: {type: string, enum: [X, Y, Z]}}
          - {in: query, name: check, schema: {type: string, enum: [red, yellow, green, no_interest, warm, overdue, portrait, contacts, duplicate]}}
          - {in: query, name: format, schema: {type: string, enum: [csv, xlsx]}}
          - {in: query, name: page, schema: {type: integer, minimum: 0, maximum: 1000000}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 100}}
          responses:
            200:
              description: The records (JSON, a page of them), or their CSV or XLSX file
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
            422:
              $ref: '#/components/responses/422'
        """
        if name not in reports.DRILLS:
            return self.response_404()
        fmt = request.args.get("format")
        if fmt is not None and not access.can("report", "export"):
            return self.response_403()
        function, columns = reports.DRILLS[name]
        page, size = _paging()
        if page is None:
            return self.response_400(message=gettext(
                "page must be from 0 to 1000000, page_size from 1 to 100."))
        try:
            filters = reports.parse_filters(request.args, name)
            if fmt is not None:
                drill = function(filters, request.args)
                keys = [column.key for column in columns]
                title = gettext("%(report)s: drill-down", report=reports.REPORTS[name])
                return _file(name, title, fmt, columns,
                             [[row.get(key) for key in keys] for row in drill.rows])
            drill = function(filters, request.args, (page + 1) * size)
        except DomainError as error:
            return _refusal(error)
        shown = drill.rows[page * size:]
        return self.response(200, count=drill.total, columns=_columns(columns),
                             rows=[{k: _plain(v) for k, v in row.items()} for row in shown])

    @expose("/pricelist/send", methods=["POST"])
    @protect()
    @safe
    def send(self):
        """E-mail the price list to a client as an XLSX file.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [email]
                  properties:
                    email: {type: string, format: email}
                    group: {type: integer}
                    product: {type: array, items: {type: integer}, maxItems: 500}
          responses:
            200:
              description: Sent; how many items the price list held
            401:
              $ref: '#/components/responses/401'
            422:
              $ref: '#/components/responses/422'
            502:
              description: The mail server did not accept it
        """
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return answer(400, {"message": gettext("The request body must be a JSON object."),
                                "code": "bad_request"})
        products = body.get("product") or []
        if not isinstance(products, list):
            products = [products]
        arguments = {"product": [str(p) for p in products]}
        if body.get("group") is not None:
            arguments["group"] = str(body["group"])
        try:
            filters = reports.parse_filters(arguments, "pricelist")
            rows = reports.send_pricelist(filters, str(body.get("email") or ""))
        except DomainError as error:
            return _refusal(error)
        return self.response(200, sent=rows, email=str(body.get("email")).strip())

    # --- subscriptions -----------------------------------------------------------------

    @expose("/subscription/", methods=["GET"])
    @protect()
    @safe
    def subscriptions(self):
        """The current user's report subscriptions with their latest sendings.
        ---
        get:
          responses:
            200:
              description: The subscriptions
            401:
              $ref: '#/components/responses/401'
        """
        found = list(db.session.execute(report_subscriptions.mine()).scalars())
        return self.response(200, count=len(found),
                             result=[represent_subscription(s) for s in found])

    @expose("/subscription/", methods=["POST"])
    @protect()
    @safe
    def subscribe(self):
        """Subscribe to a report: it comes by e-mail as XLSX, weekly or monthly.
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [report, frequency]
                  properties:
                    report: {type: string, enum: [funnel, motivator, control, quality, abcxyz, time_spent]}
                    frequency: {type: string, enum: [weekly, monthly]}
                    recipients: {type: string, maxLength: 2000}
                    filters: {type: object}
          responses:
            201:
              description: The subscription
            401:
              $ref: '#/components/responses/401'
            422:
              $ref: '#/components/responses/422'
        """
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return answer(400, {"message": gettext("The request body must be a JSON object."),
                                "code": "bad_request"})
        filters = body.get("filters") or {}
        if not isinstance(filters, dict):
            return answer(422, {"message": {"filters": [gettext("Not an object.")]},
                                "code": "invalid"})
        arguments = {key: (value if isinstance(value, list) else str(value))
                     for key, value in filters.items()}
        try:
            subscription = report_subscriptions.subscribe(
                str(body.get("report") or ""), arguments, str(body.get("frequency") or ""),
                body.get("recipients") if isinstance(body.get("recipients"), str) else None,
                list_exports.language())
        except DomainError as error:
            return _refusal(error)
        return self.response(201, result=represent_subscription(subscription))

    @expose("/subscription/<int:pk>/send", methods=["POST"])
    @protect()
    @safe
    def subscription_send(self, pk):
        """Send one of the user's subscriptions now.
        ---
        post:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: How the sending went
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        try:
            subscription = report_subscriptions.one(pk)
        except DomainError:
            return self.response_404()
        return self.response(200, result=represent_delivery(
            report_subscriptions.send_now(subscription)))

    @expose("/subscription/<int:pk>", methods=["DELETE"])
    @protect()
    @safe
    def subscription_delete(self, pk):
        """Delete one of the user's subscriptions.
        ---
        delete:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: Deleted
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        try:
            report_subscriptions.remove(report_subscriptions.one(pk))
        except DomainError:
            return self.response_404()
        return self.response(200, message="OK")

    @expose("/<name>/recompute", methods=["POST"])
    @protect()
    @safe
    def recompute(self, name):
        """Compute the report's tables again, now.
        ---
        post:
          parameters:
          - {in: path, name: name, required: true, schema: {type: string, enum: [funnel, motivator, control, quality, abcxyz, pricelist, time_spent]}}
          responses:
            200:
              description: When the data was computed
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        if name not in reports.REPORTS:
            return self.response_404()
        try:
            reports.recompute(name)
        except DomainError as error:
            return _refusal(error)
        return self.response(200, computed_at=utc_iso(reports.computed_at_of(name)))
