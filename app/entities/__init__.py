"""What the application knows about each entity, declared once (app/entities/*.py, by
part of the product; the shape of a declaration is app.entities.declaration.Entity).

An entity's declaration names its model, the entity of the rights matrix that governs it,
the relation naming its responsible user (owned records: the access filter's scopes
apply), whether every change of it is written to the history, its titles and place in the
menu, the columns its screens and API resource read and write, its look-up, and the rules
a record must keep. The access filter, the rights, the history, the audit, the menu, the
screens, the API and the generic tests read these declarations; adding an owned entity is
its model, its declaration and a migration.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.entities import catalogue, crm, reports, settings
from app.entities.declaration import Entity, Lookup, Match, MenuPlace

__all__ = ["Entity", "Lookup", "Match", "MenuPlace", "ENTITIES", "BY_MODEL", "BY_API",
           "MATRIX_ENTITIES", "OWNED_ENTITIES", "MODEL_ENTITY", "OWNER_RELATION", "PARENTS", "TRACKED_MODELS", "SEARCH_SHADOWS", "SEARCH_KEYS",
           "LOOKUPS", "POSITIONED", "owner_column", "pages_of"]

# In the menu's order.
ENTITIES: list[Entity] = [*crm.ENTITIES, *reports.ENTITIES, *catalogue.ENTITIES,
                          *settings.ENTITIES]

# The rows of the rights matrix (app.services.access): the entities the declarations name
# as their rights, and the reports.
MATRIX_ENTITIES = {
    "client": _l("Clients"),
    "contact": _l("Contacts"),
    "inquiry": _l("Inquiries"),
    "interest": _l("Interests"),
    "interaction": _l("Interactions"),
    "product": _l("Products"),
    "report": _l("Reports"),
    "directory": _l("Directories"),
    "settings": _l("Settings"),
}
if not {entity.rights for entity in ENTITIES} <= set(MATRIX_ENTITIES):
    raise RuntimeError("an entity names rights the matrix does not have")

# The matrix's entities whose records belong to someone: only they have meaningful own
# and department scopes.
OWNED_ENTITIES = tuple(dict.fromkeys(entity.rights for entity in ENTITIES if entity.owner))

BY_MODEL = {entity.model: entity for entity in ENTITIES}

# The API's resources by name.
BY_API = {entity.api: entity for entity in ENTITIES if entity.api}

# Which entity of the rights matrix governs a model.
MODEL_ENTITY = {entity.model: entity.rights for entity in ENTITIES}

# The relation that names a record's responsible user, per owned model.
OWNER_RELATION = {entity.model: entity.owner for entity in ENTITIES if entity.owner}

# The record each model's records go with, where they go with one: model -> Entity.
PARENTS = {entity.model: entity for entity in ENTITIES if entity.parent}

# Models whose every change is written to the change log.
TRACKED_MODELS = tuple(entity.model for entity in ENTITIES if entity.tracked)

# model -> {source attribute: (shadow attribute, normaliser)}
SEARCH_SHADOWS = {entity.model: entity.search_shadows for entity in ENTITIES
                  if entity.search_shadows}

# model -> {source attribute: ((search column, normaliser), ...)}
SEARCH_KEYS = {entity.model: entity.search_keys for entity in ENTITIES if entity.search_keys}

# The entities looked up by typing, by their rights entity's name ("client").
LOOKUPS = {entity.rights: entity for entity in ENTITIES if entity.lookup}

# The lists kept in the position summary, by their rights entity's name.
POSITIONED = {entity.rights: entity for entity in ENTITIES if entity.positioned_by}


def owner_column(model):
    """The column naming the user responsible for a record of `model`, or None."""
    entity = BY_MODEL.get(model)
    return None if entity is None else entity.owner_column


def pages_of(rights: str) -> list[str]:
    """The views and APIs the rights of a matrix entity open."""
    return [name for entity in ENTITIES if entity.rights == rights
            for name in entity.page_names]
