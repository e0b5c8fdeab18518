"""The list and search widgets of every screen, made cheap to render.

A list page used to spend most of its time in templates: three URLs, three macros and six
translations per row, and a search form whose select boxes were filled from the database
and rendered to HTML on every page. Here a row costs a few string operations, and the
search form is rendered once per screen, language and state of the tables its select boxes
list (see SearchFormCache).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import urlencode

import flask_babel
from flask import current_app, g, has_request_context, request, url_for
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.widgets import FormWidget, ListWidget, RenderTemplateWidget, ShowWidget
from flask_babel import format_decimal, get_locale
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape
from sqlalchemy import False_, True_
from werkzeug.routing import BuildError
from wtforms.widgets import html_params

from app.fab import custom_form
from app.services import access, stamp
from app.services.clock import format_local, format_typed

# FAB's own messages (its catalogues translate them), marked for ours by app.i18n_extra.
ROW_BUTTONS = {"show": ("Show record", "Show"), "edit": ("Edit record", "Edit"),
               "delete": ("Delete record", "Delete")}
DELETE_QUESTION = "Are you sure you want to delete this item?"


class CrmFormWidget(FormWidget):
    """A record's add and edit form: the entity's sections side by side on a wide screen,
    each field's label above it."""

    template = "crm/widgets/form.html"


class CrmShowWidget(ShowWidget):
    """A record's page: its fields in the entity's sections, as a card rather than a table."""

    template = "crm/widgets/show.html"


class CrmListWidget(ListWidget):
    """The list table. The show, edit and delete links of every row are made here from one
    URL each, instead of three url_for calls and macro calls per row in the template."""

    template = "crm/widgets/list.html"
    _PK = "0000000000"  # stands for the row's key in the URLs built once per list

    def __call__(self, **kwargs):
        args = self.template_args
        view = args["modelview_name"]
        templates = [self._link_template(f"can_{name}", f"{view}.{name}", args["filters"],
                                         with_filters=name != "delete")
                     for name in ("show", "edit", "delete")]
        actions = current_app.jinja_env.filters["get_actions_on_list"](args["actions"], view)
        kwargs["list_actions"] = actions
        kwargs["has_links"] = any(templates)
        kwargs["rows"] = self._rows(templates, check=bool(actions))
        links = PageLinks(view)
        page, page_size, count = args["page"] or 0, args["page_size"], args["count"]
        kwargs["pagination"] = links.pagination(page, page_size, count)
        kwargs["page_sizes"] = links.page_sizes(page, page_size, count)
        kwargs["headers"] = [
            (args["label_columns"].get(c), *links.order(c)) if c in args["order_columns"]
            else (args["label_columns"].get(c), None, None)
            for c in args["include_columns"]]
        return super().__call__(**kwargs)

    def _rows(self, link_templates, check: bool) -> Markup:
        """The <tr> of every row: check box, buttons, cells formatted as the view says."""
        args = self.template_args
        columns = args["include_columns"]
        formatters = [(args.get("formatters_columns") or {}).get(c) for c in columns]
        buttons = [self._button_html(kind, template)
                   for kind, template in zip(("show", "edit", "delete"), link_templates, strict=False)]
        # Many rows share a value (a kind, a manager): each is formatted and escaped once.
        cells: dict[tuple, Markup] = {}
        html = []
        row_classes = args.get("row_classes") or [""] * len(args["pks"])
        for pk, item, row_class in zip(args["pks"], args["value_columns"], row_classes, strict=True):
            key = escape(pk)
            html.append(f'<tr class="{row_class}">' if row_class else "<tr>")
            if check:
                html.append(f'<td><input id="{key}" class="action_check" name="rowid" '
                            f'value="{key}" type="checkbox"></td>')
            if any(link_templates):
                html.append('<td><div class="btn-group btn-group-xs crm-row-buttons">')
                html.extend(b.replace(self._PK, str(key)) for b in buttons if b)
                html.append("</div></td>")
            for index, (column, formatter) in enumerate(zip(columns, formatters, strict=True)):
                value = item[column]
                try:
                    cell = cells.get((index, value))
                except TypeError:  # an unhashable value
                    cell, value = None, None
                if cell is None:
                    cell = escape(formatter(item[column]) if formatter else item[column])
                    if value is not None:
                        cells[(index, value)] = cell
                html.append(f"<td>{cell}</td>")
            html.append("</tr>")
        return Markup("".join(html))

    @staticmethod
    def _button_html(kind: str, url: Optional[str]) -> Optional[str]:
        if url is None:
            return None
        title, text = ROW_BUTTONS[kind]
        icon = {"show": "fa-search", "edit": "fa-edit", "delete": "fa-trash"}[kind]
        if kind == "delete":
            link = (f'href="#" class="btn btn-sm btn-default crm-delete" data-url="{url}" '
                    f'data-question="{escape(_gettext(DELETE_QUESTION))}"')
        else:
            link = f'href="{url}" class="btn btn-sm btn-default"'
        return (f'<a {link} rel="tooltip" title="{escape(_gettext(title))}">'
                f'<span class="sr-only">{escape(_gettext(text))}</span>'
                f'<i class="fa {icon}"></i></a>')

    def _link_template(self, permission, endpoint, filters, with_filters) -> Optional[str]:
        visible = current_app.appbuilder.template_filters.is_item_visible
        if not visible(permission, endpoint.split(".")[0]):
            return None
        try:
            url = url_for(endpoint, pk=self._PK)
        except BuildError:  # a view without this route
            return None
        if with_filters:  # a related list keeps its master's filter, as FAB's links do
            for flt, value in filters.get_filters_values():
                if flt.is_related_view:
                    url += ("&" if "?" in url else "?") + f"_flt_0_{flt.column_name}={value}"
        return url


class PageLinks:
    """The links of a list's pager, page sizes and column headers: this page's URL with
    one of its arguments changed (FAB's link_page, link_page_size and link_order filters,
    built from one url_for instead of one each, keeping repeated arguments)."""

    PAGE_SIZES = (25, 50, 75, 100)

    def __init__(self, view_name: str):
        self.view_name = view_name
        self.base = url_for(request.endpoint, **(request.view_args or {}))
        self.args = list(request.args.items(multi=True))

    def url(self, **changes) -> str:
        changed = {f"{name}_{self.view_name}": value for name, value in changes.items()}
        items = [(k, v) for k, v in self.args if k not in changed] + list(changed.items())
        return f"{self.base}?{urlencode(items)}"

    def pagination(self, page: int, page_size: int, count: int) -> list[tuple]:
        """(text, URL or None, css class) of FAB's pager: first, previous, up to seven
        pages around this one, next, last."""
        pages = -(-count // page_size)
        if pages <= 1:
            return []
        low, high = page - 3, page + 4
        if low < 0:
            high -= low
        if high >= pages:
            low -= high - pages
        low, high = max(low, 0), min(high, pages)
        items = [("«", self.url(page=0) if low > 0 else None, ""),
                 ("<", self.url(page=page - 1) if page > 0 else None, "")]
        items += [(str(p + 1), None if p == page else self.url(page=p),
                   "active" if p == page else "") for p in range(low, high)]
        items += [(">", self.url(page=page + 1) if page + 1 < pages else None, ""),
                  ("»", self.url(page=pages - 1) if high < pages else None, "")]
        return [(text, url, css or ("" if url else "disabled")) for text, url, css in items]

    def page_sizes(self, page: int, page_size: int, count: int) -> list[tuple]:
        """(size, URL, is current) of the page sizes that make sense for this list."""
        if -(-count // page_size) <= 1:
            return []
        return [(size, self.url(psize=size), size == page_size)
                for size in self.PAGE_SIZES if page * size <= count]

    def order(self, column: str) -> tuple[str, str]:
        """The URL that orders by `column` (the other way round when it already does) and
        the icon of its current state."""
        ordered = request.args.get(f"_oc_{self.view_name}") == column
        ascending = request.args.get(f"_od_{self.view_name}") == "asc"
        url = self.url(_oc=column, _od="desc" if ordered and ascending else "asc")
        icon = ("fa-chevron-up" if ascending else "fa-chevron-down") if ordered else "fa-arrows-v"
        return url, icon


@dataclass(frozen=True)
class SearchFormParts:
    """What FAB's search widget hands to its script, rendered and serialised once."""

    columns: tuple[tuple[str, str], ...]  # (column, label), in the "Add filter" menu order
    labels_json: Markup
    fields_json: Markup
    filters_json: Markup


def render_search_form_parts(form, columns, filters) -> SearchFormParts:
    """FAB's SearchWidget.__call__, minus the active filters."""
    search_filters = filters.get_search_filters()
    labels = {c: as_unicode(form[c].label.text) for c in columns}
    fields = {c: form[c]() for c in columns}
    names = {c: [as_unicode(f.name) for f in search_filters[c]] for c in columns}
    return SearchFormParts(
        columns=tuple(labels.items()),
        labels_json=_json(labels),
        fields_json=_json(fields),
        filters_json=_json(names),
    )


def with_custom_filters(parts: SearchFormParts, specs) -> SearchFormParts:
    """The search form's parts with the filters of the custom fields the user may read."""
    # FAB's script puts a filter's label into the page as HTML: an administrator's label
    # goes escaped.
    labels = {**json.loads(parts.labels_json), **{s.key: str(escape(s.label)) for s in specs}}
    fields = {**json.loads(parts.fields_json),
              **{s.key: str(custom_form.filter_input(s)) for s in specs}}
    names = {**json.loads(parts.filters_json),
             **{s.key: [str(custom_form.OPERATOR_LABELS[o]) for o in s.kind.operators]
                for s in specs}}
    return SearchFormParts(
        columns=(*parts.columns, *((s.key, s.label) for s in specs)),
        labels_json=_json(labels), fields_json=_json(fields), filters_json=_json(names))


def _json(value) -> Markup:
    """As Jinja's `tojson`: safe inside a <script>."""
    return htmlsafe_json_dumps(value)


class SearchFormCache:
    """The rendered search form of one screen, per language and access to its choices.

    The select boxes of a search form list small tables (users, directories, departments,
    pipelines, products). The form is rendered again when the cache stamp says that one of
    them may have changed (app.services.stamp). A form listing a table the stamp does not
    watch, or rows the user sees only in part (the access filter depends on the row), is
    rendered on every page as FAB does.
    """

    def __init__(self, datamodel, columns):
        self.models = tuple({datamodel.get_related_model(c) for c in columns
                             if datamodel.is_relation(c)})
        self.cacheable = all(m.__tablename__ in stamp.WATCHED_TABLES for m in self.models)
        self._forms = stamp.StampedCache()

    def parts(self, render: Callable[[], SearchFormParts]) -> SearchFormParts:
        access_key = self._access_key()
        if not self.cacheable or access_key is None:
            return render()
        return self._forms.get((str(get_locale()), access_key), render)

    def _access_key(self) -> Optional[tuple[bool, ...]]:
        """Which related tables the user may read, all or nothing; None when the access
        filter decides row by row."""
        key = []
        for model in self.models:
            condition = access.condition(model, "read")
            if not isinstance(condition, (True_, False_)):
                return None
            key.append(isinstance(condition, True_))
        return tuple(key)


class CrmSearchWidget(RenderTemplateWidget):
    """FAB's search widget over cached form parts; only the active filters are per page."""

    template = "crm/widgets/search.html"

    def __call__(self, **kwargs):
        kwargs["active_filters"] = self.template_args["filters"].get_filters_values_tojson()
        return super().__call__(**kwargs)


class NavbarMenuCache:
    """The navigation menu, rendered once per language and set of permissions.

    FAB renders it on every page: a permission check, a URL and a translation per item.
    What it shows depends only on those, so users with the same rights share one copy.
    """

    TEMPLATE = "crm/navbar_menu.html"
    MAX_ENTRIES = 256

    def __init__(self):
        self._menus: dict[tuple, Markup] = {}
        self._lock = threading.Lock()

    def __call__(self) -> Markup:
        appbuilder = current_app.appbuilder
        permissions = appbuilder.sm.current_permissions()
        if permissions is None:
            return self._render(appbuilder)
        key = (str(get_locale()), permissions)
        with self._lock:
            menu = self._menus.get(key)
        if menu is None:
            menu = self._render(appbuilder)
            with self._lock:
                if len(self._menus) >= self.MAX_ENTRIES:
                    self._menus.clear()
                self._menus[key] = menu
        return menu

    def _render(self, appbuilder) -> Markup:
        template = current_app.jinja_env.get_template(self.TEMPLATE)
        return Markup(template.render(menu=appbuilder.menu, appbuilder=appbuilder))


def request_translations():
    """Flask-Babel's translations for the request, looked up once per request: Flask-Babel
    goes through a dozen context-local proxies for every string, and a page has dozens."""
    if not has_request_context():
        return flask_babel.get_translations()
    translations = g.get("crm_translations")
    if translations is None:
        translations = g.crm_translations = flask_babel.get_translations()
    return translations


def _gettext(string: str, **variables) -> str:
    text = request_translations().ugettext(string)
    return text % variables if variables else text


def query_with(args, **changes) -> str:
    """A page's query string with some arguments changed (None or "" drops one)."""
    kept = [(key, value) for key, value in args.items(multi=True) if key not in changes]
    kept += [(key, value) for key, value in changes.items() if value not in (None, "")]
    return urlencode(kept)


def install(app) -> None:
    """Templates reach the cached menu as `navbar_menu()`, and translate through
    request_translations (the same catalogues as Flask-Babel's own callables)."""
    menu = NavbarMenuCache()
    app.context_processor(lambda: {"navbar_menu": menu,
                                   "page_language": str(get_locale() or "ru")[:2]})
    app.jinja_env.filters.update(
        crm_with=query_with,
        crm_local=format_local,
        crm_date=format_typed,
        crm_money=lambda value: format_decimal(value or 0, format="#,##0.00"),
        crm_number=lambda value: format_decimal(value or 0, format="#,##0.###"),
    )
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


class StageSelectWidget(Select2Widget):
    """The stage select box of an interest: each option names its pipeline, so that
    crm/stages.js offers only the stages of the pipeline chosen in the same form."""

    def __call__(self, field, **kwargs):
        kwargs["class"] = "my_select2 form-control crm-stage-select"
        kwargs["data-placeholder"] = _gettext("Select Value")
        kwargs.setdefault("id", field.id)
        pipelines = {str(pk): stage.pipeline_id for pk, stage in field._get_object_list()}
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for value, label, selected, render_kw in field.iter_choices():
            attributes = {"value": value, **(render_kw or {})}
            if selected:
                attributes["selected"] = True
            if str(value) in pipelines:
                attributes["data-pipeline"] = pipelines[str(value)]
            html.append(f"<option {html_params(**attributes)}>{escape(label)}</option>")
        html.append("</select>")
        return Markup("".join(html))
