"""Rules of the code's structure that a reviewer would otherwise have to remember.

Owned records (clients, contacts, inquiries, interests, interactions and an interest's
products) are read only through the access filter: the lists' data model applies it on
every query, and everything else reads with `access.readable(...)`. A new board, export
or report that selects owned rows by hand fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

def _owned_models() -> set[str]:
    """The models whose records belong to someone: the declared entities the matrix scopes
    (an interest's products go with their interest)."""
    from app.entities import ENTITIES
    from app.services.principals import OWNED_ENTITIES

    return {entity.model.__name__ for entity in ENTITIES if entity.rights in OWNED_ENTITIES}


OWNED = _owned_models()

# Modules that may select owned rows directly, and why.
ALLOWED = {
    "services/access.py": "the access filter itself",
    "services/plans.py": "R1 counts every plan of an interest, whoever may see it",
    "services/duplicates.py": "R8 looks across every client; of one the user may not see "
                              "it tells only that it exists and whose it is",
    "fab/datamodel.py": "the lists' data model: every query it makes carries the filter",
    "services/reminders.py": "the jobs find whom to remind among every user; each user's "
                             "reminders are then read through the filter as that user",
    "services/report_tables.py": "the jobs compute the report tables of the whole company; "
                                 "each grid then reads them through the filter on its "
                                 "figures (access.figures_condition) as its user",
    "sample_data/demo.py": "the demo company, written by the system",
    "sample_data/generator.py": "bulk generated data, written by the system",
}

# Calls that read rows: select(...), session.query(...), .select_from(...), session.get(...)
_READS = {"select", "query", "select_from", "get"}


def _names_owned(node: ast.AST) -> bool:
    """Does the expression name an owned model (Client, Client.id, …) outside a call?"""
    if isinstance(node, ast.Name):
        return node.id in OWNED
    if isinstance(node, ast.Attribute):
        return _names_owned(node.value)
    if isinstance(node, (ast.Tuple, ast.List, ast.Starred)):
        return any(_names_owned(child) for child in ast.iter_child_nodes(node))
    return False


def _direct_reads(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else \
            func.attr if isinstance(func, ast.Attribute) else None
        if name not in _READS:
            continue
        arguments = node.args[:1] if name == "get" else node.args
        if any(_names_owned(argument) for argument in arguments):
            lines.append(node.lineno)
    return lines


def test_owned_records_are_read_through_the_access_filter():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP).as_posix()
        if relative in ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [f"app/{relative}:{line}" for line in _direct_reads(tree)]
    assert not offenders, (
        "owned records selected without the access filter; read them with "
        f"access.readable(model, …): {offenders}")


def test_the_check_sees_a_direct_read():
    """The scan itself: each way of reading is caught, reading through the filter is not."""
    caught = _direct_reads(ast.parse(
        "select(Client)\n"
        "session.query(Interest.id)\n"
        "select(func.count()).select_from(Contact)\n"
        "db.session.get(Inquiry, 5)\n"
        "access.readable(Client)\n"
        "select(CrmUser)\n"))
    assert sorted(caught) == [1, 2, 3, 4]


def test_importing_the_configuration_writes_nothing(tmp_path):
    """The development key and the SQLite file's folder are made by create_app, not by
    `import config` (a linter, a test collector or a tool importing it changes no disk)."""
    import os
    import subprocess
    import sys

    instance = tmp_path / "instance"
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("SECRET_KEY", "DATABASE_URL")}
    environment["CRM_INSTANCE_DIR"] = str(instance)
    subprocess.run([sys.executable, "-c", "import config"], check=True, env=environment,
                   cwd=APP.parent)
    assert not instance.exists()
    subprocess.run([sys.executable, "-c", "from app import create_app; create_app()"],
                   check=True, env=environment, cwd=APP.parent, capture_output=True)
    assert (instance / "secret_key").read_text().strip()


# What the rules (app/services/) may build on: the schema, the seed data, the menu's plain
# data and each other; never the screens, the API or the Flask-AppBuilder adapters.
SERVICE_MAY_IMPORT = ("app.services", "app.rules", "app.models", "app.entities", "app.seed",
                      "app.menu", "app.database")


def _app_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                found += [(node.lineno, f"app.{alias.name}") for alias in node.names]
            elif node.module.startswith("app."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names
                      if alias.name.startswith("app.")]
    return found


def test_the_rules_never_import_screens_or_the_api():
    offenders = []
    for path in sorted((APP / "services").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _app_imports(tree):
            if module.startswith(SERVICE_MAY_IMPORT):
                continue
            offenders.append(f"app/services/{path.name}:{line} imports {module}")
    assert not offenders, offenders


def test_the_menu_is_declared_apart_from_the_crud_screens(app):
    """app.menu orders the menu; app.views.CRUD_SCREENS are the screens the generic tests
    walk. Every entry names a registered page, and FAB's menu follows the declaration."""
    from app.menu import MENU
    from app.views import CRUD_SCREENS

    registered = {type(view).__name__ for view in app.appbuilder.baseviews}
    assert {entry.view for entry in MENU} <= registered
    assert {view.__name__ for view in CRUD_SCREENS} <= registered
    shown = [(category.name, item.name) for category in app.appbuilder.menu.get_list()
             for item in category.childs if item.name != "-"]
    declared = [(entry.category, entry.name) for entry in MENU]
    assert [pair for pair in shown if pair in declared] == declared


def test_every_screen_and_resource_is_declared_and_every_declaration_is_served(app):
    """app.entities is the one place an entity's facts live: every CRUD screen's model is
    declared, every page a declaration names is registered, and an owned entity's
    responsible is a relation to the users."""
    from app.entities import BY_MODEL, ENTITIES
    from app.models import CrmUser
    from app.views import CRUD_SCREENS

    assert {view.datamodel.obj for view in CRUD_SCREENS} <= set(BY_MODEL)
    registered = {type(view).__name__ for view in app.appbuilder.baseviews}
    for entity in ENTITIES:
        assert set(entity.page_names) <= registered, entity.model.__name__
        if entity.owner is not None:
            column = entity.owner_column
            assert column.property.columns[0].foreign_keys, entity.model.__name__
            relation = getattr(entity.model, entity.owner).property
            assert relation.mapper.class_ is CrmUser, entity.model.__name__


def test_the_rules_never_reach_into_flasks_request_globals():
    """The request's user and its per-request store come through
    app.services.request_scope, installed by the web layer."""
    offenders = []
    for path in sorted((APP / "services").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "flask" and any(
                    alias.name in ("g", "request", "session") for alias in node.names):
                offenders.append(f"app/services/{path.name}:{node.lineno}")
    assert not offenders, offenders


def test_screens_and_resources_read_and_write_what_their_declarations_say():
    """The columns of every CRUD screen and API resource come from the entity's declaration
    (app.entities): nothing restates them."""
    from app.api import RESOURCES
    from app.entities import BY_API, BY_MODEL
    from app.services import custom_fields
    from app.views import CRUD_SCREENS

    for view in CRUD_SCREENS:
        entity = BY_MODEL[view.datamodel.obj]
        assert view.entity is entity
        assert view.list_columns == list(entity.list), view.__name__
        assert view.show_columns[:len(entity.show)] == list(entity.show), view.__name__
        # Besides the record's own fields, a form may ask for what its command needs
        # (a new interest's first plan), never saved onto the record.
        assert [c for c in view.add_columns if c not in view.form_only_fields] == \
            list(entity.form), view.__name__
        assert [c for c in view.edit_columns if c not in view.form_only_fields] == \
            list(entity.edit), view.__name__
        assert view.search_columns == list(entity.search), view.__name__
        assert view.order_columns == list(entity.order), view.__name__
        assert view.list_title == entity.titles["list_title"], view.__name__
        assert [related.datamodel.obj for related in view.related_views] == \
            list(entity.related), view.__name__
    assert [resource.resource_name for resource in RESOURCES] == list(BY_API)
    for resource in RESOURCES:
        entity = BY_API[resource.resource_name]
        # A record with custom fields writes them as its `custom` object (app.fab.rest).
        custom = ["custom"] if custom_fields.entity_of(entity.model) else []
        written = [] if entity.read_only else [*entity.api_columns, *custom]
        assert resource.add_columns == written
        assert resource.edit_columns == [c for c in written if c not in entity.commanded]
        assert set(resource.show_columns) >= {"id", *written, *entity.api_read}


def test_an_entity_without_a_screen_of_its_own_gets_the_declared_one():
    """What a newly declared entity gets without writing a screen or a resource: the screen
    and the resource its declaration describes, with select boxes for its coded values and
    look-ups for its links into large tables."""
    from wtforms import SelectField

    from app.api import resource
    from app.entities.crm import INQUIRY
    from app.screens.base import generic_screen
    from app.screens.lookup import LookupField

    screen = generic_screen(INQUIRY)
    assert screen.__name__ == "InquiryView" and screen.entity is INQUIRY
    assert screen.add_columns == list(INQUIRY.form)
    assert screen.add_form_extra_fields["channel"].field_class is SelectField
    assert screen.add_form_extra_fields["client"].field_class is LookupField
    api = resource(INQUIRY)
    assert api.resource_name == "inquiry" and api.add_columns == [*INQUIRY.form, "custom"]
