"""A command of the sales process as a page with a form: the record it acts on, the form,
the refusal next to the field it concerns, and the ways out a refusal offers. Used by the
interest's and the interaction's screens."""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_appbuilder.forms import DynamicForm
from wtforms import HiddenField

from app.database import db
from app.services import records
from app.services.errors import RuleBroken


def in_dialog() -> bool:
    """Asked by the board's dialog (crm/board.js) rather than as a page."""
    return request.args.get("dialog") == "1"


def done_in_dialog(message: str):
    """What the dialog hears when a command is done: the message, and the command to ask
    again when this one was a way out of its refusal (the client created, then the move)."""
    again = request.values.get("again") or ""
    return jsonify(ok=True, message=message,
                   again=again if again.startswith("/") and not again.startswith("//") else None)


def command_form(name: str, fields: dict) -> type:
    """A form class with `fields` and the version of the record the user read."""
    return type(name, (DynamicForm,), {**fields, "version": HiddenField()})


class CommandForms:
    """For a CRUD screen (CrmModelView) with commands of its own."""

    def record_url(self, record) -> str:
        return url_for(f"{self.__class__.__name__}.show", pk=record.id)

    def command_page(self, record, form, title, command: str, error=None, note=None,
                     back=None, load=None):
        """The command's page; in a dialog of the board (`?dialog=1`) its form alone, 422
        when it comes back refused."""
        offers = getattr(error, "offers", ()) if error is not None else ()
        arguments = {k: v for k, v in request.args.items() if k != "dialog"}
        page = self.render_template(
            "crm/command_form.html" if in_dialog() else "crm/command.html",
            title=title, record=record, form=form,
            action=url_for(f"{self.__class__.__name__}.{command}", pk=record.id, **arguments),
            back=back or self.record_url(record), offers=offers, note=note, load=load,
            again=url_for(f"{self.__class__.__name__}.{command}", pk=record.id, dialog=1,
                          **arguments))
        if in_dialog() and request.method == "POST":
            return page, 422
        return page

    def _apply_errors(self, form, error: records.DomainError) -> None:
        """Each message next to its field (a missing next plan at the plan's subject); the
        refusal itself above the form when it says more (a rule of the process) or has no
        field of its own. Never flashed: the dialog would show it on the next page."""
        placed = False
        for name, messages in error.errors.items():
            name = "next_subject" if name == "next" else name.replace(".", "_")
            field = getattr(form, name, None)
            if field is not None and name != "version":
                field.errors = list(field.errors or []) + [str(m) for m in messages]
                placed = True
        if not placed or isinstance(error, RuleBroken):
            form.refusal = error.message

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
        if in_dialog():
            return done_in_dialog(success), None
        flash(success, "success")
        return redirect(then), None
