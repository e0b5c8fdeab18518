"""Settings → Custom fields: the administrator adds a field to an entity, names it in
Russian and English, picks its type, its options, where it shows, the pipelines and
stages it belongs to and the roles it is hidden from or read-only for. Saving and deleting
go through the commands of app.services.custom_field_definitions."""

from __future__ import annotations

from flask import flash, request
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import (
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    Select2ManyWidget,
    Select2Widget,
)
from flask_appbuilder.security.sqla.models import Role
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional as OptionalValue

from app.database import db
from app.entities import MATRIX_ENTITIES
from app.entities.declaration import Section
from app.entities.settings import CUSTOM_FIELD
from app.models import CUSTOM_FIELD_ENTITIES, Pipeline, Stage
from app.screens.base import CrmView
from app.services import custom_field_definitions as definitions
from app.services import custom_fields, records
from app.services.custom_types import LINK_TARGETS, TYPES, text_of, typed_of

# The entities that have custom fields, as the rights matrix names them.
ENTITY_LABELS = {name: MATRIX_ENTITIES[name] for name in CUSTOM_FIELD_ENTITIES}


# The form's own inputs for the definition's JSON columns, and the columns they fill.
INPUT_OF = {"options": "options_text", "default": "default_text", "settings": "target",
            "pipelines": "pipeline_ids", "required_from": "required_stages",
            "visibility": "hidden_from"}


def _entity_asked() -> str:
    asked = request.args.get("entity")
    return asked if asked in ENTITY_LABELS else "client"


def _pk(record) -> int:
    return record.id


def _stage_label(stage: Stage) -> str:
    return f"{stage.pipeline.name} → {stage.name}"


def _roles():
    return db.session.query(Role).order_by(Role.name)


def _options_text(options) -> str:
    return "\n".join(" | ".join(part for part in (o.get("value", ""), o.get("label", ""),
                                                   o.get("color") or "") if part)
                     for o in options or [])


def _read_options(text: str) -> list:
    """One option per line: `value | label | #colour` (label and colour optional)."""
    options = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        value = parts[0]
        label = parts[1] if len(parts) > 1 and parts[1] else value
        color = parts[2] if len(parts) > 2 else None
        options.append({"value": value, "label": label, "color": color or None,
                        "order": len(options)})
    return options


def _spec_of(item):
    return custom_fields._spec(item) if item.field_type in TYPES else None


class CustomFieldView(CrmView, entity=CUSTOM_FIELD):
    add_columns = ["entity", "field_type", "target", "code", "label_ru", "label_en",
                   "multiple", "required", "default_text", "options_text", "help_ru", "help_en", "sort",
                   "show_in_list", "filterable", "show_on_board", "pipeline_ids",
                   "required_stages", "hidden_from", "read_only_for"]
    edit_columns = [c for c in add_columns if c not in (*CUSTOM_FIELD.fixed, "target")]
    form_only_fields = ("target", "default_text", "options_text", "pipeline_ids", "required_stages",
                        "hidden_from", "read_only_for")
    form_sections = (
        Section(_l("Field"), ("entity", "field_type", "target", "code", "label_ru", "label_en",
                              "multiple", "required", "default_text", "options_text")),
        Section(_l("Help"), ("help_ru", "help_en")),
        Section(_l("Where it shows"), ("sort", "show_in_list", "filterable",
                                       "show_on_board")),
        Section(_l("Pipelines"), ("pipeline_ids", "required_stages")),
        Section(_l("Access"), ("hidden_from", "read_only_for")),
    )
    description_columns = {
        "code": _l("Small Latin letters, digits and underscores: the field's name in the "
                   "API, imports and exports. It never changes."),
        "field_type": _l("The type and \u201cseveral values\u201d never change once the "
                         "field exists."),
        "options_text": _l("A list's options, one per line: value | label | #colour. "
                           "Change a label or the order freely; an option that records hold "
                           "cannot be removed."),
        "default_text": _l("Typed as in a record's form."),
        "pipeline_ids": _l("An interest's field: the pipelines it belongs to (none: "
                           "every pipeline)."),
        "required_stages": _l("An interest's field: from this stage on it must be filled "
                              "in (one stage per pipeline); the move to it asks for it."),
        "hidden_from": _l("Users of these roles do not see the field anywhere."),
        "read_only_for": _l("Users of these roles see the field but cannot change it."),
    }

    def __init__(self, **kwargs):
        # "Add a field" on a card opens the form for the card's entity (`?entity=`).
        entity_choice = SelectField(_l("Entity"), choices=list(ENTITY_LABELS.items()),
                                    widget=Select2Widget(), default=_entity_asked)
        type_choice = SelectField(_l("Type"), choices=[(t.code, t.label) for t in
                                                       TYPES.values()],
                                  widget=Select2Widget())
        fields = {
            "default_text": StringField(_l("Default value"), widget=BS3TextFieldWidget()),
            "options_text": TextAreaField(_l("Options"), widget=BS3TextAreaFieldWidget(),
                                          render_kw={"rows": 5}),
            "help_ru": TextAreaField(_l("Help in Russian"), widget=BS3TextAreaFieldWidget(),
                                     render_kw={"rows": 2}),
            "help_en": TextAreaField(_l("Help in English"), widget=BS3TextAreaFieldWidget(),
                                     render_kw={"rows": 2}),
            "sort": IntegerField(_l("Order"), [OptionalValue()], default=100,
                                 widget=BS3TextFieldWidget()),
            "pipeline_ids": QuerySelectMultipleField(
                _l("Pipelines"), get_pk_func=_pk, query_func=lambda: db.session.query(Pipeline)
                .order_by(Pipeline.sort, Pipeline.name), widget=Select2ManyWidget()),
            "required_stages": QuerySelectMultipleField(
                _l("Required from the stage"), get_pk_func=_pk, query_func=lambda: db.session.query(Stage)
                .join(Stage.pipeline).order_by(Pipeline.sort, Stage.sort),
                get_label=_stage_label, widget=Select2ManyWidget()),
            "hidden_from": QuerySelectMultipleField(
                _l("Hidden from the roles"), get_pk_func=_pk, query_func=_roles, widget=Select2ManyWidget()),
            "read_only_for": QuerySelectMultipleField(
                _l("Read-only for the roles"), get_pk_func=_pk, query_func=_roles, widget=Select2ManyWidget()),
        }
        target_choice = SelectField(
            _l("Links to"), choices=[("", "—"), *((name, ENTITY_LABELS[name])
                                                  for name in LINK_TARGETS)],
            description=_l("For a link to a record: what it links to. It never changes."),
            default="", validate_choice=False, widget=Select2Widget())
        for name, field in fields.items():  # FAB describes only the model's own columns
            if name in self.description_columns:
                field.kwargs["description"] = self.description_columns[name]
        self.add_form_extra_fields = {"entity": entity_choice, "field_type": type_choice,
                                      "target": target_choice, **fields}
        self.edit_form_extra_fields = dict(fields)
        self.formatters_columns = {
            "entity": lambda value: ENTITY_LABELS.get(value, value),
            "field_type": lambda value: TYPES[value].label if value in TYPES else value,
            "options": self._show_options,
            "visibility": self._show_visibility,
            "pipelines": self._show_pipelines,
            "required_from": self._show_required_from,
            "settings": lambda settings: ENTITY_LABELS.get((settings or {}).get("target"), ""),
        }
        super().__init__(**kwargs)

    # --- the page ---------------------------------------------------------------------

    @staticmethod
    def _show_options(options) -> Markup:
        lines = []
        for option in options or []:
            color = option.get("color")
            dot = Markup('<span class="crm-option-dot" style="background:{}"></span>').format(
                color) if color else ""
            lines.append(Markup("{}{} — {}").format(dot, option.get("value"),
                                                    option.get("label")))
        return Markup("<br>").join(lines)

    @staticmethod
    def _show_visibility(visibility) -> str:
        names = dict(db.session.execute(select(Role.id, Role.name)).all())
        words = {"hidden": gettext("hidden"), "read": gettext("read only")}
        return "; ".join(f"{names.get(v.get('role'), v.get('role'))}: "
                         f"{words.get(v.get('access'), v.get('access'))}"
                         for v in visibility or [])

    @staticmethod
    def _show_pipelines(ids) -> str:
        names = dict(db.session.execute(select(Pipeline.id, Pipeline.name)).all())
        return ", ".join(names.get(i, str(i)) for i in ids or [])

    @staticmethod
    def _show_required_from(stages) -> str:
        found = db.session.execute(select(Stage).where(
            Stage.id.in_(list((stages or {}).values())))).scalars().all()
        return ", ".join(_stage_label(stage) for stage in found)

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        widgets = super()._get_show_widget(pk, item, widgets, actions, show_fieldsets)
        spec = _spec_of(item)
        if spec is not None and item.default is not None:
            show = widgets["show"]
            index = show.template_args["include_columns"].index("default")
            show.template_args["value_columns"][index] = escape(text_of(spec, item.default))
        return widgets

    # --- the form ---------------------------------------------------------------------

    def prefill_form(self, form, pk):
        item = self._get_item(pk, "edit")
        spec = _spec_of(item)
        form.default_text.data = typed_of(spec, item.default) if spec is not None and \
            item.default is not None else ""
        if isinstance(form.default_text.data, list):
            form.default_text.data = "\n".join(form.default_text.data)
        form.options_text.data = _options_text(item.options)
        form.pipeline_ids.data = db.session.query(Pipeline).filter(
            Pipeline.id.in_(item.pipelines or [])).all()
        form.required_stages.data = db.session.query(Stage).filter(
            Stage.id.in_(list((item.required_from or {}).values()))).all()
        levels = {v["role"]: v["access"] for v in item.visibility or []}
        form.hidden_from.data = _roles().filter(Role.id.in_(
            [r for r, level in levels.items() if level == "hidden"])).all()
        form.read_only_for.data = _roles().filter(Role.id.in_(
            [r for r, level in levels.items() if level == "read"])).all()

    @staticmethod
    def _changes(form, is_new: bool) -> dict:
        changes = {name: form[name].data for name in
                   ("label_ru", "label_en", "required", "help_ru", "help_en",
                    "show_in_list", "filterable", "show_on_board") if name in form}
        changes["sort"] = form.sort.data if form.sort.data is not None else 100
        if is_new:
            changes.update({name: form[name].data
                            for name in ("entity", "field_type", "code", "multiple")})
            changes["settings"] = {"target": form.target.data or None}
            changes["code"] = (changes["code"] or "").strip()
        default = form.default_text.data or ""
        if default.strip():
            changes["default_text"] = default
        else:
            changes["default"] = None
        changes["options"] = _read_options(form.options_text.data)
        changes["pipelines"] = [p.id for p in form.pipeline_ids.data or []]
        changes["required_from"] = [s.id for s in form.required_stages.data or []]
        hidden = {role.id for role in form.hidden_from.data or []}
        changes["visibility"] = [
            *({"role": role, "access": "hidden"} for role in sorted(hidden)),
            *({"role": role.id, "access": "read"} for role in form.read_only_for.data or []
              if role.id not in hidden)]
        return changes

    def create_record(self, item, fill, form) -> None:
        definitions.create(self._changes(form, is_new=True), field=item)

    def update_record(self, item, change, seen_version, form) -> None:
        definitions.change(item, self._changes(form, is_new=False), seen_version)

    def _apply_errors(self, form, error: records.DomainError) -> None:
        error.errors = {INPUT_OF.get(name, name): messages
                        for name, messages in error.errors.items()}
        super()._apply_errors(form, error)

    def _delete_one(self, item) -> bool:
        try:
            removed = definitions.delete(item)
        except records.DomainError as error:
            flash(error.message, "danger")
            return False
        if removed:
            flash(gettext("The field's values were removed from %(count)d records.",
                          count=removed), "info")
        return True
