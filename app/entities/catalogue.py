"""What is sold and the directories the CRM's records choose from."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.entities import checks
from app.entities.declaration import Entity, MenuPlace
from app.models import CURRENCIES, DICTIONARY_KINDS, DictionaryItem, Product, ProductGroup

PRODUCT = Entity(
    Product, "product", plural=_l("Products"), label=_l("Product"),
    list_title=_l("Price list"),
    menu=MenuPlace("Price list", "Directories", "fa-tags"),
    list=("name", "sku", "group", "unit", "price", "currency", "is_active"),
    show=("name", "sku", "group", "unit", "price", "currency", "is_active", "description"),
    form=("name", "sku", "group", "unit", "price", "currency", "is_active", "description"),
    search=("name", "sku", "group", "is_active", "price"),
    order=("name", "sku", "price", "group"),
    base_order=("name", "asc"),
    api="product",
    api_search=("name", "sku", "group", "is_active"),
    api_order=("id", "name", "price"),
    choices={"currency": (CURRENCIES, "RUB")},
    rules={"price": checks.non_negative},
)

PRODUCT_GROUP = Entity(
    ProductGroup, "product", plural=_l("Product groups"), label=_l("Product group"),
    menu=MenuPlace("Product groups", "Directories", "fa-folder"),
    list=("name", "parent", "sort"),
    show=("name", "parent", "sort"),
    form=("name", "parent", "sort"),
    search=("name", "parent"),
    order=("name", "sort", "parent"),
    base_order=("sort", "asc"),
    api="product_group",
    api_order=("id", "name", "sort"),
)


def _keep_system_item(item):
    """R9: the system directory items stay."""
    return gettext("System directory items cannot be deleted.") if item.is_system else None


DICTIONARY_ITEM = Entity(
    DictionaryItem, "directory", plural=_l("Directory items"), label=_l("Directory item"),
    list_title=_l("Directories"),
    menu=MenuPlace("Directories", "Directories", "fa-list"),
    list=("kind", "name", "code", "sort", "points", "color", "is_system"),
    show=("kind", "name", "code", "sort", "points", "color", "is_system"),
    form=("kind", "name", "code", "sort", "points", "color"),
    fixed=("kind",),
    api_read=("is_system",),
    search=("kind", "name", "code"),
    order=("kind", "name", "sort", "points"),
    base_order=("kind", "asc"),
    api="dictionary",
    api_search=("kind", "code", "name"),
    api_order=("id", "kind", "sort", "name"),
    choices={"kind": (DICTIONARY_KINDS, None)},
    keep=_keep_system_item,
)

ENTITIES = [PRODUCT, PRODUCT_GROUP, DICTIONARY_ITEM]
