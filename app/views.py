"""Where the screens are registered: one CRUD screen per declared entity (app.entities),
with its entry in the menu (app.menu), then the look-ups and the rights screens.

A screen with behaviour of its own is a class in app/screens/ by part of the product; every
other entity gets the screen its declaration describes."""

from __future__ import annotations

from app.entities import ENTITIES
from app.menu import CATEGORY_LABELS, MENU
from app.screens import crm, rights, settings
from app.screens.absences import AbsenceView
from app.screens.base import generic_screen
from app.screens.board import BoardView
from app.screens.calendar import CalendarView
from app.screens.calendar_feed import CalendarFeedView
from app.screens.custom_files import CustomFileView
from app.screens.exports import ExportView
from app.screens.handover import HandoverView
from app.screens.jobs import JobView
from app.screens.lookup import LookupView
from app.screens.my_tasks import MyTasksView
from app.screens.notifications import NotificationView
from app.screens.reports import ReportView
from app.screens.search import SearchView

_OWN = {screen.entity.model: screen for screen in [*crm.SCREENS, *settings.SCREENS]}

# The CRUD screens: every entity's list, record page and forms, in the declarations' order
# (the generic tests walk them). Which of them the menu shows is app.menu's.
CRUD_SCREENS = [_OWN.get(entity.model) or generic_screen(entity) for entity in ENTITIES]

_BY_MODEL = {screen.entity.model: screen for screen in CRUD_SCREENS}
for _screen in CRUD_SCREENS:
    # The lists shown under a record, as its declaration names them.
    if "related_views" not in _screen.__dict__:
        _screen.related_views = [_BY_MODEL[model] for model in _screen.entity.related]


def screen_of(model) -> type:
    """The CRUD screen of a model."""
    return _BY_MODEL[model]


def register(appbuilder) -> None:
    """The menu's pages with their entries, in the menu's order; then the CRUD screens the
    menu leaves out and the look-ups, without one; then users, roles and rights."""
    appbuilder.add_view_no_menu(LookupView)
    appbuilder.add_view_no_menu(SearchView)
    appbuilder.add_view_no_menu(CustomFileView)
    appbuilder.add_view_no_menu(NotificationView)
    appbuilder.add_view_no_menu(ExportView)
    appbuilder.add_view_no_menu(CalendarFeedView)
    appbuilder.add_view_no_menu(AbsenceView)
    pages = {view.__name__: view for view in [*CRUD_SCREENS, BoardView, CalendarView,
                                               MyTasksView, ReportView, JobView, HandoverView]}
    for entry in MENU:
        appbuilder.add_view(pages[entry.view], entry.name, label=entry.label,
                            category=entry.category, icon=entry.icon,
                            category_label=CATEGORY_LABELS[entry.category])
    in_menu = {entry.view for entry in MENU}
    for view in CRUD_SCREENS:
        if view.__name__ not in in_menu:
            appbuilder.add_view_no_menu(view)
    rights.register(appbuilder)
