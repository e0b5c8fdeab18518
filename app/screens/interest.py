"""The interest's screen: its card, and the commands of the sales process as forms (move,
close, reopen, create or link the client), so that everything the board does with a drag
can be done with a keyboard and without JavaScript. Each form calls one command of
app.services.sales and shows its refusal next to the field it concerns."""

from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired

from app.database import db
from app.entities.crm import INTEREST
from app.entities.declaration import Section
from app.fab import custom_form
from app.fab.crud import CrmModelView
from app.fab.widgets import StageSelectWidget
from app.labels import LABELS
from app.models import STAGE_ACTIONS, DictionaryItem, Stage
from app.screens.base import CrmView, screen_attributes
from app.screens.board import load_text
from app.screens.command_forms import CommandForms, command_form, done_in_dialog, in_dialog
from app.screens.lookup import LookupField
from app.screens.plan_form import PLAN_FIELDS, plan_fields, plan_of
from app.services import board, cards, custom_fields, records, sales

RESULT_LABEL = _l("Result of the current interaction")


def lost_reasons() -> list[DictionaryItem]:
    return list(db.session.execute(
        select(DictionaryItem).where(DictionaryItem.kind == "lost_reason")
        .order_by(DictionaryItem.sort, DictionaryItem.name)).scalars())


MoveForm = command_form("MoveForm", {
    "stage": SelectField(LABELS["stage"], coerce=int, validators=[DataRequired()]),
    "result": TextAreaField(RESULT_LABEL),
    **plan_fields(),
})
CloseForm = command_form("CloseForm", {
    "outcome": SelectField(_l("Outcome"), choices=[("won", _l("Won")), ("lost", _l("Lost"))]),
    "result": TextAreaField(RESULT_LABEL),
    "reason": QuerySelectField(LABELS["lost_reason"], query_func=lost_reasons,
                               get_pk_func=lambda item: item.id, allow_blank=True,
                               blank_text="—", widget=Select2Widget()),
})
ReopenForm = command_form("ReopenForm", {
    "stage": SelectField(LABELS["stage"], coerce=int, validators=[DataRequired()]),
    **plan_fields(),
})
VersionForm = command_form("VersionForm", {})
LinkClientForm = command_form("LinkClientForm", {
    "client": LookupField(LABELS["client"], [DataRequired()], entity="client"),
})


class InterestView(CommandForms, CrmView, entity=INTEREST):
    """A new interest is created with its first plan (R1); its stage changes only with the
    commands of its card."""

    list_eager_relations = ("client",)
    show_readers = True
    show_template = "crm/interest_card.html"
    add_columns = [*INTEREST.form, *PLAN_FIELDS]
    add_form_extra_fields = {**screen_attributes(INTEREST)["add_form_extra_fields"],
                             **plan_fields()}
    # A new interest starts in an open stage.
    add_form_query_rel_fields = {"stage": [["kind", FilterEqual, "open"]]}
    form_only_fields = PLAN_FIELDS
    form_sections = (Section(_l("First interaction"), PLAN_FIELDS),)
    method_permission_name = {**CrmModelView.method_permission_name,
                              **dict.fromkeys(("move", "close", "reopen", "create_client",
                                               "link_client"), "edit")}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The stage box offers the chosen pipeline's stages only (crm/stages.js).
        self.add_form.stage.kwargs["widget"] = StageSelectWidget()

    def create_record(self, item, fill, form) -> None:
        sales.create_interest(item, plan_of(form), fill)

    # --- the card --------------------------------------------------------------------------

    def show_extras(self, interest) -> dict:
        return {"card": cards.interest_card(interest), "stage_actions": STAGE_ACTIONS,
                "can_edit": self.can("can_edit"), **custom_form.card_extras(interest, self)}

    # --- the commands ------------------------------------------------------------------------

    @staticmethod
    def _stage_choices(interest, form, *, exclude_current: bool) -> None:
        form.stage.choices = [(stage.id, stage.name)
                              for stage in sales.open_stages(interest.pipeline_id)
                              if not (exclude_current and stage.id == interest.stage_id)]

    @expose("/move/<int:pk>", methods=["GET", "POST"])
    @has_access
    def move(self, pk):
        interest = self._get_item(pk, "edit")
        stages = MoveForm()
        self._stage_choices(interest, stages, exclude_current=True)
        # The custom fields the target stage requires from it on are asked for with the move.
        wanted = request.form.get("stage", type=int) if request.method == "POST" else \
            request.args.get("stage", type=int) or _following(interest, stages.stage.choices)
        target = db.session.get(Stage, wanted) if wanted else None
        needed = [custom_fields.Granted(spec, custom_fields.EDIT) for spec in
                  (custom_fields.stage_fields(interest, target) if target else [])]
        form = custom_form.form_class(MoveForm, needed)()
        form.stage.choices = stages.stage.choices
        self.read_version(interest, form)
        if request.method == "GET":
            form.stage.data = wanted
            custom_form.fill(form, interest, needed)
        done, error = self.run_command(form, lambda: sales.move(
            interest, db.session.get(Stage, form.stage.data), result=form.result.data,
            plan=plan_of(form), seen_version=form.version.data,
            custom=custom_form.sent(form, needed, interest), custom_typed=True),
            gettext("The interest is moved."), self.record_url(interest))
        current = sales.current_plan(interest)
        note = gettext("Current interaction: %(subject)s", subject=current.subject) \
            if current is not None else None
        return done or self.command_page(
            interest, form, gettext("Move to another stage"), "move", error, note,
            load=_load(interest, form))

    @expose("/close/<int:pk>", methods=["GET", "POST"])
    @has_access
    def close(self, pk):
        interest = self._get_item(pk, "edit")
        form = CloseForm()
        self.read_version(interest, form)
        if request.method == "GET" and request.args.get("outcome") in sales.OUTCOMES:
            form.outcome.data = request.args["outcome"]
        done, error = self.run_command(form, lambda: sales.close(
            interest, form.outcome.data, result=form.result.data,
            reason_id=form.reason.data.id if form.reason.data is not None else None,
            seen_version=form.version.data), gettext("The interest is closed."),
            self.record_url(interest))
        return done or self.command_page(interest, form, gettext("Close the interest"),
                                          "close", error)

    @expose("/reopen/<int:pk>", methods=["GET", "POST"])
    @has_access
    def reopen(self, pk):
        interest = self._get_item(pk, "edit")
        form = ReopenForm()
        self._stage_choices(interest, form, exclude_current=False)
        self.read_version(interest, form)
        if request.method == "GET":
            before = sales.stage_before_closing(interest)
            form.stage.data = before.id if before is not None else None
        done, error = self.run_command(form, lambda: sales.reopen(
            interest, plan_of(form), stage=db.session.get(Stage, form.stage.data),
            seen_version=form.version.data), gettext("The interest is open again."),
            self.record_url(interest))
        return done or self.command_page(interest, form, gettext("Reopen the interest"),
                                          "reopen", error, load=_load(interest, form))

    @expose("/create_client/<int:pk>", methods=["POST"])
    @has_access
    def create_client(self, pk):
        interest = self._get_item(pk, "edit")
        form = VersionForm()
        if not form.validate():
            abort(400)
        try:
            client = sales.create_client(interest, seen_version=form.version.data)
        except records.DomainError as error:
            db.session.rollback()
            if in_dialog():
                return self.render_template("crm/message_fragment.html",
                                            message=error.message), 422
            flash(error.message, "danger")
        else:
            message = gettext("The client %(name)s is created and linked.", name=client.name)
            if in_dialog():
                return done_in_dialog(message)
            flash(message, "success")
        return redirect(self.record_url(interest))

    @expose("/link_client/<int:pk>", methods=["GET", "POST"])
    @has_access
    def link_client(self, pk):
        interest = self._get_item(pk, "edit")
        form = LinkClientForm()
        self.read_version(interest, form)
        done, error = self.run_command(form, lambda: sales.link_client(
            interest, form.client.data, seen_version=form.version.data),
            gettext("The client is linked."), self.record_url(interest))
        return done or self.command_page(interest, form, gettext("Link an existing client"),
                                          "link_client", error)


def _following(interest, choices) -> int | None:
    """The open stage after the interest's own: where a move usually goes."""
    after = [pk for pk, _name in choices
             if (stage := db.session.get(Stage, pk)) is not None
             and stage.sort > interest.stage.sort]
    return after[0] if after else (choices[0][0] if choices else None)


def _load(interest, form) -> str | None:
    """The responsible's load on the day of the next plan, as the form shows it."""
    when = form.next_planned_at.data
    if when is None:
        return None
    return load_text(board.day_load(interest.responsible_id, when.date()), interest.responsible)
