"""A CRUD screen built from its entity's declaration (app.entities): titles, columns,
filters, order, select boxes for coded values, look-ups for links into large tables and
the lists shown under a record. A screen of its own (app.screens.crm, …) adds behaviour
only."""

from __future__ import annotations

from flask_appbuilder import expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect
from wtforms import SelectField
from wtforms.validators import DataRequired, Optional

from app.entities import TRACKED_MODELS
from app.entities.declaration import Section
from app.fab.crud import CrmModelView, interface
from app.labels import LABELS
from app.screens import history
from app.screens.lookup import LookupField
from app.services.readers import readers_of

AUDIT_SHOW = ["created_on", "created_by", "changed_on", "changed_by"]


def _choice_field(name: str, choices: dict, default) -> SelectField:
    return SelectField(LABELS[name], choices=list(choices.items()), default=default,
                       widget=Select2Widget())


def _lookup_field(model, name: str, entity: str) -> LookupField:
    """A link looked up by typing; required when the record cannot be without it."""
    relation = inspect(model).relationships[name]
    required = not any(column.nullable for column in relation.local_columns)
    return LookupField(LABELS[name], [DataRequired() if required else Optional()],
                       entity=entity)


def _choice_formatter(choices: dict):
    return lambda value: choices.get(value, value or "")


def _form_fields(entity, columns) -> dict:
    fields = {name: _choice_field(name, choices, default)
              for name, (choices, default) in entity.choices.items() if name in columns}
    fields.update({name: _lookup_field(entity.model, name, looked_up)
                   for name, looked_up in entity.lookups.items() if name in columns})
    return fields


def screen_attributes(entity) -> dict:
    """What a CRUD screen of `entity` is, as Flask-AppBuilder's ModelView attributes."""
    audited = hasattr(entity.model, "created_on")
    attributes = {
        "entity": entity,
        "datamodel": interface(entity.model),
        **entity.titles,
        "list_columns": list(entity.list),
        "show_columns": [*entity.show, *(AUDIT_SHOW if audited else [])],
        "add_columns": list(entity.form),
        "edit_columns": list(entity.edit),
        "search_columns": list(entity.search),
        "order_columns": list(entity.order),
        "base_order": entity.base_order,
        "formatters_columns": {name: _choice_formatter(choices)
                               for name, (choices, _default) in entity.choices.items()},
        "add_form_extra_fields": _form_fields(entity, entity.form),
        "edit_form_extra_fields": _form_fields(entity, entity.edit),
        # Links into large tables cannot be a filter's select box: `?client=7` narrows.
        "narrowed_by": tuple(entity.lookups),
    }
    if entity.read_only:
        attributes["base_permissions"] = ["can_list", "can_show", "can_export"]
        attributes["muldelete"] = None  # read-only: no bulk delete either
    return attributes


class CrmView(CrmModelView):
    """A CRUD screen. A subclass names its entity (`class ClientView(CrmView,
    entity=CLIENT)`) and takes everything else from the declaration."""

    entity = None
    label_columns = LABELS
    show_template = "crm/show.html"
    # Show "who can see this record" under the record.
    show_readers = False
    # Sections of a screen's own fields (a new interest's first plan) after the entity's.
    form_sections: tuple = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The forms and the page group their columns in the declaration's sections; the
        # columns stay what the screen says (a screen's own fields join the last group).
        if self.entity is not None and (self.entity.sections or self.form_sections):
            self.add_fieldsets = self.entity.grouped(self.add_columns, self.form_sections)
            self.edit_fieldsets = self.entity.grouped(self.edit_columns, self.form_sections)
            self.show_fieldsets = self.entity.grouped(
                self.show_columns, (Section(_l("Record"), tuple(AUDIT_SHOW)),))

    def __init_subclass__(cls, entity=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if entity is not None:
            for name, value in screen_attributes(entity).items():
                if name not in cls.__dict__:
                    setattr(cls, name, value)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        item = self._get_item(pk)
        changes = history.change_history(self.datamodel.obj, item.id) \
            if self.datamodel.obj in TRACKED_MODELS else None
        if changes is not None and hasattr(item, "created_by_fk"):
            # A job's writes name no user in the audit columns: the job is named instead.
            widgets["show"].template_args["system_writers"] = \
                history.system_writers(self.datamodel.obj, item)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self._related_views if self.show_related else [],
            history=changes, readers=readers_of(item) if self.show_readers else None,
            **self.show_extras(item))

    def show_extras(self, item) -> dict:
        """What a screen's own record page shows besides (see subclasses)."""
        return {}

    def can(self, permission: str, view: str = None) -> bool:
        """Whether the user has `permission` ("can_add") on `view` (default: this one)."""
        return self.appbuilder.sm.has_access(permission, view or self.class_permission_name)


def generic_screen(entity) -> type:
    """The screen of an entity that needs no behaviour of its own."""
    return type(entity.view_name, (CrmView,), {}, entity=entity)
