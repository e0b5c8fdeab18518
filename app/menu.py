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


# Pages that are not an entity's list, first in their category. Whoever may read the
# entity they are a page of (its declaration's `pages`) sees them.
PAGES = [MenuEntry("MyTasksView", "My tasks", _l("My tasks"), "Sales", "fa-check-square-o"),
         MenuEntry("BoardView", "My sales", _l("My sales"), "Sales", "fa-columns"),
         MenuEntry("CalendarView", "Calendar", _l("Calendar"), "Sales", "fa-calendar"),
         MenuEntry("ReportView", "Reports", _l("Reports"), "Reports", "fa-bar-chart"),
         MenuEntry("JobView", "Jobs", _l("Jobs"), "Settings", "fa-clock-o")]

# The entities' lists, where and in the order their declarations place them (app.entities).
_LISTS = [MenuEntry(entity.view_name, entity.menu.name, entity.titles["list_title"],
                    entity.menu.category, entity.menu.icon)
          for entity in ENTITIES if entity.menu is not None]


def _placed(pages: list[MenuEntry], lists: list[MenuEntry]) -> list[MenuEntry]:
    menu = list(lists)
    for page in reversed(pages):
        first = next((i for i, entry in enumerate(menu) if entry.category == page.category),
                     len(menu))
        menu.insert(first, page)
    return menu


# Pages for those who may reassign work (app.services.rights grants their entries to the
# roles with a reassign right over interactions, interests or inquiries), last in their
# category.
REASSIGN_PAGES = [MenuEntry("HandoverView", "Hand over work", _l("Hand over work"), "Sales",
                            "fa-exchange")]


def _appended(pages: list[MenuEntry], menu: list[MenuEntry]) -> list[MenuEntry]:
    menu = list(menu)
    for page in pages:
        last = max((i for i, entry in enumerate(menu) if entry.category == page.category),
                   default=len(menu) - 1)
        menu.insert(last + 1, page)
    return menu


MENU = _appended(REASSIGN_PAGES, _placed(PAGES, _LISTS))

CATEGORY_LABELS = {
    "CRM": _l("CRM"),
    "Sales": _l("Sales"),
    "Reports": _l("Reports"),
    "Directories": _l("Directories"),
    "Settings": _l("Settings"),
}
