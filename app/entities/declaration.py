"""The shape of an entity's declaration: everything the application knows about an entity,
in one object that access, audit, history, rights, menu, screens, API and the generic tests
read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from sqlalchemy import inspect


@dataclass(frozen=True)
class Match:
    """One way a typed term finds records in a look-up: the term, normalised by `prepare`,
    is a prefix of `column`. An `optional` way is left out when `prepare` answers ""
    (a term with too few digits for an INN); another then matches every record."""

    column: str
    prepare: Callable[[str], str]
    optional: bool = False


@dataclass(frozen=True)
class Lookup:
    """Picking a record of a large table by typing (app.screens.lookup): where a term is looked for,
    the order of the matches, and how a match reads in the box."""

    matches: tuple[Match, ...]
    order: str
    text: Callable[[Any], str] = str


@dataclass(frozen=True)
class Section:
    """Fields that belong together on a record's form and page ("Requisites", "Contacts"),
    in the order they are filled in. Sections stand side by side on a wide screen."""

    label: object
    fields: tuple[str, ...]


@dataclass(frozen=True)
class MenuPlace:
    """The entity's list in the menu: the name Flask-AppBuilder knows the entry by (its
    `menu_access` permission), its category and icon. The label is the list's title."""

    name: str
    category: str
    icon: str


@dataclass(frozen=True)
class Entity:
    model: type
    rights: str                    # the entity of the rights matrix (app.services.access)
    owner: Optional[str] = None    # the relation naming the responsible user
    # The relation to the record it goes with (an interest's products go with their
    # interest): whoever may read or change that record may read or change this one.
    parent: Optional[str] = None
    tracked: bool = False          # every change is written to the history
    pages: Optional[tuple[str, ...]] = None  # views and APIs; default <Model>View, <Model>Api
    plural: object = None          # what a list of its records is called ("Clients")
    label: object = None           # what one record is called ("Client")
    list_title: object = None      # the title of its list, when not the plural
    menu: Optional[MenuPlace] = None
    # Normalised search columns: source attribute -> (shadow attribute, normaliser), kept
    # up to date on every flush (app.services.audit), searched and sorted by the lists.
    search_shadows: Optional[dict] = None
    # More columns kept from a field for the search (app.services.client_search): source
    # attribute -> ((column, normaliser), ...), e.g. a phone's digits from the last one.
    search_keys: Optional[dict] = None
    # The lists' position summary keeps this column's order (app.services.positions).
    positioned_by: Optional[str] = None

    # --- The columns screens and the API read and write ----------------------------------
    list: tuple[str, ...] = ()     # the list's columns
    show: tuple[str, ...] = ()     # the record page's (the audit stamps follow)
    form: tuple[str, ...] = ()     # written by the forms and the API, in the form's order
    fixed: tuple[str, ...] = ()    # of the form's, set on creation only (screens)
    screen_only: tuple[str, ...] = ()  # of the form's, not written through the API
    api_read: tuple[str, ...] = ()     # shown by the API besides what it writes
    search: tuple[str, ...] = ()   # the screens' filters
    order: tuple[str, ...] = ()    # the screens' sortable columns
    base_order: Optional[tuple[str, str]] = None
    api: Optional[str] = None      # the resource's name under /api/v1/
    api_search: tuple[str, ...] = ()
    api_order: tuple[str, ...] = ("id",)
    api_base_order: Optional[tuple[str, str]] = None
    read_only: bool = False        # listed and shown, never written by a user
    # Fields that only the commands of a process change (an interest's stage and closing:
    # app.services.sales); a form or a PUT that names one is refused with `commanded_by`,
    # the message that names the commands.
    commanded: tuple[str, ...] = ()
    commanded_by: object = None
    # field -> (its choices {value: label}, the form's default)
    choices: dict = field(default_factory=dict)
    # field -> the entity looked up by typing, for links into large tables
    lookups: dict = field(default_factory=dict)
    lookup: Optional[Lookup] = None
    related: tuple[type, ...] = ()  # the lists shown under a record, by model
    sections: tuple[Section, ...] = ()  # the groups of its form and page

    # --- Record rules ---------------------------------------------------------------------
    # field -> rule(record, value); a rule raises app.rules.validation.ValidationError.
    rules: dict = field(default_factory=dict)
    # record -> {field: message}: rules that involve more than one field.
    check: Optional[Callable[[Any], dict]] = None
    # record -> a message when the record must stay (R9), else None.
    keep: Optional[Callable[[Any], Optional[str]]] = None

    @property
    def page_names(self) -> tuple[str, ...]:
        if self.pages is not None:
            return self.pages
        name = self.model.__name__
        return (f"{name}View", f"{name}Api")

    @property
    def view_name(self) -> str:
        return f"{self.model.__name__}View"

    def _link(self, relation_name: str):
        """(the column a many-to-one relation is kept in, the related model)."""
        relation = inspect(self.model).relationships[relation_name]
        (column,) = relation.local_columns
        return getattr(self.model, column.key), relation.mapper.class_

    @property
    def owner_column(self):
        """The column of the responsible user's id, or None."""
        return None if self.owner is None else self._link(self.owner)[0]

    @property
    def parent_relation(self):
        """(the column linking to the parent record, the parent's model), or None."""
        return None if self.parent is None else self._link(self.parent)

    @property
    def titles(self) -> dict:
        """The list, record, add and edit titles of its screens and resource."""
        record = self.label or self.plural
        return {"list_title": self.list_title or self.plural, "show_title": record,
                "add_title": record, "edit_title": record}

    @property
    def edit(self) -> tuple[str, ...]:
        return tuple(name for name in self.form
                     if name not in self.fixed and name not in self.commanded)

    @property
    def commanded_columns(self) -> tuple[str, ...]:
        """The columns of the commanded fields (a relation's by its key column)."""
        relations = inspect(self.model).relationships
        return tuple(self._link(name)[0].key if name in relations else name
                     for name in self.commanded)

    @property
    def api_columns(self) -> tuple[str, ...]:
        return tuple(name for name in self.form if name not in self.screen_only)

    @property
    def api_edit(self) -> tuple[str, ...]:
        return tuple(name for name in self.api_columns if name not in self.commanded)

    def grouped(self, columns, more: tuple[Section, ...] = ()) -> list[tuple[object, dict]]:
        """`columns` in the entity's sections and `more` of a screen's own, as
        Flask-AppBuilder's fieldsets: each section with the columns it names, in its order;
        the columns no section names in a last, untitled one."""
        columns = list(columns)
        groups = [(section.label, [name for name in section.fields if name in columns])
                  for section in (*self.sections, *more)]
        named = {name for _label, names in groups for name in names}
        groups.append((None, [name for name in columns if name not in named]))
        return [(label, {"fields": names}) for label, names in groups if names]
