"""The base of every CRM screen: FAB's ModelView with its traps closed.

- Lists: bounded queries (see app.fab.datamodel), page size capped, malformed page, size or
  sort arguments ignored instead of answering 500, per-request filter state.
- Add/edit: every save goes through app.services.records (validation, one commit, clear
  messages); the edit form carries the record's version and a stale save is refused with
  the user's input kept in the form.
- Delete: POST only; a record that others refer to is not deleted and the message says
  what refers to it. Database errors are never shown raw.
- Bulk actions re-load their rows through the view's filters and the access filter: a
  selection that names a record the user may not act on is refused as a whole (404).
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlencode

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.actions import action as bulk_action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.security.decorators import has_access
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, and_
from sqlalchemy import inspect as sa_inspect
from wtforms import BooleanField, HiddenField
from wtforms.fields.core import UnboundField

from app.fab import custom_form
from app.fab.datamodel import CrmInterface
from app.fab.downloads import send_export
from app.fab.filters import joined_filters
from app.fab.forms import use_typed_fields
from app.fab.widgets import (
    CrmFormWidget,
    CrmListWidget,
    CrmSearchWidget,
    CrmShowWidget,
    SearchFormCache,
    render_search_form_parts,
    with_custom_filters,
)
from app.models import AUDIT_COLUMNS, EXPORT_FORMATS
from app.services import (
    access,
    bounds,
    commands,
    custom_fields,
    list_exports,
    records,
    worklists,
)
from app.services.clock import format_local, to_local, to_utc
from app.services.errors import Forbidden


def refuse_action_without_right(view, name: str):
    """None when the user may run the view's action `name`; otherwise what @has_access
    answers: the anonymous go to the login page, others get 403."""
    permission_name = view.get_action_permission_name(name)
    if view.appbuilder.sm.has_access(permission_name, view.class_permission_name):
        return None
    user = getattr(g, "user", None)
    if user is not None and user.is_authenticated:
        abort(403)
    login = f"{view.appbuilder.sm.auth_view.__class__.__name__}.login"
    return redirect(url_for(login, next=request.url))


def display_value(value) -> str:
    """How a value reads on a list or a show page: no "None", "True" or Python reprs."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, Decimal):
        return format_decimal(value, format="#,##0.00")
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(item) for item in value)
    return value


class FilterAssignableUsers(BaseFilter):
    """Offers, as the responsible of a `value` record, only users the current user may
    assign (evaluated on every request)."""

    name = "assignable"
    arg_name = "assignable"

    def apply(self, query, value):
        return query.filter(access.assignable_users_condition(value))


def _read_filter_args(filters) -> None:
    """FAB's get_filter_args, ignoring a filter whose operation the column does not have
    (`_flt_9_name=`) instead of failing."""
    filters.clear_filters()
    for argument in request.args:
        match = re.fullmatch(r"_flt_(\d)_(.*)", argument)
        if match is None:
            continue
        column, index = match.group(2), int(match.group(1))
        if index < len(filters.get_search_filters().get(column, ())):
            filters.add_filter_index(column, index, request.args.getlist(argument))


def _int_arg(name: str, default=None):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return value if value >= 0 else default


def interface(model, list_columns=None) -> CrmInterface:
    return CrmInterface(model, list_columns=list_columns)


class CrmModelView(ModelView):
    list_widget = CrmListWidget
    search_widget = CrmSearchWidget
    add_widget = edit_widget = CrmFormWidget
    show_widget = CrmShowWidget
    _search_form_cache = None
    page_size = 25
    # Relations a list's computed columns read (loaded with the page, not one per row).
    list_eager_relations: tuple = ()
    # Columns a user may never write, whatever the form or API says.
    protected_columns = AUDIT_COLUMNS
    # Fields of a form that are not the record's (a new interest's first plan): read by
    # create_record, never copied onto the record.
    form_only_fields: tuple[str, ...] = ()
    # The related lists under a record's page; a card showing them its own way has none.
    show_related = True
    # Relations the list can be narrowed to one record of: `?client=7` (app.fab.crud._narrowing).
    narrowed_by: tuple[str, ...] = ()

    # The bulk delete needs the right to delete, like deleting one record.
    method_permission_name = {"muldelete": "delete"}

    add_row_message = _l("Added")
    edit_row_message = _l("Changed")
    delete_row_message = _l("Deleted")

    def __init__(self, **kwargs):
        # FAB makes a NOT NULL boolean "required", so an unticked box could never be saved.
        for attr in ("add_form_extra_fields", "edit_form_extra_fields"):
            extra = dict(getattr(self, attr) or {})
            for column in sa_inspect(self.datamodel.obj).columns:
                if isinstance(column.type, Boolean):
                    extra.setdefault(column.key, BooleanField(
                        (self.label_columns or {}).get(column.key, column.key)))
            setattr(self, attr, extra)
        if hasattr(self.datamodel.obj, "version"):
            self.edit_form_extra_fields = {**(self.edit_form_extra_fields or {}),
                                           "version": HiddenField("version")}
            if "version" not in (self.edit_columns or []):
                self.edit_columns = list(self.edit_columns or []) + ["version"]
        self._limit_dictionary_choices()
        self.datetime_columns = [c.key for c in sa_inspect(self.datamodel.obj).columns
                                 if isinstance(c.type, DateTime)]
        self.formatters_columns = {**{c: format_local for c in self.datetime_columns},
                                   **(self.formatters_columns or {})}
        super().__init__(**kwargs)
        for form_class in (self.add_form, self.edit_form):
            use_typed_fields(form_class, sa_inspect(self.datamodel.obj).columns)
        self.datamodel.eager_columns = [*self.list_columns, *self.list_eager_relations]
        self.order_columns = [c for c in self.order_columns if "." not in c]
        for column in {*self.list_columns, *self.show_columns}:
            self.formatters_columns.setdefault(column, display_value)
        self._name_blank_choices()

    def _name_blank_choices(self) -> None:
        """FAB's optional select boxes show their empty choice as "__None"; show a dash."""
        for form_class in (self.add_form, self.edit_form, self.search_form):
            for name in dir(form_class):
                unbound = getattr(form_class, name, None)
                if isinstance(unbound, UnboundField) and "allow_blank" in unbound.kwargs:
                    unbound.kwargs["blank_text"] = "—"

    def _limit_dictionary_choices(self) -> None:
        """A select box over the directories offers the items of its own directory only."""
        for attr in ("add_form_query_rel_fields", "edit_form_query_rel_fields",
                     "search_form_query_rel_fields"):
            limits = dict(getattr(self, attr) or {})
            for relation in sa_inspect(self.datamodel.obj).relationships:
                kind = relation.info.get("dictionary_kind")
                if kind:
                    limits.setdefault(relation.key, [["kind", FilterEqual, kind]])
            owner = access.OWNER_RELATION.get(self.datamodel.obj)
            if owner and attr != "search_form_query_rel_fields":
                limits.setdefault(owner, [["id", FilterAssignableUsers, self.datamodel.obj]])
            setattr(self, attr, limits)

    # --- lists ---------------------------------------------------------------------------

    def _max_page_size(self) -> int:
        return current_app.config.get("CRM_LIST_MAX_PAGE_SIZE", 100)

    def _request_filters(self):
        """A copy of the view's filters for this request only: FAB's object is shared. The
        custom fields the user may read and filter by join it."""
        filters = custom_form.request_filters(self._filters, self.datamodel)
        _read_filter_args(filters)
        return filters

    # --- custom fields (app.services.custom_fields) ---------------------------------------

    @property
    def custom_entity(self):
        return custom_fields.entity_of(self.datamodel.obj)

    def _custom_granted(self, record=None) -> list:
        """The custom fields the user may read, for a form: all of the entity's, or those
        that belong to `record` (an interest's pipeline)."""
        if self.custom_entity is None:
            return []
        return custom_fields.granted(self.custom_entity, record)

    def _custom_readable(self) -> list:
        return [g.spec for g in self._custom_granted()]

    def _custom_list_specs(self) -> list:
        return [spec for spec in self._custom_readable() if spec.show_in_list]

    def _requested_order(self) -> tuple[str, str]:
        name = self.__class__.__name__
        order_column = request.args.get(f"_oc_{name}", "")
        order_direction = request.args.get(f"_od_{name}", "")
        if order_direction not in ("asc", "desc"):
            return "", ""
        return order_column, order_direction

    def _list(self, **kwargs):
        name = self.__class__.__name__
        order_column, order_direction = self._requested_order()
        filters = self._request_filters()
        chips, conditions = self._narrowing()
        widgets = self._get_list_widget(
            filters=filters,
            order_column=order_column,
            order_direction=order_direction,
            page=_int_arg(f"page_{name}", 0),
            page_size=_int_arg(f"psize_{name}"),
            where=and_(*conditions) if conditions else None,
            chips=chips,
            export_links=self._export_links(),
            **kwargs,
        )
        self.update_redirect()
        return self._get_search_widget(widgets=widgets, filters=filters)

    def _narrowing(self) -> tuple[list[tuple[str, str]], list]:
        """What the request narrows the list to besides its filters: a worklist of the start
        page (`?worklist=overdue`) or one record of a relation in `narrowed_by` (`?client=7`,
        "all the client's interests" on its card). Each is a chip, (text, the list's URL
        without it), and a condition. A record the user may not read is not found (404)."""
        chips, conditions = [], []
        worklist = worklists.find(request.args.get("worklist"), self.datamodel.obj)
        if worklist is not None:
            chips.append((gettext("Filter: %(name)s", name=worklist.label),
                          self._list_url_without("worklist")))
            conditions.append(worklists.condition(worklist, g.user.id))
        relations = sa_inspect(self.datamodel.obj).relationships
        for relation_name in self.narrowed_by:
            raw = request.args.get(relation_name)
            if raw is None:
                continue
            relation = relations[relation_name]
            (column,) = relation.local_columns
            parent_model = relation.mapper.class_
            key = bounds.as_key(parent_model.id, raw)
            parent = None if key is None else self.datamodel.session.execute(
                access.readable(parent_model).where(parent_model.id == key)).scalar()
            if parent is None:
                abort(404)
            label = (self.label_columns or {}).get(relation_name, relation_name)
            chips.append((f"{label}: {parent}", self._list_url_without(relation_name)))
            conditions.append(getattr(self.datamodel.obj, column.key) == key)
        return chips, conditions

    @staticmethod
    def _list_url_without(argument: str) -> str:
        kept = [(k, v) for k, v in request.args.items(multi=True) if k != argument]
        return url_for(request.endpoint, **(request.view_args or {})) + (
            "?" + urlencode(kept) if kept else "")

    def list_values(self, rows) -> list[dict]:
        """The values of the list's columns for each row (a screen may put words in)."""
        return list(self.datamodel.get_values(rows, self.list_columns))

    def row_class(self, item) -> str:
        """The CSS class of a record's row in a list (a highlight), or ""."""
        return ""

    def _get_search_widget(self, form=None, exclude_cols=None, widgets=None, filters=None):
        """The search form, from the view's cache unless its choices changed."""
        widgets = widgets or {}
        columns = [c for c in self.search_columns if c not in (exclude_cols or ())]
        if self._search_form_cache is None:
            self._search_form_cache = SearchFormCache(self.datamodel, self.search_columns)
        parts = self._search_form_cache.parts(
            lambda: render_search_form_parts(form or self.search_form.refresh(), columns,
                                             self._filters))
        filterable = [spec for spec in self._custom_readable() if spec.filterable]
        if filterable:
            parts = with_custom_filters(parts, filterable)
        widgets["search"] = self.search_widget(
            parts=parts, filters=filters if filters is not None else self._filters)
        return widgets

    def _valid_order(self, order_column: str, order_direction: str) -> tuple[str, str]:
        """The order asked for, if the list can be sorted so; else the list's own."""
        if order_column and order_column not in self.order_columns and \
                order_column not in {spec.key for spec in self._custom_readable()
                                     if spec.kind.sortable and not spec.multiple}:
            order_column, order_direction = "", ""
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        return order_column, order_direction

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="",
                         page=None, page_size=None, widgets=None, where=None, **kwargs):
        widgets = widgets or {}
        actions = actions or self.actions
        page_size = min(page_size or self.page_size, self._max_page_size())
        if page_size <= 0:
            page_size = self.page_size
        order_column, order_direction = self._valid_order(order_column, order_direction)
        joined = joined_filters(filters, self._base_filters)
        result = self.datamodel.query_page(joined, order_column, order_direction,
                                           page=page or 0, page_size=page_size, where=where)
        pks = self.datamodel.get_keys(result.rows)
        values = self.list_values(result.rows)
        custom = self._custom_list_specs()
        for row, value in zip(result.rows, values, strict=True) if custom else ():
            stored = row.custom or {}
            value.update({spec.key: custom_form.display(spec, stored.get(spec.code), row)
                          for spec in custom})
        widgets["list"] = self.list_widget(
            label_columns={**self.label_columns, **{spec.key: spec.label for spec in custom}},
            include_columns=[*self.list_columns, *(spec.key for spec in custom)],
            value_columns=values,
            order_columns=[*self.order_columns,
                           *(spec.key for spec in custom
                             if spec.kind.sortable and not spec.multiple)],
            formatters_columns=self.formatters_columns,
            page=page,
            page_size=page_size,
            count=result.count,
            count_exact=result.exact,
            pks=pks,
            row_classes=[self.row_class(row) for row in result.rows],
            actions=actions,
            filters=filters,
            modelview_name=self.__class__.__name__,
            **kwargs,
        )
        return widgets

    # --- export (app.services.list_exports) -------------------------------------------------

    def _export_links(self) -> list[tuple[str, str]]:
        """The list's "Export" menu: (format, URL with the list's filters and order), for
        those who may export."""
        if not self.appbuilder.sm.has_access("can_export", self.class_permission_name):
            return []
        kept = [(k, v) for k, v in request.args.items(multi=True)
                if k != "format" and not k.startswith(("page_", "psize_"))]
        base = url_for(f"{self.__class__.__name__}.export")
        return [(label, base + "?" + urlencode([*kept, ("format", fmt)]))
                for fmt, label in EXPORT_FORMATS.items()]

    def export_of_list(self) -> list_exports.Export:
        """The export of the list as the request asks for it: its filters, its narrowing
        and its order; every row the user may export."""
        filters = self._request_filters()
        _chips, conditions = self._narrowing()
        order_column, order_direction = self._valid_order(*self._requested_order())
        query = self.datamodel.export_query(
            joined_filters(filters, self._base_filters), order_column, order_direction,
            where=and_(*conditions) if conditions else None)
        return list_exports.Export(
            source=f"screen:{self.__class__.__name__}", title=str(self.list_title),
            model=self.datamodel.obj,
            fields=list_exports.fields_of(self.datamodel.obj, self.label_columns),
            query=query, arguments={k: request.args.getlist(k) for k in request.args
                                    if k != "format"})

    @expose("/export/")
    @has_access
    def export(self):
        """The list as a CSV or XLSX file; one too large to wait for is written in the
        background, and the exports' page follows it."""
        try:
            list_exports.refuse_without_right(self.datamodel.obj)
            run = list_exports.start(self.export_of_list(),
                                     request.args.get("format", "xlsx"))
        except Forbidden:
            abort(403)
        except records.DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for(f"{self.__class__.__name__}.list"))
        if run.background:
            flash(gettext("The export holds %(count)s rows: it is being written in the "
                          "background. You will be notified when it is ready.",
                          count=format_decimal(run.total, format="#,##0")), "info")
            return redirect(url_for("ExportView.index") + f"#export-{run.id}")
        return send_export(run)

    # --- show ------------------------------------------------------------------------------

    def _show(self, pk):
        orders = {}
        name_re = re.compile(r"_oc_(.*)")
        for arg in request.args:
            match = name_re.fullmatch(arg)
            direction = request.args.get(f"_od_{match.group(1)}") if match else None
            if match and direction in ("asc", "desc"):
                orders[match.group(1)] = (request.args[arg], direction)
        pages = {view.__class__.__name__: _int_arg(f"page_{view.__class__.__name__}", 0)
                 for view in self._related_views}
        sizes = {view.__class__.__name__: _int_arg(f"psize_{view.__class__.__name__}")
                 for view in self._related_views}
        item = self._get_item(pk)
        widgets = self._get_show_widget(pk, item)
        self.update_redirect()
        if not self.show_related:
            return widgets
        return self._get_related_views_widgets(item, orders=orders, pages=pages,
                                               page_sizes=sizes, widgets=widgets)

    def _get_show_widget(self, pk, item, widgets=None, actions=None, show_fieldsets=None):
        """The record's page, with the custom fields the user may read in a section."""
        widgets = widgets or {}
        columns, labels, values = custom_form.shown(item)
        fieldsets = show_fieldsets or self.show_fieldsets
        if columns and fieldsets:
            fieldsets = [*fieldsets[:-1], (custom_form.SECTION, {"fields": columns}),
                         fieldsets[-1]] if len(fieldsets) > 1 else \
                [*fieldsets, (custom_form.SECTION, {"fields": columns})]
        widgets["show"] = self.show_widget(
            pk=pk,
            label_columns={**self.label_columns, **labels},
            include_columns=[*self.show_columns, *columns],
            value_columns=[*self.datamodel.get_values_item(item, self.show_columns), *values],
            formatters_columns=self.formatters_columns,
            actions=actions or self.actions,
            fieldsets=fieldsets,
            modelview_name=self.__class__.__name__,
        )
        return widgets

    def _get_item(self, pk, action: str = "read"):
        """The record, if the user may `action` it; otherwise 404, so ids cannot be probed."""
        item = self.datamodel.get(pk, self._base_filters, action=action)
        if item is None:
            abort(404)
        return item

    # --- the responsible ---------------------------------------------------------------

    @property
    def owner_relation(self):
        return access.OWNER_RELATION.get(self.datamodel.obj)

    def _owner_locked(self) -> bool:
        """Without the reassign right, the responsible field is read-only."""
        return self.owner_relation is not None and not access.can_reassign(self.datamodel.obj)

    def _posted_form(self, form_class):
        """The form as posted, but for what the user may not set: a read-only responsible is
        not read from the request at all, so a forged value is neither checked nor saved."""
        formdata = request.form.copy()
        for name, upload in request.files.items(multi=True):  # a custom field's file
            formdata.add(name, upload)
        if self._owner_locked():
            formdata.poplist(self.owner_relation)
        return form_class(formdata=formdata)

    def _lock_owner_field(self, form, item=None) -> None:
        if self._owner_locked() and self.owner_relation in form:
            field = form[self.owner_relation]
            field.render_kw = {"disabled": True}
            if item is not None:  # the record's responsible, as it stays
                field.data = getattr(item, self.owner_relation)
            elif field.data is None:  # a new record will be the user's own
                user_model = self.datamodel.get_related_model(self.owner_relation)
                field.data = self.datamodel.session.get(user_model, g.user.id)

    # --- add and edit ----------------------------------------------------------------------

    def _apply_errors(self, form, error: records.DomainError) -> None:
        shown = False
        for field_name, messages in error.errors.items():
            # "next.subject": the subject of a plan, the form's next_subject.
            field_name = field_name.replace(".", "_")
            field = getattr(form, field_name, None)
            if field is None and field_name.endswith("_id"):
                field = getattr(form, field_name[:-3], None)
            if field is not None:
                field.errors = list(field.errors or []) + [str(m) for m in messages]
                shown = True
        if not shown or not error.errors:
            flash(error.message, "danger")

    def _populate(self, form, item) -> None:
        # The protected columns are skipped, not removed: a form that comes back with an
        # error must still carry them (the version above all).
        # One flush at commit: loading a collection half-way must not write half the form.
        locked = {self.owner_relation} if self._owner_locked() else set()
        stored = {name: getattr(item, name) for name in self.datetime_columns if name in form}
        with self.datamodel.session.no_autoflush:
            for name, field in form._fields.items():
                if name not in self.protected_columns and name not in locked \
                        and name not in self.form_only_fields \
                        and not name.startswith(custom_form.PREFIX):
                    field.populate_obj(item, name)
            granted = self._custom_granted()
            if granted:
                custom_fields.write(item, custom_form.sent(form, granted, item), typed=True)
        # Forms speak the company's local time to the minute; the database keeps UTC. A
        # time saved as the form showed it keeps its seconds.
        for name, before in stored.items():
            typed = getattr(item, name)
            if before is not None and typed is not None and \
                    to_local(before).replace(second=0, microsecond=0) == typed:
                setattr(item, name, before)
            else:
                setattr(item, name, to_utc(typed))

    def _add(self):
        granted = self._custom_granted()
        form_class = custom_form.form_class(self.add_form, granted)
        if request.method == "POST":
            form = self._posted_form(form_class)
        else:
            form = form_class.refresh()
            custom_form.fill(form, None, granted)
            self._prefill_parents(form)
        if request.method == "POST" and form.validate():
            self.process_form(form, True)
            item = self.datamodel.obj()

            def fill(item):
                self._populate(form, item)
                self.pre_add(item)

            try:
                self.create_record(item, fill, form)
            except records.DomainError as error:
                self._apply_errors(form, error)
            else:
                self.post_add(item)
                g.crm_saved_pk = self.datamodel.get_pk_value(item)
                flash(str(self.add_row_message), "success")
                return None
        self._lock_owner_field(form)
        return self._get_add_widget(form=form)

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        widgets = widgets or {}
        widgets["add"] = self.add_widget(
            form=form, include_cols=[*self.add_columns, *custom_form.names(form)],
            exclude_cols=exclude_cols or [],
            fieldsets=self._with_custom_section(self.add_fieldsets, form))
        return widgets

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        widgets = widgets or {}
        widgets["edit"] = self.edit_widget(
            form=form, include_cols=[*self.edit_columns, *custom_form.names(form)],
            exclude_cols=exclude_cols or [],
            fieldsets=self._with_custom_section(self.edit_fieldsets, form))
        return widgets

    @staticmethod
    def _with_custom_section(fieldsets, form) -> list:
        section = custom_form.section(form)
        if section is None:
            return fieldsets
        if not fieldsets:
            return []  # the form lists every field it includes, the custom ones too
        return [*fieldsets, section]

    def create_record(self, item, fill, form) -> None:
        """Save a new record from the add form; `fill(item)` copies the form onto it."""
        commands.create(item, fill)

    def update_record(self, item, change, seen_version, form) -> None:
        """Save a record from the edit form; `change(item)` copies the form onto it."""
        commands.update(item, change, seen_version=seen_version)

    def _edit(self, pk):
        item = self._get_item(pk, "edit")
        pk = self.datamodel.get_pk_value(item)
        granted = self._custom_granted(item)
        form_class = custom_form.form_class(self.edit_form, granted)
        if request.method == "POST":
            form = self._posted_form(form_class)
            form._id = pk
            for field in form:
                # A record already linked stays a valid choice, seen or not (app.screens.lookup).
                keep = getattr(field, "keep_current", None)
                if keep is not None:
                    keep(getattr(item, field.name, None))
            if form.validate():
                self.process_form(form, False)

                def change(item):
                    self._populate(form, item)
                    self.pre_update(item)

                seen_version = form.version.data if "version" in form else None
                try:
                    self.update_record(item, change, seen_version, form)
                except records.DomainError as error:
                    self._apply_errors(form, error)
                else:
                    self.post_update(item)
                    g.crm_saved_pk = pk
                    flash(str(self.edit_row_message), "success")
                    return None
        else:
            form = form_class.refresh(obj=item)
            custom_form.fill(form, item, granted)
            for name in self.datetime_columns:
                if name in form and form[name].data is not None:
                    form[name].data = to_local(form[name].data).replace(second=0,
                                                                        microsecond=0)
            self.prefill_form(form, pk)
        self._lock_owner_field(form, item)
        widgets = self._get_edit_widget(form=form)
        widgets = self._get_related_views_widgets(item, filters={}, orders={}, pages={},
                                                  page_sizes={}, widgets=widgets)
        return widgets

    def _prefill_parents(self, form) -> None:
        """"Add" on a record's related tab links the new record to that record: its link
        carries `_flt_<n>_<relation>=<id>`. Only a record the user may read is filled in; an
        unknown or hidden id fills in nothing."""
        for argument, raw in request.args.items():
            match = re.fullmatch(r"_flt_\d+_(\w+)", argument)
            name = match.group(1) if match else None
            if name not in form or not self.datamodel.is_relation_many_to_one(name):
                continue
            parent = self._readable(self.datamodel.get_related_model(name), raw)
            if parent is not None:
                self._fill(form, name, parent)
                self.inherit_from_parent(form, name, parent)

    def _readable(self, model, raw):
        key = bounds.as_key(model.id, raw)
        if key is None:
            return None
        return self.datamodel.session.execute(
            access.readable(model).where(model.id == key)).scalar()

    @staticmethod
    def _fill(form, name: str, value) -> None:
        field = form[name]
        if hasattr(field, "process_data"):
            field.process_data(value)
        else:
            field.data = value

    def inherit_from_parent(self, form, name: str, parent) -> None:
        """What a new record takes over from the record it is added to (see subclasses)."""

    # --- after saving: the saved record's page ------------------------------------------

    def _saved_record_page(self):
        pk = g.get("crm_saved_pk")
        if pk is None or not self.appbuilder.sm.has_access("can_show",
                                                            self.class_permission_name):
            return None
        return redirect(url_for(f"{self.__class__.__name__}.show", pk=pk))

    def post_add_redirect(self):
        return self._saved_record_page() or super().post_add_redirect()

    def post_edit_redirect(self):
        return self._saved_record_page() or super().post_edit_redirect()

    # --- delete ----------------------------------------------------------------------------

    @expose("/delete/<pk>", methods=["POST"])
    @has_access
    def delete(self, pk):
        if self._delete_one(self._get_item(pk, "delete")):
            flash(str(self.delete_row_message), "success")
        self.update_redirect()
        return self.post_delete_redirect()

    def _delete_one(self, item) -> bool:
        """Delete through the service; a refusal is rolled back and flashed as it says."""
        try:
            commands.delete(item, before=self.pre_delete)
        except records.DomainError as error:
            flash(error.message, "danger")
            return False
        self.post_delete(item)
        return True

    # --- bulk actions ----------------------------------------------------------------------

    @bulk_action("muldelete", _l("Delete"), _l("Delete the selected records?"), "fa-trash",
            single=False)
    def muldelete(self, items):
        """Delete the selected records, each on its own: one that others refer to stays,
        with the message that says why."""
        deleted = sum(self._delete_one(item) for item in items)
        if deleted:
            flash(str(self.delete_row_message), "success")
        self.update_redirect()
        return redirect(self.get_redirect())

    def _refuse_action(self, name: str):
        return refuse_action_without_right(self, name)

    @staticmethod
    def _action_right(name: str) -> str:
        return "delete" if "delete" in name else "edit"

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        """FAB loads the selected rows without any filter; here each goes through the access
        filter, and one the user may not act on refuses the whole selection (404)."""
        name = request.form.get("action", "")
        if name not in self.actions:
            abort(404)
        refused = self._refuse_action(name)
        if refused is not None:
            return refused
        items = [self._get_item(raw, self._action_right(name))
                 for raw in request.form.getlist("rowid")]
        return self.actions[name].func(items)

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name, pk):
        if name not in self.actions:
            abort(404)
        refused = self._refuse_action(name)
        if refused is not None:
            return refused
        return self.actions[name].func(self._get_item(pk, self._action_right(name)))
