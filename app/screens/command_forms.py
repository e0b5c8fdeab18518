"""A command of the sales process as a page with a form: the record it acts on, the form,
the refusal next to the field it concerns, and the ways out a refusal offers. Used by the
interest's and the interaction's screens."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder.forms import DynamicForm
from wtforms import HiddenField

from app.database import db
from app.services import records


def command_form(name: str, fields: dict) -> type:
    """A form class with `fields` and the version of the record the user read."""
    return type(name, (DynamicForm,), {**fields, "version": HiddenField()})


class CommandForms:
    """For a CRUD screen (CrmModelView) with commands of its own."""

    def record_url(self, record) -> str:
        return url_for(f"{self.__class__.__name__}.show", pk=record.id)

    def command_page(self, record, form, title, command: str, error=None, note=None,
                     back=None):
        offers = getattr(error, "offers", ()) if error is not None else ()
        return self.render_template(
            "crm/command.html", title=title, record=record, form=form,
            action=url_for(f"{self.__class__.__name__}.{command}", pk=record.id),
            back=back or self.record_url(record), offers=offers, note=note)

    def _apply_errors(self, form, error: records.DomainError) -> None:
        """A missing next plan ("next") is shown at the plan's subject."""
        if "next" in error.errors and "next_subject" in form:
            error.errors = {("next_subject" if name == "next" else name): messages
                            for name, messages in error.errors.items()}
        super()._apply_errors(form, error)

    @staticmethod
    def read_version(record, form) -> None:
        if request.method == "GET":
            form.version.data = record.version

    def run_command(self, form, run, success: str, then: str):
        """Run the command when the form is posted and valid. Answers (a redirect to `then`
        with `success` said, None) or (None, the refusal or None) to show the form again."""
        if request.method != "POST" or not form.validate():
            return None, None
        try:
            run()
        except records.DomainError as error:
            db.session.rollback()
            self._apply_errors(form, error)
            return None, error
        flash(success, "success")
        return redirect(then), None
