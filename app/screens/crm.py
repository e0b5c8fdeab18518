"""The screens of the CRM's records that do more than their declaration says: who can see
a client, a call that inherits its client; the interest's card (app.screens.interest)."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager, nullcontext

from flask import request, url_for
from flask_appbuilder import expose
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import Select2ManyWidget
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired

from app.database import db
from app.entities.crm import CLIENT, INTERACTION
from app.entities.declaration import Section
from app.fab import custom_form
from app.fab.crud import CrmModelView
from app.labels import LABELS
from app.models import CLIENT_KINDS, Client, Interaction
from app.screens.base import CrmView, screen_attributes
from app.screens.command_forms import CommandForms, command_form
from app.screens.intake import InquiryView
from app.screens.interest import InterestView
from app.screens.plan_form import plan_fields, plan_of
from app.services import bounds, calendar, cards, duplicates, plans, sales, worklists
from app.services.clock import to_local
from app.services.errors import RuleBroken


class ClientView(CrmView, entity=CLIENT):
    """The client's card: requisites, contact persons, open and closed interests, what is
    planned and what was done, with "new interest", "plan an interaction" and "add a
    contact". A client repeating another's INN and KPP is refused, one repeating a phone or
    an e-mail is saved when the user confirms it (R8): the form names the other client."""

    show_readers = True
    show_template = "crm/client_card.html"
    show_related = False  # the card lists them, each with "all N"
    add_columns = [*CLIENT.form, "confirm_duplicates"]
    edit_columns = [*CLIENT.edit, "confirm_duplicates"]
    add_form_extra_fields = {**screen_attributes(CLIENT)["add_form_extra_fields"],
                             "confirm_duplicates": BooleanField(LABELS["confirm_duplicates"])}
    edit_form_extra_fields = {**screen_attributes(CLIENT)["edit_form_extra_fields"],
                              "confirm_duplicates": BooleanField(LABELS["confirm_duplicates"])}
    form_only_fields = ("confirm_duplicates",)

    def show_extras(self, client) -> dict:
        return {"card": cards.client_card(client), "labels": LABELS, "kinds": CLIENT_KINDS,
                "can_edit": self.can("can_edit"),
                "can_add_interest": self.can("can_add", "InterestView"),
                "can_add_contact": self.can("can_add", "ContactView"),
                "can_add_interaction": self.can("can_add", "InteractionView"),
                "can_edit_interaction": self.can("can_edit", "InteractionView"),
                **custom_form.card_extras(client, self)}

    @staticmethod
    @contextmanager
    def _judged(form):
        """The save, confirmed if the user ticked the box; a confirmable duplicate found
        shows the box (it is not offered before there is something to confirm)."""
        try:
            with duplicates.confirmed() if form.confirm_duplicates.data else nullcontext():
                yield
        except duplicates.DuplicateFound as found:
            form.duplicate_confirmable = found.confirmable
            raise

    def create_record(self, item, fill, form) -> None:
        with self._judged(form):
            super().create_record(item, fill, form)

    def update_record(self, item, change, seen_version, form) -> None:
        with self._judged(form):
            super().update_record(item, change, seen_version, form)

    @staticmethod
    def _unasked(form, exclude_cols) -> list:
        if getattr(form, "duplicate_confirmable", False) or form.confirm_duplicates.data:
            return list(exclude_cols or [])
        return [*(exclude_cols or []), "confirm_duplicates"]

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        return super()._get_add_widget(form, self._unasked(form, exclude_cols), widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        return super()._get_edit_widget(form, self._unasked(form, exclude_cols), widgets)


CompleteForm = command_form("CompleteForm", {
    "result": TextAreaField(LABELS["result"], [DataRequired()]),
    **plan_fields(required=False),
})
CancelForm = command_form("CancelForm", {
    "result": TextAreaField(_l("Why it is cancelled")),
    **plan_fields(required=False),
})


def _client_contacts() -> list:
    """The contact persons who may take part: those of the client the form names (posted,
    prefilled from a link, or the edited interaction's)."""
    raw = request.form.get("client") or request.args.get("_flt_0_client") or ""
    client_id = bounds.as_key(Client.id, raw) if raw else None
    pk = (request.view_args or {}).get("pk")
    if client_id is None and pk is not None:
        key = bounds.as_key(Interaction.id, pk)
        interaction = calendar.editable(key) if key is not None else None
        client_id = interaction.client_id if interaction is not None else None
    return calendar.contacts_of(client_id)


MEETING_FIELDS = ("participant_users", "participant_contacts", "confirm_busy")
BUSY = "busy"


def _meeting_fields() -> dict:
    return {
        "participant_users": QuerySelectMultipleField(
            LABELS["participant_users"], query_func=calendar.employees,
            get_pk_func=lambda user: user.id, widget=Select2ManyWidget()),
        "participant_contacts": QuerySelectMultipleField(
            LABELS["participant_contacts"], query_func=_client_contacts,
            get_pk_func=lambda contact: contact.id, widget=Select2ManyWidget(),
            description=_l("Contact persons of the chosen client.")),
        "confirm_busy": BooleanField(LABELS["confirm_busy"]),
    }


class InteractionView(CommandForms, CrmView, entity=INTERACTION):
    """Done with its result, or cancelled: the last plan of an open interest asks for the
    next one in the same form (R1). A meeting has participants, employees and the client's
    contact persons; planning it over someone's busy time warns with what they are busy
    with, and saves when the user confirms."""

    method_permission_name = {**CrmModelView.method_permission_name,
                              "complete": "edit", "cancel": "edit"}
    show_template = "crm/interaction_show.html"
    add_template = "crm/interaction_add.html"
    edit_template = "crm/interaction_edit.html"
    add_columns = [*INTERACTION.form, *MEETING_FIELDS]
    edit_columns = [*INTERACTION.edit, *MEETING_FIELDS]
    add_form_extra_fields = {**screen_attributes(INTERACTION)["add_form_extra_fields"],
                             **_meeting_fields()}
    edit_form_extra_fields = {**screen_attributes(INTERACTION)["edit_form_extra_fields"],
                              **_meeting_fields()}
    form_only_fields = MEETING_FIELDS
    form_sections = (Section(_l("Meeting"), MEETING_FIELDS),)

    def show_extras(self, interaction) -> dict:
        return {"participants": list(interaction.participants),
                "calendar_day": to_local(interaction.planned_at).date().isoformat()
                if interaction.planned_at else None}

    def prefill_form(self, form, pk) -> None:
        super().prefill_form(form, pk)
        item = self._get_item(pk, "edit")
        form.participant_users.data = [p.user for p in item.participants if p.user_id]
        form.participant_contacts.data = [p.contact for p in item.participants
                                          if p.contact_id]

    @staticmethod
    def _when_and_who(item) -> tuple:
        responsible = item.responsible.id if item.responsible is not None \
            else item.responsible_id
        return (item.planned_at, item.planned_minutes, responsible, item.status,
                sorted(p.user_id for p in item.participants if p.user_id))

    def _with_meeting(self, form, apply, before=None):
        """`apply` (the form's fill or change) and the participants; then, unless the user
        confirmed it or changed neither the time nor who takes part (`before`: what they
        were), a refusal naming whoever is busy at that time."""
        def applied(item):
            apply(item)
            calendar.set_participants(item, form.participant_users.data,
                                      form.participant_contacts.data)
            if form.confirm_busy.data or (
                    before is not None and self._when_and_who(item) == before):
                return
            with db.session.no_autoflush:
                clashes = calendar.clashes_of(item)
            if clashes:
                form.busy_confirmable = True
                message = " ".join([gettext("Someone is busy at that time:"),
                                    "; ".join(calendar.describe(c) for c in clashes[:5]),
                                    gettext("Tick the box to plan it anyway.")])
                raise RuleBroken(BUSY, message, {"confirm_busy": [message]})
        return applied

    def create_record(self, item, fill, form) -> None:
        super().create_record(item, self._with_meeting(form, fill), form)

    def update_record(self, item, change, seen_version, form) -> None:
        super().update_record(item, self._with_meeting(form, change, self._when_and_who(item)),
                              seen_version, form)

    @staticmethod
    def _unasked(form, exclude_cols) -> list:
        if getattr(form, "busy_confirmable", False) or form.confirm_busy.data:
            return list(exclude_cols or [])
        return [*(exclude_cols or []), "confirm_busy"]

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        return super()._get_add_widget(form, self._unasked(form, exclude_cols), widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        return super()._get_edit_widget(form, self._unasked(form, exclude_cols), widgets)

    def _back(self, interaction) -> str:
        if interaction.interest_id is not None:
            return url_for("InterestView.show", pk=interaction.interest_id)
        return self.record_url(interaction)

    def _note(self, interaction):
        if interaction.interest_id is not None and interaction.interest.is_open and \
                plans.planned_count(interaction.interest_id, excluding=interaction.id) == 0:
            return gettext("This is the last planned interaction of the interest "
                           "\"%(interest)s\": plan the next one.",
                           interest=interaction.interest.title)
        return None

    @expose("/complete/<int:pk>", methods=["GET", "POST"])
    @has_access
    def complete(self, pk):
        interaction = self._get_item(pk, "edit")
        form = CompleteForm()
        self.read_version(interaction, form)
        done, error = self.run_command(form, lambda: sales.complete(
            interaction, result=form.result.data, plan=plan_of(form),
            seen_version=form.version.data), gettext("Done."), self._back(interaction))
        return done or self.command_page(
            interaction, form, gettext("Complete: %(subject)s", subject=interaction.subject),
            "complete", error, self._note(interaction), back=self._back(interaction))

    @expose("/cancel/<int:pk>", methods=["GET", "POST"])
    @has_access
    def cancel(self, pk):
        interaction = self._get_item(pk, "edit")
        form = CancelForm()
        self.read_version(interaction, form)
        done, error = self.run_command(form, lambda: sales.cancel(
            interaction, reason=form.result.data, plan=plan_of(form),
            seen_version=form.version.data), gettext("Cancelled."), self._back(interaction))
        return done or self.command_page(
            interaction, form, gettext("Cancel: %(subject)s", subject=interaction.subject),
            "cancel", error, self._note(interaction), back=self._back(interaction))

    def _prefill_parents(self, form) -> None:
        """An empty time clicked in the calendar (app.screens.calendar) opens the form with
        that time (the company's, as typed) and length filled in."""
        super()._prefill_parents(form)
        try:
            when = dt.datetime.fromisoformat((request.args.get("planned_at") or "")[:16])
        except ValueError:
            when = None
        if when is not None and "planned_at" in form:
            form.planned_at.data = when
        minutes = request.args.get("planned_minutes", type=int)
        if minutes is not None and 5 <= minutes <= 24 * 60 and "planned_minutes" in form:
            form.planned_minutes.data = minutes

    def inherit_from_parent(self, form, name, parent):
        """A call added to an interest or a contact is the client's too."""
        client = getattr(parent, "client", None) if name in ("interest", "contact") else None
        if client is not None and form.client.data is None:
            self._fill(form, "client", client)

    def row_class(self, item) -> str:
        return worklists.interaction_row_class(item)


SCREENS = [ClientView, InteractionView, InterestView, InquiryView]
