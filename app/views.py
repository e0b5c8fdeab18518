"""The CRM screens: one generated CRUD screen per entity, the start page, the menus."""

from __future__ import annotations

from flask import g, url_for
from flask_appbuilder import IndexView, expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from app import history
from app.entities import TRACKED_MODELS
from app.fab.crud import CrmModelView, interface
from app.fab.widgets import StageSelectWidget
from app.labels import LABELS
from app.lookup import LookupField, LookupView
from app.menu import CATEGORY_LABELS, MENU
from app.models import (
    CLIENT_KINDS,
    CURRENCIES,
    DICTIONARY_KINDS,
    INQUIRY_CHANNELS,
    INQUIRY_STATUSES,
    INTERACTION_STATUSES,
    REQUISITES_TEMPLATES,
    STAGE_KINDS,
    ChangeLog,
    Client,
    CompanyRequisites,
    Contact,
    Department,
    DictionaryItem,
    Inquiry,
    Interaction,
    Interest,
    InterestProduct,
    Pipeline,
    Product,
    ProductGroup,
    Stage,
)
from app.services import worklists
from app.services.readers import readers_of


def choice(label_key: str, choices: dict, default=None) -> SelectField:
    return SelectField(LABELS[label_key], choices=list(choices.items()), default=default,
                       widget=Select2Widget())


def lookup(label_key: str, entity: str, required: bool = False) -> LookupField:
    return LookupField(LABELS[label_key], [DataRequired() if required else Optional()],
                       entity=entity)


def _choice_formatter(choices: dict):
    return lambda value: choices.get(value, value or "")


AUDIT_SHOW = ["created_on", "created_by", "changed_on", "changed_by"]


class CrmView(CrmModelView):
    label_columns = LABELS
    show_template = "crm/show.html"
    # Show "who can see this record" under the record.
    show_readers = False

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        changes = readers = None
        if self.datamodel.obj in TRACKED_MODELS:
            changes = history.change_history(self.datamodel.obj, int(pk))
        if self.show_readers:
            readers = readers_of(self._get_item(pk))
        return self.render_template(self.show_template, pk=pk, title=self.show_title,
                                    widgets=widgets, related_views=self._related_views,
                                    history=changes, readers=readers)


# --- Directories -----------------------------------------------------------------------------


class DictionaryItemView(CrmView):
    datamodel = interface(DictionaryItem)
    list_title = _l("Directories")
    show_title = add_title = edit_title = _l("Directory item")
    list_columns = ["kind", "name", "code", "sort", "points", "color", "is_system"]
    show_columns = ["kind", "name", "code", "sort", "points", "color", "is_system", *AUDIT_SHOW]
    add_columns = ["kind", "name", "code", "sort", "points", "color"]
    edit_columns = ["name", "code", "sort", "points", "color"]
    search_columns = ["kind", "name", "code"]
    order_columns = ["kind", "name", "sort", "points"]
    base_order = ("kind", "asc")
    formatters_columns = {"kind": _choice_formatter(DICTIONARY_KINDS)}
    add_form_extra_fields = {"kind": choice("kind", DICTIONARY_KINDS)}


class DepartmentView(CrmView):
    datamodel = interface(Department)
    list_title = _l("Departments")
    show_title = add_title = edit_title = _l("Department")
    list_columns = ["name", "parent", "head", "activity_norm"]
    show_columns = ["name", "parent", "head", "activity_norm", "roles", *AUDIT_SHOW]
    add_columns = edit_columns = ["name", "parent", "head", "activity_norm", "roles"]
    search_columns = ["name", "parent", "head"]
    order_columns = ["name", "activity_norm", "parent", "head"]
    base_order = ("name", "asc")


class ProductGroupView(CrmView):
    datamodel = interface(ProductGroup)
    list_title = _l("Product groups")
    show_title = add_title = edit_title = _l("Product group")
    list_columns = ["name", "parent", "sort"]
    show_columns = ["name", "parent", "sort", *AUDIT_SHOW]
    add_columns = edit_columns = ["name", "parent", "sort"]
    search_columns = ["name", "parent"]
    order_columns = ["name", "sort", "parent"]
    base_order = ("sort", "asc")


class ProductView(CrmView):
    datamodel = interface(Product)
    list_title = _l("Price list")
    show_title = add_title = edit_title = _l("Product")
    list_columns = ["name", "sku", "group", "unit", "price", "currency", "is_active"]
    show_columns = ["name", "sku", "group", "unit", "price", "currency", "is_active",
                    "description", *AUDIT_SHOW]
    add_columns = edit_columns = ["name", "sku", "group", "unit", "price", "currency",
                                  "is_active", "description"]
    search_columns = ["name", "sku", "group", "is_active", "price"]
    order_columns = ["name", "sku", "price", "group"]
    base_order = ("name", "asc")
    add_form_extra_fields = edit_form_extra_fields = {
        "currency": choice("currency", CURRENCIES, "RUB")}


class PipelineView(CrmView):
    datamodel = interface(Pipeline)
    list_title = _l("Pipelines")
    show_title = add_title = edit_title = _l("Pipeline")
    list_columns = ["name", "sort", "is_default"]
    show_columns = ["name", "sort", "is_default", *AUDIT_SHOW]
    add_columns = edit_columns = ["name", "sort", "is_default"]
    search_columns = ["name"]
    order_columns = ["name", "sort"]
    base_order = ("sort", "asc")


class StageView(CrmView):
    datamodel = interface(Stage)
    list_title = _l("Stages")
    show_title = add_title = edit_title = _l("Stage")
    list_columns = ["pipeline", "sort", "name", "kind", "color", "requires_client", "is_system"]
    show_columns = ["pipeline", "sort", "name", "kind", "color", "requires_client",
                    "is_system", *AUDIT_SHOW]
    add_columns = ["pipeline", "sort", "name", "kind", "color", "requires_client"]
    edit_columns = ["sort", "name", "color", "requires_client"]
    search_columns = ["pipeline", "name", "kind"]
    order_columns = ["pipeline", "sort", "name"]
    base_order = ("sort", "asc")
    formatters_columns = {"kind": _choice_formatter(STAGE_KINDS)}
    add_form_extra_fields = {"kind": choice("kind", STAGE_KINDS, "open")}


class CompanyRequisitesView(CrmView):
    datamodel = interface(CompanyRequisites)
    list_title = show_title = add_title = edit_title = _l("My requisites")
    list_columns = ["short_name", "inn", "kpp", "ogrn", "director", "is_default"]
    show_columns = ["template", "full_name", "short_name", "inn", "kpp", "ogrn", "address",
                    "bank_name", "bik", "account", "corr_account", "director", "is_default",
                    *AUDIT_SHOW]
    add_columns = edit_columns = ["template", "full_name", "short_name", "inn", "kpp", "ogrn",
                                  "address", "bank_name", "bik", "account", "corr_account",
                                  "director", "is_default"]
    search_columns = ["short_name", "inn"]
    order_columns = ["short_name", "inn"]
    formatters_columns = {"template": _choice_formatter(REQUISITES_TEMPLATES)}
    add_form_extra_fields = edit_form_extra_fields = {
        "template": choice("template", REQUISITES_TEMPLATES, "company")}


class ChangeLogView(CrmView):
    datamodel = interface(ChangeLog)
    list_title = show_title = _l("History")
    base_permissions = ["can_list", "can_show"]
    muldelete = None  # the history is read-only: no bulk delete either
    list_columns = ["changed_at", "user", "entity", "record_id", "action"]
    show_columns = ["changed_at", "user", "entity", "record_id", "action"]
    search_columns = ["entity", "record_id", "action", "user", "changed_at"]
    order_columns = ["changed_at", "entity", "record_id", "user"]
    base_order = ("changed_at", "desc")
    formatters_columns = {"entity": history.entity_label, "action": history.action_label}

    def list_values(self, rows) -> list[dict]:
        """The record by its name, linked to its page."""
        values = super().list_values(rows)
        links = history.record_links(rows)
        for row, value in zip(rows, values, strict=True):
            value["record_id"] = history.record_link(row.entity, row.record_id, links)
        return values

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        row = self._get_item(pk)
        entry = history.describe_entry(row)
        entry["record"] = history.record_link(row.entity, row.record_id,
                                              history.record_links([row]))
        return self.render_template(self.show_template, pk=pk, title=self.show_title,
                                    widgets=widgets, related_views=self._related_views,
                                    history=[entry], readers=None)


# --- CRM ---------------------------------------------------------------------------------------


class ContactView(CrmView):
    datamodel = interface(Contact)
    list_title = _l("Contacts")
    show_title = add_title = edit_title = _l("Contact")
    list_columns = ["name", "client", "position", "phone", "email", "is_key"]
    show_columns = ["name", "client", "position", "phone", "email", "birthday", "is_key",
                    "responsible", *AUDIT_SHOW]
    add_columns = edit_columns = ["client", "name", "position", "phone", "email", "birthday",
                                  "is_key", "responsible"]
    search_columns = ["name", "phone", "email", "is_key", "responsible"]
    order_columns = ["name", "client", "position"]
    base_order = ("name", "asc")
    add_form_extra_fields = edit_form_extra_fields = {
        "client": lookup("client", "client", required=True)}


class InteractionView(CrmView):
    datamodel = interface(Interaction)
    list_title = _l("Interactions")
    show_title = add_title = edit_title = _l("Interaction")
    list_columns = ["planned_at", "type", "subject", "client", "interest", "responsible",
                    "status"]
    show_columns = ["subject", "type", "status", "planned_at", "done_at", "client", "contact",
                    "interest", "responsible", "result", *AUDIT_SHOW]
    add_columns = edit_columns = ["type", "subject", "client", "contact", "interest",
                                  "responsible", "planned_at", "status", "done_at", "result"]
    search_columns = ["subject", "type", "status", "responsible", "planned_at"]
    order_columns = ["planned_at", "subject", "status", "type", "responsible", "client"]
    base_order = ("planned_at", "desc")
    formatters_columns = {"status": _choice_formatter(INTERACTION_STATUSES)}
    add_form_extra_fields = edit_form_extra_fields = {
        "status": choice("status", INTERACTION_STATUSES, "planned"),
        "client": lookup("client", "client"),
        "contact": lookup("contact", "contact"),
        "interest": lookup("interest", "interest"),
    }

    def inherit_from_parent(self, form, name, parent):
        """A call added to an interest or a contact is the client's too."""
        client = getattr(parent, "client", None) if name in ("interest", "contact") else None
        if client is not None and form.client.data is None:
            self._fill(form, "client", client)

    def row_class(self, item) -> str:
        return worklists.interaction_row_class(item)


class InterestProductView(CrmView):
    datamodel = interface(InterestProduct)
    list_title = show_title = add_title = edit_title = _l("Interest products")
    list_columns = ["interest", "product", "quantity", "price", "discount", "total"]
    show_columns = ["interest", "product", "quantity", "price", "discount", "total",
                    *AUDIT_SHOW]
    add_columns = edit_columns = ["interest", "product", "quantity", "price", "discount"]
    search_columns = ["product"]
    order_columns = ["product", "quantity", "price"]
    add_form_extra_fields = edit_form_extra_fields = {
        "interest": lookup("interest", "interest", required=True)}


class InterestView(CrmView):
    datamodel = interface(Interest)
    list_title = _l("Interests")
    show_title = add_title = edit_title = _l("Interest")
    list_columns = ["title", "client_display", "pipeline", "stage", "amount", "currency",
                    "responsible", "flagged"]
    list_eager_relations = ("client",)
    show_columns = ["title", "description", "client", "potential_name", "potential_company",
                    "potential_email", "potential_phone", "pipeline", "stage", "service_type",
                    "deal_type", "source", "amount", "currency", "responsible", "tags",
                    "flagged", "closed_at", "closed_by", "lost_reason", *AUDIT_SHOW]
    add_columns = edit_columns = [
        "title", "description", "client", "potential_name", "potential_company",
        "potential_email", "potential_phone", "pipeline", "stage", "service_type",
        "deal_type", "source", "amount", "currency", "responsible", "tags", "flagged"]
    search_columns = ["title", "pipeline", "stage", "service_type", "responsible", "tags",
                      "amount", "flagged", "potential_company"]
    order_columns = ["title", "amount", "stage", "responsible", "pipeline", "client"]
    add_form_extra_fields = edit_form_extra_fields = {
        "currency": choice("currency", CURRENCIES, "RUB"),
        "client": lookup("client", "client"),
    }
    related_views = [InteractionView, InterestProductView]
    show_readers = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The stage box offers the chosen pipeline's stages only (crm/stages.js).
        for form_class in (self.add_form, self.edit_form):
            form_class.stage.kwargs["widget"] = StageSelectWidget()


class ClientView(CrmView):
    datamodel = interface(Client)
    list_title = _l("Clients")
    show_title = add_title = edit_title = _l("Client")
    list_columns = ["name", "kind", "inn", "phone", "email", "responsible"]
    show_columns = ["name", "kind", "inn", "kpp", "ogrn", "phone", "email", "site", "address",
                    "industry", "size", "contact_type", "source", "responsible", "tags",
                    "abc_class", "xyz_class", "comment", *AUDIT_SHOW]
    add_columns = edit_columns = ["kind", "name", "inn", "kpp", "ogrn", "phone", "email",
                                  "site", "address", "industry", "size", "contact_type",
                                  "source", "responsible", "tags", "comment"]
    search_columns = ["name", "inn", "phone", "email", "responsible", "industry", "source",
                      "tags", "kind"]
    order_columns = ["name", "inn", "responsible", "created_on"]
    base_order = ("name", "asc")
    formatters_columns = {"kind": _choice_formatter(CLIENT_KINDS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": choice("kind", CLIENT_KINDS, "company")}
    related_views = [ContactView, InterestView, InteractionView]
    show_readers = True


class InquiryView(CrmView):
    datamodel = interface(Inquiry)
    list_title = _l("Inquiries")
    show_title = add_title = edit_title = _l("Inquiry")
    list_columns = ["received_at", "channel", "sender_name", "sender_company", "manager",
                    "status"]
    show_columns = ["received_at", "channel", "inquiry_type", "text", "sender_name",
                    "sender_company", "sender_phone", "sender_email", "manager", "status",
                    "client", "interest", *AUDIT_SHOW]
    add_columns = edit_columns = ["channel", "inquiry_type", "text", "sender_name",
                                  "sender_company", "sender_phone", "sender_email",
                                  "received_at", "manager", "status", "client", "interest"]
    search_columns = ["status", "channel", "sender_name", "sender_company", "sender_phone",
                      "sender_email", "manager", "received_at"]
    order_columns = ["received_at", "status", "channel", "manager"]
    base_order = ("received_at", "desc")
    formatters_columns = {"channel": _choice_formatter(INQUIRY_CHANNELS),
                          "status": _choice_formatter(INQUIRY_STATUSES)}
    add_form_extra_fields = edit_form_extra_fields = {
        "channel": choice("channel", INQUIRY_CHANNELS, "call"),
        "status": choice("status", INQUIRY_STATUSES, "new"),
        "client": lookup("client", "client"),
        "interest": lookup("interest", "interest"),
    }


# --- Start page --------------------------------------------------------------------------------


class HomeView(IndexView):
    """The start page: what needs my attention today."""

    route_base = ""
    index_template = "crm/index.html"

    @expose("/")
    def index(self):
        from app.database import db

        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                        tiles=None)
        figures = worklists.counts(db.session, user.id)
        tiles = [(name, figures[name], worklists.WORKLISTS[name].label,
                  url_for(f"{TILE_VIEWS[name]}.list", worklist=name))
                 for name in ("overdue", "today", "my_open_interests", "new_inquiries")]
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    tiles=tiles)


# The list screen behind each tile of the start page.
TILE_VIEWS = {"overdue": "InteractionView", "today": "InteractionView",
              "my_open_interests": "InterestView", "new_inquiries": "InquiryView"}


# --- Registration --------------------------------------------------------------------------------

# (view, name, label, category, icon) — also the list the generic tests walk through.
# The CRUD screens: every entity's list, record page and forms (the generic tests walk
# them). Which of them the menu shows, and in what order, is app.menu's.
CRUD_SCREENS = [
    ClientView, ContactView, InquiryView, InterestView, InteractionView, InterestProductView,
    ProductView, ProductGroupView, DictionaryItemView, PipelineView, StageView,
    DepartmentView, CompanyRequisitesView, ChangeLogView,
]


def register(appbuilder) -> None:
    """The menu's pages with their entries, in the menu's order; then the CRUD screens the
    menu leaves out and the look-ups, without one."""
    appbuilder.add_view_no_menu(LookupView)
    pages = {view.__name__: view for view in CRUD_SCREENS}
    for entry in MENU:
        appbuilder.add_view(pages[entry.view], entry.name, label=entry.label,
                            category=entry.category, icon=entry.icon,
                            category_label=CATEGORY_LABELS[entry.category])
    in_menu = {entry.view for entry in MENU}
    for view in CRUD_SCREENS:
        if view.__name__ not in in_menu:
            appbuilder.add_view_no_menu(view)
