"""What the application knows about each entity, declared once.

An entity's declaration names its model, the entity of the rights matrix that governs it,
the relation naming its responsible user (owned records: the access filter's scopes
apply), whether every change of it is written to the history, and the screens and API
resources the rights open. The access filter, the rights, the history, the audit and
the lists' position summary read these declarations; adding an owned entity is its
model, its declaration here and a migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect

from app.models import (
    ChangeLog,
    Client,
    CompanyRequisites,
    Contact,
    Department,
    DictionaryItem,
    Inquiry,
    Interaction,
    Interest,
    InterestProduct,
    Pipeline,
    Product,
    ProductGroup,
    Stage,
)
from app.rules.validation import normalize_name, normalize_phone, normalize_search


@dataclass(frozen=True)
class Entity:
    model: type
    rights: str                    # the entity of the rights matrix (app.services.access)
    owner: Optional[str] = None    # the relation naming the responsible user
    tracked: bool = False          # every change is written to the history
    pages: Optional[tuple[str, ...]] = None  # views and APIs; default <Model>View, <Model>Api
    plural: object = None          # what a list of its records is called ("Clients")
    label: object = None           # what one record is called in the history ("Client")
    # Normalised search columns: source attribute -> (shadow attribute, normaliser), kept
    # up to date on every flush (app.services.audit), searched and sorted by the lists.
    search_shadows: Optional[dict] = None

    @property
    def page_names(self) -> tuple[str, ...]:
        if self.pages is not None:
            return self.pages
        name = self.model.__name__
        return (f"{name}View", f"{name}Api")

    @property
    def owner_column(self):
        """The column of the responsible user's id, or None."""
        if self.owner is None:
            return None
        relation = inspect(self.model).relationships[self.owner]
        (column,) = relation.local_columns
        return getattr(self.model, column.key)


ENTITIES = [
    Entity(Client, "client", owner="responsible", tracked=True,
           plural=_l("Clients"), label=_l("Client"),
           search_shadows={"name": ("name_search", normalize_name),
                           "phone": ("phone_normalized", normalize_phone),
                           "email": ("email_normalized", normalize_search)}),
    Entity(Contact, "contact", owner="responsible", tracked=True,
           plural=_l("Contacts"), label=_l("Contact"),
           search_shadows={"name": ("name_search", normalize_search),
                           "phone": ("phone_normalized", normalize_phone),
                           "email": ("email_normalized", normalize_search)}),
    Entity(Inquiry, "inquiry", owner="manager", tracked=True,
           plural=_l("Inquiries"), label=_l("Inquiry")),
    Entity(Interest, "interest", owner="responsible", tracked=True,
           plural=_l("Interests"), label=_l("Interest"),
           search_shadows={"title": ("title_search", normalize_search)}),
    # An interest's products go with their interest (app.services.access).
    Entity(InterestProduct, "interest", pages=("InterestProductView",),
           plural=_l("Interest products")),
    Entity(Interaction, "interaction", owner="responsible", tracked=True,
           plural=_l("Interactions"), label=_l("Interaction")),
    Entity(Product, "product", plural=_l("Products")),
    Entity(ProductGroup, "product", plural=_l("Product groups")),
    Entity(DictionaryItem, "directory", plural=_l("Directory items")),
    Entity(Pipeline, "directory", plural=_l("Pipelines")),
    Entity(Stage, "directory", plural=_l("Stages")),
    Entity(Department, "settings", plural=_l("Departments")),
    Entity(CompanyRequisites, "settings", plural=_l("Requisites")),
    Entity(ChangeLog, "settings"),
]

BY_MODEL = {entity.model: entity for entity in ENTITIES}

# Which entity of the rights matrix governs a model.
MODEL_ENTITY = {entity.model: entity.rights for entity in ENTITIES}

# The relation that names a record's responsible user, per owned model.
OWNER_RELATION = {entity.model: entity.owner for entity in ENTITIES if entity.owner}

# Models whose every change is written to the change log.
TRACKED_MODELS = tuple(entity.model for entity in ENTITIES if entity.tracked)

# model -> {source attribute: (shadow attribute, normaliser)}
SEARCH_SHADOWS = {entity.model: entity.search_shadows for entity in ENTITIES
                  if entity.search_shadows}


def owner_column(model):
    """The column naming the user responsible for a record of `model`, or None."""
    entity = BY_MODEL.get(model)
    return None if entity is None else entity.owner_column


def pages_of(rights: str) -> list[str]:
    """The views and APIs the rights of a matrix entity open."""
    return [name for entity in ENTITIES if entity.rights == rights
            for name in entity.page_names]
