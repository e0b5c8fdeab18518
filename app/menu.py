"""The menu, in its order: each entry a page by its view's class name, the name FAB knows
it by (its `menu_access` permission), its label, category and icon.

The menu is declared apart from the list of CRUD screens (app.views.CRUD_SCREENS) that the
generic tests walk: a board or a report joins the menu without becoming a CRUD screen, and
a CRUD screen may stay out of the menu. Plain data: the rights (app.services.rights) read
it without importing any screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class MenuEntry:
    view: str
    name: str
    label: object
    category: str
    icon: str


MENU = [
    MenuEntry("ClientView", "Clients", _l("Clients"), "CRM", "fa-building"),
    MenuEntry("ContactView", "Contacts", _l("Contacts"), "CRM", "fa-address-book"),
    MenuEntry("InquiryView", "Inquiries", _l("Inquiries"), "CRM", "fa-inbox"),
    MenuEntry("InterestView", "Interests", _l("Interests"), "Sales", "fa-handshake-o"),
    MenuEntry("InteractionView", "Interactions", _l("Interactions"), "Sales", "fa-phone"),
    MenuEntry("InterestProductView", "Interest products", _l("Interest products"), "Sales",
              "fa-cart-plus"),
    MenuEntry("ProductView", "Price list", _l("Price list"), "Directories", "fa-tags"),
    MenuEntry("ProductGroupView", "Product groups", _l("Product groups"), "Directories",
              "fa-folder"),
    MenuEntry("DictionaryItemView", "Directories", _l("Directories"), "Directories",
              "fa-list"),
    MenuEntry("PipelineView", "Pipelines", _l("Pipelines"), "Settings", "fa-filter"),
    MenuEntry("StageView", "Stages", _l("Stages"), "Settings", "fa-columns"),
    MenuEntry("DepartmentView", "Departments", _l("Departments"), "Settings", "fa-sitemap"),
    MenuEntry("CompanyRequisitesView", "My requisites", _l("My requisites"), "Settings",
              "fa-id-card"),
    MenuEntry("ChangeLogView", "History", _l("History"), "Settings", "fa-history"),
]

CATEGORY_LABELS = {
    "CRM": _l("CRM"),
    "Sales": _l("Sales"),
    "Directories": _l("Directories"),
    "Settings": _l("Settings"),
}
