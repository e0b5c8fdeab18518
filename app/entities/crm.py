"""The CRM's own records: clients, their contact persons, inquiries, interests with their
products, and interactions. Each is owned by a responsible user."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.entities import checks
from app.entities.declaration import Entity, Lookup, Match, MenuPlace, Section
from app.models import (
    CLIENT_KINDS,
    CURRENCIES,
    INQUIRY_CHANNELS,
    INQUIRY_STATUSES,
    INTERACTION_STATUSES,
    Client,
    Contact,
    Inquiry,
    Interaction,
    Interest,
    InterestProduct,
)
from app.rules.validation import (
    birthday_key,
    email_domain,
    normalize_name,
    normalize_phone,
    normalize_search,
    phone_search_prefix,
    phone_tail,
)

MAIN = _l("Main")
CLASSIFICATION = _l("Classification")
CONTACT_DETAILS = _l("Contacts")
CLIENT_SECTION = _l("Client")
INQUIRY_SECTION = _l("Inquiry")


def _digits(term: str) -> str:
    """The digits typed, when there are enough of them to look an INN or a phone up by."""
    digits = "".join(ch for ch in term if ch.isdigit())
    return digits if len(digits) >= 3 else ""


def _phone_prefix(term: str) -> str:
    return phone_search_prefix(term) if _digits(term) else ""


def _client_text(client) -> str:
    return f"{client.name} ({client.inn})" if client.inn else client.name


def _contact_text(contact) -> str:
    return f"{contact.name} — {contact.client.name}" if contact.client is not None \
        else contact.name


def _client_check(client) -> dict:
    if client.birthday is not None and client.kind != "person":
        return {"birthday": gettext("Only a person has a birthday; a company has none.")}
    return {}


CLIENT = Entity(
    Client, "client", owner="responsible", tracked=True,
    # Its list and resource, and the navbar's quick search (app.screens.search).
    pages=("ClientView", "ClientApi", "SearchView"),
    plural=_l("Clients"), label=_l("Client"),
    menu=MenuPlace("Clients", "CRM", "fa-building"),
    search_shadows={"name": ("name_search", normalize_name),
                    "phone": ("phone_normalized", normalize_phone),
                    "email": ("email_normalized", normalize_search)},
    search_keys={"phone": (("phone_tail", phone_tail),),
                 "email": (("email_domain", email_domain),),
                 "birthday": (("birthday_key", birthday_key),)},
    positioned_by="name_search",
    list=("name", "kind", "inn", "phone", "email", "responsible"),
    show=("name", "kind", "inn", "kpp", "ogrn", "phone", "email", "site", "address",
          "birthday", "industry", "size", "contact_type", "source", "responsible", "tags",
          "abc_class", "xyz_class", "comment"),
    form=("kind", "name", "inn", "kpp", "ogrn", "phone", "email", "site", "address",
          "birthday", "industry", "size", "contact_type", "source", "responsible", "tags",
          "comment"),
    api_read=("abc_class", "xyz_class"),
    search=("name", "inn", "phone", "email", "responsible", "industry", "source", "tags",
            "kind", "abc_class", "xyz_class"),
    order=("name", "inn", "responsible", "created_on"),
    base_order=("name", "asc"),
    api="client",
    api_search=("name", "inn", "phone", "email", "responsible", "kind", "abc_class",
                "xyz_class"),
    api_order=("id", "name", "inn", "created_on"),
    api_base_order=("name", "asc"),
    choices={"kind": (CLIENT_KINDS, "company")},
    lookup=Lookup((Match("name_search", normalize_name), Match("inn", _digits, optional=True),
                   Match("phone_normalized", _phone_prefix, optional=True)),
                  order="name_search", text=_client_text),
    related=(Contact, Interest, Interaction),
    sections=(Section(MAIN, ("kind", "name", "responsible", "comment")),
              Section(_l("Requisites"), ("inn", "kpp", "ogrn", "address")),
              Section(CONTACT_DETAILS, ("phone", "email", "site", "birthday")),
              Section(CLASSIFICATION, ("industry", "size", "contact_type", "source", "tags",
                                       "abc_class", "xyz_class"))),
    rules={"inn": checks.inn, "kpp": checks.kpp, "ogrn": checks.ogrn,
           "email": checks.email, "phone": checks.phone},
    check=_client_check,
)


def _contact_check(contact) -> dict:
    if contact.client_id is None and contact.client is None:
        return {"client": gettext("This field is required.")}
    return {}


CONTACT = Entity(
    Contact, "contact", owner="responsible", tracked=True,
    plural=_l("Contacts"), label=_l("Contact"),
    menu=MenuPlace("Contacts", "CRM", "fa-address-book"),
    search_shadows={"name": ("name_search", normalize_search),
                    "phone": ("phone_normalized", normalize_phone),
                    "email": ("email_normalized", normalize_search)},
    search_keys={"phone": (("phone_tail", phone_tail),),
                 "email": (("email_domain", email_domain),),
                 "birthday": (("birthday_key", birthday_key),)},
    list=("name", "client", "position", "phone", "email", "is_key"),
    show=("name", "client", "position", "phone", "email", "birthday", "is_key",
          "responsible"),
    form=("client", "name", "position", "phone", "email", "birthday", "is_key",
          "responsible"),
    search=("name", "phone", "email", "is_key", "responsible"),
    order=("name", "client", "position"),
    base_order=("name", "asc"),
    api="contact",
    api_search=("name", "client", "phone", "email"),
    api_order=("id", "name"),
    api_base_order=("name", "asc"),
    lookups={"client": "client"},
    lookup=Lookup((Match("name_search", normalize_search),), order="name_search",
                  text=_contact_text),
    sections=(Section(MAIN, ("client", "name", "position", "is_key", "responsible")),
              Section(CONTACT_DETAILS, ("phone", "email", "birthday"))),
    rules={"email": checks.email, "phone": checks.phone},
    check=_contact_check,
)

INQUIRY = Entity(
    Inquiry, "inquiry", owner="manager", tracked=True,
    plural=_l("Inquiries"), label=_l("Inquiry"),
    menu=MenuPlace("Inquiries", "CRM", "fa-inbox"),
    list=("received_at", "channel", "sender_name", "sender_company", "manager", "status"),
    show=("received_at", "channel", "inquiry_type", "text", "sender_name", "sender_company",
          "sender_phone", "sender_email", "manager", "status", "client", "interest"),
    form=("channel", "inquiry_type", "text", "sender_name", "sender_company", "sender_phone",
          "sender_email", "received_at", "manager", "status", "client", "interest"),
    search=("status", "channel", "sender_name", "sender_company", "sender_phone",
            "sender_email", "manager", "received_at"),
    order=("received_at", "status", "channel", "manager"),
    base_order=("received_at", "desc"),
    api="inquiry",
    api_search=("status", "channel", "sender_name", "sender_company", "manager"),
    api_order=("id", "received_at", "status"),
    choices={"channel": (INQUIRY_CHANNELS, "call"), "status": (INQUIRY_STATUSES, "new")},
    lookups={"client": "client", "interest": "interest"},
    rules={"sender_email": checks.email, "sender_phone": checks.phone},
    sections=(Section(INQUIRY_SECTION, ("received_at", "channel", "inquiry_type", "text")),
              Section(_l("Sender"), ("sender_name", "sender_company", "sender_phone",
                                     "sender_email")),
              Section(_l("Processing"), ("manager", "status", "client", "interest"))),
)


def _interest_check(interest) -> dict:
    errors = {}
    if interest.client_id is None and interest.client is None and not (
        (interest.potential_name or "").strip() or (interest.potential_company or "").strip()
    ):
        errors["client"] = gettext(
            "Choose a client or fill in the potential client's name or company")
    stage = interest.stage
    if stage is not None and interest.pipeline is not None \
            and stage.pipeline_id != interest.pipeline.id:
        errors["stage"] = gettext("The stage belongs to another pipeline")
    return errors


INTEREST = Entity(
    Interest, "interest", owner="responsible", tracked=True,
    # Its list and resource, and the board "My sales" as a page and as JSON.
    pages=("InterestView", "InterestApi", "BoardView", "KanbanApi"),
    plural=_l("Interests"), label=_l("Interest"),
    menu=MenuPlace("Interests", "Sales", "fa-handshake-o"),
    search_shadows={"title": ("title_search", normalize_search)},
    list=("title", "client_display", "pipeline", "stage", "amount", "currency",
          "responsible", "flagged"),
    show=("title", "description", "client", "potential_name", "potential_company",
          "potential_email", "potential_phone", "pipeline", "stage", "service_type",
          "deal_type", "source", "amount", "currency", "responsible", "tags", "flagged",
          "closed_at", "closed_by", "lost_reason"),
    form=("title", "description", "client", "potential_name", "potential_company",
          "potential_email", "potential_phone", "pipeline", "stage", "service_type",
          "deal_type", "source", "amount", "currency", "responsible", "tags", "flagged"),
    api_read=("closed_at", "closed_by", "lost_reason"),
    commanded=("pipeline", "stage", "closed_at", "closed_by", "lost_reason"),
    commanded_by=_l("An interest changes its stage and is closed or reopened only with its "
                    "commands: move, close and reopen (POST /api/v1/interest/<id>/move, "
                    "/close, /reopen)."),
    search=("title", "pipeline", "stage", "service_type", "responsible", "tags", "amount",
            "flagged", "potential_company"),
    order=("title", "amount", "stage", "responsible", "pipeline", "client"),
    api="interest",
    api_search=("title", "client", "pipeline", "stage", "responsible", "flagged"),
    api_order=("id", "title", "amount", "created_on"),
    choices={"currency": (CURRENCIES, "RUB")},
    lookups={"client": "client"},
    lookup=Lookup((Match("title_search", normalize_search),), order="title_search"),
    related=(Interaction, InterestProduct),
    sections=(Section(MAIN, ("title", "description", "pipeline", "stage", "amount",
                             "currency", "responsible", "flagged")),
              Section(CLIENT_SECTION, ("client", "potential_name", "potential_company",
                                       "potential_email", "potential_phone")),
              Section(CLASSIFICATION, ("service_type", "deal_type", "source", "tags")),
              Section(_l("Closing"), ("closed_at", "closed_by", "lost_reason"))),
    rules={"amount": checks.non_negative, "potential_email": checks.email,
           "potential_phone": checks.phone},
    check=_interest_check,
)


def _interaction_check(interaction) -> dict:
    if interaction.status == "done" and not (interaction.result or "").strip():
        return {"result": gettext("Describe the result of a done interaction")}
    return {}


INTERACTION = Entity(
    Interaction, "interaction", owner="responsible", tracked=True,
    # Its list and resource, the calendar (app.screens.calendar) and "My tasks".
    pages=("InteractionView", "InteractionApi", "CalendarView", "MyTasksView"),
    plural=_l("Interactions"), label=_l("Interaction"),
    menu=MenuPlace("Interactions", "Sales", "fa-phone"),
    list=("planned_at", "type", "subject", "client", "interest", "responsible", "status"),
    show=("subject", "type", "status", "planned_at", "planned_minutes", "place", "done_at",
          "client", "contact", "interest", "responsible", "given_by", "description",
          "result", "spent_minutes"),
    form=("type", "subject", "client", "contact", "interest", "responsible", "planned_at",
          "planned_minutes", "place", "description", "status", "done_at", "result",
          "spent_minutes"),
    # Who gave a task to a colleague: set by the command that gives it (app.services.my_tasks).
    api_read=("given_by",),
    search=("subject", "type", "status", "responsible", "planned_at"),
    order=("planned_at", "subject", "status", "type", "responsible", "client"),
    base_order=("planned_at", "desc"),
    api="interaction",
    api_search=("subject", "status", "type", "client", "interest", "responsible",
                "given_by", "planned_at", "done_at"),
    api_order=("id", "planned_at", "status"),
    choices={"status": (INTERACTION_STATUSES, "planned")},
    lookups={"client": "client", "contact": "contact", "interest": "interest"},
    sections=(Section(MAIN, ("type", "subject", "planned_at", "planned_minutes", "place",
                             "responsible", "given_by", "description", "status", "done_at",
                             "result", "spent_minutes")),
              Section(_l("With whom"), ("client", "contact", "interest"))),
    rules={"planned_minutes": checks.planned_minutes,
           "spent_minutes": checks.spent_minutes},
    check=_interaction_check,
)

INTEREST_PRODUCT = Entity(
    InterestProduct, "interest", parent="interest", pages=("InterestProductView",),
    plural=_l("Interest products"), label=_l("Interest products"),
    menu=MenuPlace("Interest products", "Sales", "fa-cart-plus"),
    list=("interest", "product", "quantity", "price", "discount", "total"),
    show=("interest", "product", "quantity", "price", "discount", "total"),
    form=("interest", "product", "quantity", "price", "discount"),
    search=("product",),
    order=("product", "quantity", "price"),
    lookups={"interest": "interest"},
    rules={"quantity": checks.non_negative, "price": checks.non_negative,
           "discount": checks.percent},
)

ENTITIES = [CLIENT, CONTACT, INQUIRY, INTEREST, INTERACTION, INTEREST_PRODUCT]
