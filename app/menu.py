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

from app.entities import ENTITIES


@dataclass(frozen=True)
class MenuEntry:
    view: str
    name: str
    label: object
    category: str
    icon: str


# The entities' lists, where and in the order their declarations place them (app.entities).
MENU = [MenuEntry(entity.view_name, entity.menu.name, entity.titles["list_title"],
                  entity.menu.category, entity.menu.icon)
        for entity in ENTITIES if entity.menu is not None]

CATEGORY_LABELS = {
    "CRM": _l("CRM"),
    "Sales": _l("Sales"),
    "Directories": _l("Directories"),
    "Settings": _l("Settings"),
}
