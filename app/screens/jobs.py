"""Settings → Jobs: every scheduled job with its schedule, last run, next time and latest
failure (its error and traceback), "run now" for those who may change the settings, and
the reminders' settings. A job that has not run for two of its periods is marked late,
so that a scheduler that stopped shows here."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext

from app.jobs import BY_ID, runner
from app.models import JOB_RUN_STATUSES, JOB_RUN_TRIGGERS, utcnow
from app.services import access, company_settings
from app.services.clock import format_local
from app.services.errors import DomainError

RECENT_RUNS = 30


class JobView(BaseView):
    route_base = "/jobs"
    default_view = "index"
    method_permission_name = {"index": "list", "run": "edit", "settings": "edit"}

    @expose("/")
    @has_access
    def index(self):
        return self.render_template(
            "crm/jobs.html", title=gettext("Scheduled jobs"), states=runner.overview(utcnow()),
            statuses=JOB_RUN_STATUSES, triggers=JOB_RUN_TRIGGERS, local=format_local,
            settings=company_settings.SETTINGS, values=company_settings.values(),
            may_change=access.can("settings", "edit"),
            recent=runner.runs(request.args.get("job"), None, 0, RECENT_RUNS)[1],
            labels={job.id: job.label for job in BY_ID.values()})

    @expose("/<job_id>/run", methods=["POST"])
    @has_access
    def run(self, job_id):
        job = BY_ID.get(job_id)
        if job is None:
            flash(gettext("There is no such job."), "danger")
            return redirect(url_for("JobView.index"))
        record = runner.run(job, utcnow(), "manual", requested_by=g.user.id)
        if record is None:
            flash(gettext("%(job)s is running now; try again when it has finished.",
                          job=job.label), "warning")
        elif record.status == "succeeded":
            flash(gettext("%(job)s has run: %(rows)d rows.", job=job.label, rows=record.rows),
                  "success")
        else:
            flash(gettext("%(job)s failed; the error is below.", job=job.label), "danger")
        return redirect(url_for("JobView.index"))

    @expose("/settings", methods=["POST"])
    @has_access
    def settings(self):
        try:
            company_settings.change({setting.key: request.form.get(setting.key, "")
                                     for setting in company_settings.SETTINGS})
        except DomainError as error:
            messages = [f"{company_settings.BY_KEY[key].label}: {' '.join(texts)}"
                        if key in company_settings.BY_KEY else " ".join(texts)
                        for key, texts in error.errors.items()] or [error.message]
            for message in messages:
                flash(message, "danger")
        else:
            flash(gettext("The reminders' settings are saved."), "success")
        return redirect(url_for("JobView.index"))
