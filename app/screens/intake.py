"""The inquiries' screen (R7): "process without creating a task" for one or many selected
inquiries, and the intake wizard. The wizard looks the sender up with the client search
(by their phone, e-mail or company first), shows each client found with its open interests
so that the same request is not registered twice, and ends in one command of
app.services.sales: a new interest for a found client, for a new client with its contact
person, or for a potential client (the sender), or the inquiry linked to an interest that
exists already. Dropping an inquiry's card on a stage of the board opens the wizard with
that stage chosen.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action as bulk_action
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.database import db
from app.entities.crm import INQUIRY
from app.fab import custom_form
from app.fab.crud import CrmModelView
from app.fab.forms import LocalDecimalField
from app.labels import LABELS
from app.models import CLIENT_KINDS, Client, Contact, Interest, Pipeline, Stage
from app.screens.base import CrmView
from app.screens.command_forms import CommandForms, command_form
from app.screens.plan_form import plan_fields, plan_of
from app.services import access, bounds, client_search, custom_fields, records, sales

MODES = ("client", "new", "potential")


def pipelines() -> list[Pipeline]:
    return list(db.session.execute(select(Pipeline).order_by(
        Pipeline.is_default.desc(), Pipeline.sort, Pipeline.id)).scalars())


InterestForm = command_form("IntakeForm", {
    "title": StringField(LABELS["title"], [DataRequired(), Length(max=255)]),
    "stage": SelectField(LABELS["stage"], coerce=int, validators=[DataRequired()],
                         widget=Select2Widget()),
    "amount": LocalDecimalField(LABELS["amount"], [Optional()]),
    "description": TextAreaField(LABELS["description"]),
    # A new client and its contact person (mode "new").
    "client_kind": SelectField(_l("Kind of client"), choices=list(CLIENT_KINDS.items()),
                               validate_choice=False),  # checked with the client it makes
    "client_name": StringField(_l("Client's name"), [Length(max=255)]),
    "client_inn": StringField(LABELS["inn"], [Length(max=12)]),
    "client_phone": StringField(LABELS["phone"], [Length(max=40)]),
    "client_email": StringField(LABELS["email"], [Length(max=255)]),
    "contact_name": StringField(_l("Contact person"), [Length(max=255)]),
    # A potential client (mode "potential").
    "potential_name": StringField(LABELS["potential_name"], [Length(max=255)]),
    "potential_company": StringField(LABELS["potential_company"], [Length(max=255)]),
    "potential_phone": StringField(LABELS["potential_phone"], [Length(max=40)]),
    "potential_email": StringField(LABELS["potential_email"], [Length(max=255)]),
    **plan_fields(),
})
# The fields of each way, the rest of the form is common.
MODE_FIELDS = {
    "client": (),
    "new": ("client_kind", "client_name", "client_inn", "client_phone", "client_email",
            "contact_name"),
    "potential": ("potential_name", "potential_company", "potential_phone",
                  "potential_email"),
}


# The inputs of the new client's custom fields, apart from the new interest's.
CLIENT_CUSTOM = "client_custom_"


def first_term(inquiry) -> str:
    """What the wizard looks the sender up by first: the phone, the e-mail, the company."""
    return inquiry.sender_phone or inquiry.sender_email or inquiry.sender_company or \
        inquiry.sender_name or ""


class InquiryView(CommandForms, CrmView, entity=INQUIRY):
    show_template = "crm/inquiry_show.html"
    method_permission_name = {**CrmModelView.method_permission_name,
                              **dict.fromkeys(("dismiss", "process", "convert", "link",
                                               "dismiss_one"), "edit")}

    def show_extras(self, inquiry) -> dict:
        return {"can_process": inquiry.status == "new" and self.can("can_edit")}

    @bulk_action("dismiss", _l("Process without a task"),
                 _l("Mark the selected inquiries processed, without creating a task?"),
                 "fa-check", single=False)
    def dismiss(self, items):
        """"Process without creating a task", for the selected inquiries: all or none."""
        try:
            sales.dismiss(items)
        except records.DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(gettext("Processed: %(count)d.", count=len(items)), "success")
        self.update_redirect()
        return redirect(self.get_redirect())

    @expose("/dismiss/<int:pk>", methods=["POST"])
    @has_access
    def dismiss_one(self, pk):
        inquiry = self._get_item(pk, "edit")
        form = command_form("VersionForm", {})()
        if not form.validate():
            abort(400)
        try:
            sales.dismiss([inquiry], seen_version=form.version.data)
        except records.DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
        else:
            flash(gettext("The inquiry is processed."), "success")
        return redirect(self.record_url(inquiry))

    # --- the intake wizard -----------------------------------------------------------------

    @expose("/process/<int:pk>", methods=["GET"])
    @has_access
    def process(self, pk):
        """The wizard's first step: the sender looked up, the clients found with their open
        interests, and the ways to go on."""
        inquiry = self._get_item(pk, "edit")
        term = request.args.get("q", first_term(inquiry))[:200]
        found = client_search.find_clients(term) if term.strip() else []
        return self.render_template(
            "crm/intake.html", inquiry=inquiry, term=term, found=found,
            stage=request.args.get("stage", type=int), title=gettext("Process the inquiry"))

    @expose("/convert/<int:pk>", methods=["GET", "POST"])
    @has_access
    def convert(self, pk):
        """The wizard's second step: the new interest, for a found client (`?client=`), a
        new client (`?mode=new`) or a potential client (`?mode=potential`)."""
        inquiry = self._get_item(pk, "edit")
        mode = request.args.get("mode", "client")
        if mode not in MODES:
            abort(404)
        client = None
        if mode == "client":
            key = bounds.as_key(Client.id, request.args.get("client", ""))
            client = None if key is None else db.session.execute(
                access.readable(Client).where(Client.id == key)).scalar()
            if client is None:
                abort(404)
        # The custom fields of the new interest, and of the new client in that mode.
        interest_fields = custom_fields.granted("interest")
        client_fields = custom_fields.granted("client") if mode == "new" else []
        form = custom_form.form_class(
            custom_form.form_class(InterestForm, interest_fields), client_fields,
            prefix=CLIENT_CUSTOM)()
        self._prepare(inquiry, form, mode)
        if request.method == "GET":
            custom_form.fill(form, None, interest_fields)
            custom_form.fill(form, None, client_fields, prefix=CLIENT_CUSTOM)
        custom = (interest_fields, client_fields)
        done, _error = self.run_command(
            form, lambda: self._convert(inquiry, form, mode, client, custom),
            gettext("The inquiry is now an interest."), "")
        if done is not None:  # to the new interest's card, not the redirect given above
            return redirect(url_for("InterestView.show", pk=inquiry.interest_id))
        return self.render_template(
            "crm/intake_convert.html", inquiry=inquiry, form=form, mode=mode, client=client,
            shown=set(MODE_FIELDS[mode]), hidden=set().union(*MODE_FIELDS.values()),
            action=url_for("InquiryView.convert", pk=inquiry.id, **request.args),
            title=gettext("A new interest from the inquiry"))

    def _prepare(self, inquiry, form, mode: str) -> None:
        """The stages a new interest may start in, every pipeline's; on the first view the
        form filled from the inquiry and the stage it was dropped on."""
        choices = [(stage.id, f"{pipeline.name}: {stage.name}")
                   for pipeline in pipelines() for stage in sales.open_stages(pipeline.id)]
        form.stage.choices = choices
        if request.method != "GET":
            return
        self.read_version(inquiry, form)
        wanted = request.args.get("stage", type=int)
        form.stage.data = wanted if wanted in {pk for pk, _ in choices} else \
            (choices[0][0] if choices else None)
        text = (inquiry.text or "").strip()
        form.title.data = (text.splitlines()[0][:120] if text else str(inquiry))
        form.description.data = text
        form.client_kind.data = "company" if inquiry.sender_company else "person"
        form.client_name.data = inquiry.sender_company or inquiry.sender_name
        form.client_phone.data = inquiry.sender_phone
        form.client_email.data = inquiry.sender_email
        form.contact_name.data = inquiry.sender_name if inquiry.sender_company else None
        form.potential_name.data = inquiry.sender_name
        form.potential_company.data = inquiry.sender_company
        form.potential_phone.data = inquiry.sender_phone
        form.potential_email.data = inquiry.sender_email

    def _convert(self, inquiry, form, mode: str, client, custom) -> None:
        interest_fields, client_fields = custom
        stage = db.session.get(Stage, form.stage.data)
        interest = Interest(title=form.title.data, description=form.description.data or None,
                            pipeline=stage.pipeline if stage is not None else None,
                            stage=stage, amount=form.amount.data or 0)
        if interest_fields:
            custom_fields.write(interest, custom_form.sent(form, interest_fields, interest),
                                typed=True)
        new_client = contact = None
        if mode == "client":
            interest.client = client
        elif mode == "new":
            new_client = Client(kind=form.client_kind.data, name=form.client_name.data,
                                inn=form.client_inn.data or None,
                                phone=form.client_phone.data or None,
                                email=form.client_email.data or None)
            if client_fields:
                custom_fields.write(new_client, custom_form.sent(
                    form, client_fields, new_client, prefix=CLIENT_CUSTOM), typed=True)
            if (form.contact_name.data or "").strip():
                contact = Contact(name=form.contact_name.data.strip(),
                                  phone=form.client_phone.data or None,
                                  email=form.client_email.data or None, is_key=True)
        else:
            interest.potential_name = form.potential_name.data or None
            interest.potential_company = form.potential_company.data or None
            interest.potential_phone = form.potential_phone.data or None
            interest.potential_email = form.potential_email.data or None
        sales.convert(inquiry, interest, plan_of(form), new_client=new_client,
                      contact=contact, seen_version=form.version.data)

    def _apply_errors(self, form, error) -> None:
        """A custom field's message goes to the new interest's input, else to the new
        client's of that code."""
        renamed = {}
        for name, messages in error.errors.items():
            code = name.removeprefix("custom.")
            if name.startswith("custom.") and f"custom_{code}" not in form \
                    and f"{CLIENT_CUSTOM}{code}" in form:
                name = CLIENT_CUSTOM + code
            renamed[name] = messages
        error.errors = renamed
        super()._apply_errors(form, error)

    @expose("/link/<int:pk>", methods=["POST"])
    @has_access
    def link(self, pk):
        """The wizard's other end: the inquiry joins an interest that exists already."""
        inquiry = self._get_item(pk, "edit")
        key = bounds.as_key(Interest.id, request.form.get("interest", ""))
        interest = None if key is None else db.session.execute(
            access.readable(Interest).where(Interest.id == key)).scalar()
        try:
            sales.link(inquiry, interest, seen_version=request.form.get("version"))
        except records.DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(url_for("InquiryView.process", pk=inquiry.id))
        flash(gettext("The inquiry is linked to the interest."), "success")
        return redirect(url_for("InterestView.show", pk=interest.id))
