"""What Voronka relies on inside Flask-AppBuilder (and the marshmallow and WTForms classes
it builds on) that is not its public API: each private name, the parameters Voronka calls
or overrides it with, and why. An upgrade that renames, removes or reshapes one of them
fails here, in one place, naming what changed, instead of somewhere in a screen.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Relied:
    where: str          # "module:Class" or "module"
    name: str           # attribute
    parameters: tuple | None  # the parameters in order (None: not a function)
    why: str


CONTRACT = [
    # Screens (app/fab/crud.py, app/views.py, app/screens/)
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_list", ("self", "kwargs"),
           "CrmModelView._list: the list page from one query_page (worklists, record count)"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_show", ("self", "pk"),
           "CrmModelView._show: the record page with its related tabs and readers"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_add", ("self",),
           "CrmModelView._add, CrmRoleView._add: saving through the records service"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_edit", ("self", "pk"),
           "CrmModelView._edit, user and role screens: version check, access, service save"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_delete", ("self", "pk"),
           "user and role screens: refuse deleting oneself and system roles"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_get_list_widget",
           ("self", "filters", "actions", "order_column", "order_direction", "page",
            "page_size", "widgets", "kwargs"),
           "CrmModelView: the list widget from query_page instead of FAB's count + page"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_get_show_widget",
           ("self", "pk", "item", "widgets", "actions", "show_fieldsets"),
           "record pages: history and readers panels next to FAB's show widget"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_get_add_widget",
           ("self", "form", "exclude_cols", "widgets"),
           "add forms: the cached form parts and the role screen's rights"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_get_edit_widget",
           ("self", "form", "exclude_cols", "widgets"),
           "edit forms: the cached form parts and the role screen's rights"),
    Relied("flask_appbuilder.baseviews:BaseCRUDView", "_get_related_views_widgets",
           ("self", "item", "orders", "pages", "page_sizes", "widgets", "args"),
           "record pages: related tabs read through the access filter"),
    Relied("flask_appbuilder.baseviews:BaseModelView", "_get_search_widget",
           ("self", "form", "exclude_cols", "widgets"),
           "CrmModelView: the search form's parts cached per language and access"),
    Relied("flask_appbuilder.models.filters:Filters", "_add_filter",
           ("self", "filter_instance", "values"),
           "app/fab/filters.py: API filters added to a per-request copy of a view's filters"),
    Relied("flask_appbuilder.models.filters:Filters", "clear_filters", ("self",),
           "app/fab/filters.py empty_filters: the copy starts without active filters"),
    Relied("flask_appbuilder.models.sqla.filters:SQLAFilterConverter", "conversion_table",
           None, "app/fab/filters.py: Voronka's filter set derived from FAB's by column type"),
    Relied("flask_appbuilder.fields:QuerySelectField", "_get_object_list", ("self",),
           "app/fab/widgets.py StageSelectWidget: each stage's pipeline for the stage list"),
    # REST API (app/fab/rest.py, app/fab/api_fields.py, app/fab/openapi.py)
    Relied("flask_appbuilder.api:ModelRestApi", "_merge_update_item",
           ("self", "model_item", "data"),
           "CrmApi.put: a PUT keeps the fields it does not name"),
    Relied("flask_appbuilder.api:ModelRestApi", "_handle_filters_args",
           ("self", "rison_args"),
           "CrmApi: API filters applied on a copy, with the view's base filters joined"),
    Relied("flask_appbuilder.api", "jsonschema", None,
           "app/fab/rest.py: the module FAB's `rison` decorator validates with, replaced by one "
           "that prepares each schema once"),
    Relied("flask_appbuilder.api.convert:Model2SchemaConverter", "_column2relation",
           ("self", "datamodel", "column", "nested", "parent_schema_name"),
           "CrmSchemaConverter: relations accept only existing, readable ids"),
    Relied("flask_appbuilder.api.convert:Model2SchemaConverter", "_column2field",
           ("self", "datamodel", "column", "nested", "parent_schema_name"),
           "FittedSchemaConverter: string lengths and number bounds in the schema"),
    Relied("marshmallow_sqlalchemy.fields:Related", "_get_existing_instance",
           ("self", "related_model", "value"),
           "ExistingRelated: a related id is looked up through the access filter"),
    Relied("marshmallow_sqlalchemy.fields:Related", "_deserialize",
           ("self", "value", "args", "kwargs"),
           "ExistingRelated: a missing or hidden id is a 422, not a 500"),
    Relied("marshmallow.fields:DateTime", "_serialize", ("self", "value", "attr", "obj",
                                                         "kwargs"),
           "UtcDateTime: times are stored in UTC and answered with their offset"),
    Relied("marshmallow.fields:DateTime", "_deserialize", ("self", "value", "attr", "data",
                                                           "kwargs"),
           "UtcDateTime: a time with an offset is stored in UTC"),
    Relied("flask_appbuilder.api.manager:OpenApi", "_create_api_spec", ("version",),
           "CrmOpenApi: the spec corrected where FAB's text says otherwise"),
    # Security (app/fab/security.py, app/services/setup.py, app/fab/widgets.py)
    Relied("flask_appbuilder.security.views:AuthView", "_get_safe_next_url", ("self",),
           "CrmAuthDBView: a stricter check of `next` after login"),
    Relied("flask_appbuilder.security.manager:BaseSecurityManager", "create_db", ("self",),
           "app/services/setup.py: FAB's tables and roles without its admin-user prompt"),
    Relied("flask_appbuilder._compat", "as_unicode", None,
           "flash messages and widgets, as FAB itself renders them"),
]


def _owner(where: str):
    module_name, _, class_name = where.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name) if class_name else module


@pytest.mark.parametrize("relied", CONTRACT, ids=lambda r: f"{r.where}.{r.name}")
def test_what_voronka_relies_on_is_still_there(relied: Relied):
    owner = _owner(relied.where)
    assert hasattr(owner, relied.name), (
        f"{relied.where}.{relied.name} is gone; Voronka uses it for: {relied.why}")
    if relied.parameters is None:
        return
    found = tuple(inspect.signature(getattr(owner, relied.name)).parameters)
    assert found == relied.parameters, (
        f"{relied.where}.{relied.name} now takes {found}, not {relied.parameters}; "
        f"Voronka uses it for: {relied.why}")


@pytest.mark.parametrize("where, attribute", [
    ("flask_appbuilder.baseviews:BaseModelView", "_base_filters"),
    ("flask_appbuilder.baseviews:BaseModelView", "_filters"),
    ("flask_appbuilder.baseviews:BaseCRUDView", "_related_views"),
    ("flask_appbuilder.api:ModelRestApi", "_base_filters"),
    ("flask_appbuilder.api:ModelRestApi", "_filters"),
    ("flask_appbuilder.models.sqla.interface:SQLAInterface", "_session"),
])
def test_the_instance_attributes_voronka_reads_are_still_set(where, attribute):
    """Set in FAB's constructors and read by Voronka's views and data model."""
    source = inspect.getsource(_owner(where))
    assert f"self.{attribute} =" in source or f"self.{attribute}: " in source, (
        f"{where} no longer sets self.{attribute}")


# CrmAuthDBView.login (app/fab/security.py) is FAB's login of this version with a stricter
# `next`; when FAB changes its own, the copy must be read again against it.
FAB_LOGIN_SHA256 = "35aa7b27214f9bd4"


def test_the_login_voronka_copied_is_the_one_fab_still_has():
    from flask_appbuilder.security.views import AuthDBView

    digest = hashlib.sha256(inspect.getsource(AuthDBView.login).encode()).hexdigest()
    assert digest[:16] == FAB_LOGIN_SHA256, (
        "Flask-AppBuilder's AuthDBView.login changed: compare it with CrmAuthDBView.login "
        "in app/fab/security.py, carry the change over, then update FAB_LOGIN_SHA256")
