"""The reports' pages (app.services.reports): the list of reports, each report's grid with
its filters, totals, chart and drill-down, "recompute now", and the export of exactly what
is on the screen."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, flash, redirect, render_template, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.database import db
from app.fab.downloads import send_export
from app.models import DELIVERY_STATUSES, SUBSCRIPTION_FREQUENCIES, CrmUser, Department
from app.services import access, list_exports, mail, report_subscriptions, reports
from app.services.clock import format_local, to_local, utcnow
from app.services.errors import DomainError, RecordInvalid

DESCRIPTIONS = {
    "pricelist": _l("The products on sale by group with their prices: of a group, or only the "
                    "items ticked. Print it, or send it to a client as an Excel file."),
    "abcxyz": _l("The clients classed by the revenue of their won interests over the last "
                 "twelve full months: A, the clients of the first 80 per cent of revenue, B "
                 "of the next 15, C of the rest; and by how steady it is month to month: X "
                 "when it varies by up to 10 per cent, Y up to 25, Z more. The classes are "
                 "kept on the clients, where the list filters by them."),
    "control": _l("The traffic light of each manager's clients (R12): red when a client has "
                  "no active interest or an overdue interaction, yellow when its portrait or "
                  "its contacts' information is missing, green when all is well; and the "
                  "variants: touches per client, interactions, warm clients, interests."),
    "quality": _l("How complete the client base is: clients with a full portrait, contacts "
                  "with a phone or an e-mail, clients with an active interest, suspected "
                  "duplicates. Each figure lists the clients to fix."),
    "funnel": _l("How many interests reached each stage of a pipeline, their sum, the "
                 "conversion to the next stage and to won, the time in each stage; by "
                 "manager and department next to their plans."),
    "motivator": _l("The points of each manager's done interactions per day against the "
                    "norm of their department: how much of it was fulfilled, and the days "
                    "below it."),
    "time_spent": _l("How many minutes the interactions done in the period took, as "
                     "recorded when each was completed: per manager, or per manager and "
                     "client, a column per type of interaction."),
}
ICONS = {"funnel": "fa-filter", "motivator": "fa-trophy", "control": "fa-traffic-light",
         "quality": "fa-check-square-o", "abcxyz": "fa-th", "pricelist": "fa-tags",
         "time_spent": "fa-hourglass-half"}


def _message(error: DomainError) -> str:
    if isinstance(error, RecordInvalid):
        return "; ".join(f"{name}: {' '.join(map(str, messages))}"
                         for name, messages in error.errors.items())
    return str(error)


def people_choices():
    """The managers and departments whose figures the user sees: the filters' choices."""
    managers = list(db.session.execute(
        select(CrmUser).where(CrmUser.active.is_(True), access.figures_condition(CrmUser.id))
        .order_by(CrmUser.first_name, CrmUser.last_name)).scalars())
    departments = access.figures_departments()
    query = select(Department).order_by(Department.name)
    if departments is not None:
        query = query.where(Department.id.in_(sorted(departments)))
    return managers, list(db.session.execute(query).scalars())


def drill_links(grid):
    """(row index, column key) -> the URL of its drill-down; built from one base, as a
    month's motivator has a link in each of a thousand cells."""
    base = url_for("ReportView.drill", name=grid.name) + "?"
    common = grid.filters.as_args()
    # The filters encoded once for each set of names a cell gives a value of its own.
    prefixes: dict[frozenset, str] = {}

    def link(index: int, key: str):
        arguments = grid.drills.get((index, key))
        if arguments is None:
            return None
        names = frozenset(arguments)
        prefix = prefixes.get(names)
        if prefix is None:
            prefix = prefixes[names] = urlencode(
                {name: value for name, value in common.items() if name not in names})
        return base + "&".join(part for part in (prefix, urlencode(arguments)) if part)

    return link


def cell_text(value, column) -> str:
    if value is None:
        return "—"
    if column.kind == "money":
        return "{:,.2f}".format(value).replace(",", "\u00a0")
    if column.kind == "integer":
        return "{:,}".format(value).replace(",", "\u00a0")
    if column.kind == "decimal":
        return str(value)
    if column.kind == "datetime":
        return format_local(value)
    return str(value)


class ReportView(BaseView):
    """Whoever may read reports opens them (the matrix's "report": their own figures, or
    their department's); exporting needs the export right, recomputing the edit right."""

    route_base = "/reports"
    default_view = "index"
    method_permission_name = {"index": "list", "grid": "list", "drill": "list",
                              "print_page": "list", "export": "export", "send": "export",
                              "recompute": "edit", "subscribe": "list",
                              "subscriptions": "list", "subscription_send": "list",
                              "subscription_active": "list", "subscription_delete": "list"}

    @expose("/")
    @has_access
    def index(self):
        return self.render_template(
            "crm/reports.html", reports=reports.REPORTS, descriptions=DESCRIPTIONS,
            icons=ICONS, title=gettext("Reports"))

    def _grid(self, name):
        if name not in reports.REPORTS:
            abort(404)
        return reports.report(name, reports.parse_filters(request.args, name))

    @expose("/<name>/")
    @has_access
    def grid(self, name):
        try:
            grid = self._grid(name)
        except DomainError as error:
            flash(_message(error), "danger")
            return redirect(url_for("ReportView.grid", name=name))
        managers, departments = people_choices()
        return self.render_template(
            "crm/report_grid.html", grid=grid, name=name, managers=managers,
            departments=departments, views=reports.VIEWS.get(name, {}),
            description=DESCRIPTIONS[name], drill_url=drill_links(grid), cell=cell_text,
            computed_at=format_local(grid.computed_at) if grid.computed_at else None,
            may_export=access.can("report", "export"),
            may_recompute=access.can("report", "edit") and not grid.live,
            args=grid.filters.as_args(),
            groups=reports.product_groups() if name == "pricelist" else [],
            may_send=mail.configured(), frequencies=SUBSCRIPTION_FREQUENCIES,
            chart=grid.chart, title=str(reports.REPORTS[name]))

    def _drill(self, name, limit=None):
        if name not in reports.DRILLS:
            abort(404)
        filters = reports.parse_filters(request.args, name)
        function, columns = reports.DRILLS[name]
        return filters, columns, function(filters, request.args, limit)

    @expose("/<name>/drill")
    @has_access
    def drill(self, name):
        try:
            filters, columns, drill = self._drill(name, reports.DRILL_SHOWN)
        except DomainError as error:
            flash(_message(error), "danger")
            return redirect(url_for("ReportView.grid", name=name))
        rows = drill.rows
        summed = {"funnel": "amount", "motivator": "points", "abcxyz": "revenue"}.get(name)
        return self.render_template(
            "crm/report_drill.html", name=name, filters=filters, columns=columns, rows=rows,
            count=drill.total,
            total=sum(row.get(summed) or 0 for row in rows) if summed else None,
            summed=next((c for c in columns if c.key == summed), None),
            check=reports.CHECKS.get(request.args.get("check", ""), (None,))[0],
            cell=cell_text, args=request.args.to_dict(),
            may_export=access.can("report", "export"),
            title=gettext("%(report)s: drill-down", report=reports.REPORTS[name]))

    @expose("/<name>/export")
    @has_access
    def export(self, name):
        fmt = request.args.get("format", "xlsx")
        try:
            if request.args.get("drill"):
                filters, columns, drill = self._drill(name)
                keys = [column.key for column in columns]
                values = [[row.get(key) for key in keys] for row in drill.rows]
                title = gettext("%(report)s: drill-down", report=reports.REPORTS[name])
            else:
                grid = self._grid(name)
                columns, values, title = grid.columns, grid.values(), grid.title
            values = [[to_local(v) if column.kind == "datetime" else v
                       for v, column in zip(row, columns, strict=True)] for row in values]
            run = list_exports.write_rows_now(f"report:{name}", title,
                                              request.args.to_dict(), fmt, columns, values)
        except DomainError as error:
            flash(_message(error), "danger")
            return redirect(url_for("ReportView.grid", name=name))
        return send_export(run)

    @expose("/<name>/print")
    @has_access
    def print_page(self, name):
        """The grid alone on a page made for paper."""
        try:
            grid = self._grid(name)
        except DomainError as error:
            flash(_message(error), "danger")
            return redirect(url_for("ReportView.grid", name=name))
        return render_template(
            "crm/report_print.html", grid=grid, name=name, cell=cell_text,
            company=reports.company_name(), printed=format_local(utcnow()),
            language=str(get_locale() or "ru")[:2],
            title=str(reports.REPORTS[name]))

    @expose("/pricelist/send", methods=["POST"])
    @has_access
    def send(self):
        """Send the price list as the page shows it to a client's e-mail."""
        try:
            filters = reports.parse_filters(request.form, "pricelist")
            rows = reports.send_pricelist(filters, request.form.get("email", ""))
            flash(gettext("The price list (%(rows)s items) was sent to %(email)s.", rows=rows,
                          email=request.form.get("email", "").strip()), "success")
        except DomainError as error:
            flash(_message(error), "danger")
        return redirect(url_for("ReportView.grid", name="pricelist",
                                **{k: v for k, v in request.form.to_dict(flat=False).items()
                                   if k in ("group", "product")}))

    # --- subscriptions -----------------------------------------------------------------

    @expose("/<name>/subscribe", methods=["POST"])
    @has_access
    def subscribe(self, name):
        """Subscribe to the report with the page's filters."""
        try:
            report_subscriptions.subscribe(
                name, request.form, request.form.get("frequency", ""),
                request.form.get("recipients"), list_exports.language())
        except DomainError as error:
            flash(_message(error), "danger")
            return redirect(url_for("ReportView.grid", name=name))
        flash(gettext("Subscribed: the report will come by e-mail."), "success")
        return redirect(url_for("ReportView.subscriptions"))

    @expose("/subscriptions/")
    @has_access
    def subscriptions(self):
        found = list(db.session.execute(report_subscriptions.mine()).scalars())
        return self.render_template(
            "crm/report_subscriptions.html", subscriptions=found,
            logs={s.id: report_subscriptions.deliveries(s) for s in found},
            reports=reports.REPORTS, frequencies=SUBSCRIPTION_FREQUENCIES,
            statuses=DELIVERY_STATUSES, local=format_local, may_send=mail.configured(),
            title=gettext("Report subscriptions"))

    def _subscription(self, pk):
        try:
            return report_subscriptions.one(pk)
        except DomainError:
            abort(404)

    @expose("/subscriptions/<int:pk>/send", methods=["POST"])
    @has_access
    def subscription_send(self, pk):
        delivery = report_subscriptions.send_now(self._subscription(pk))
        if delivery.status == "sent":
            flash(gettext("Sent to %(recipients)s.", recipients=delivery.recipients),
                  "success")
        else:
            flash(gettext("Not sent: %(error)s", error=(delivery.error or "").splitlines()[-1]
                          if delivery.error else ""), "danger")
        return redirect(url_for("ReportView.subscriptions"))

    @expose("/subscriptions/<int:pk>/active", methods=["POST"])
    @has_access
    def subscription_active(self, pk):
        report_subscriptions.set_active(self._subscription(pk),
                                        request.form.get("active") == "1")
        return redirect(url_for("ReportView.subscriptions"))

    @expose("/subscriptions/<int:pk>/delete", methods=["POST"])
    @has_access
    def subscription_delete(self, pk):
        report_subscriptions.remove(self._subscription(pk))
        flash(gettext("The subscription was deleted."), "success")
        return redirect(url_for("ReportView.subscriptions"))

    @expose("/<name>/recompute", methods=["POST"])
    @has_access
    def recompute(self, name):
        if name not in reports.REPORTS:
            abort(404)
        try:
            reports.recompute(name)
            flash(gettext("The report has been computed again."), "success")
        except DomainError as error:
            flash(_message(error), "danger")
        back = request.form.get("back") or ""
        if not back.startswith("/reports/"):
            back = url_for("ReportView.grid", name=name)
        return redirect(back)
