"""Valid records for every CRM entity, as form data, as API JSON and as saved rows.

One `Factory` per model. `deps()` makes the related records a new record needs and returns
their ids; `values(deps, n)` gives the n-th valid record in "API terms" (a relation by the
related record's id, a to-many relation by a list of ids, Python dates and decimals). The
form data, the JSON body and the ORM object are derived from that, so covering a new entity
takes a few lines here.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select

from app.models import (
    ChangeLog,
    Client,
    CompanyRequisites,
    Contact,
    CustomField,
    Department,
    DictionaryItem,
    Inquiry,
    Interaction,
    Interest,
    InterestProduct,
    Pipeline,
    Product,
    ProductGroup,
    SalesPlan,
    Stage,
)
from app.rules.validation import (
    make_valid_account,
    make_valid_corr_account,
    make_valid_inn,
    make_valid_ogrn,
)

BIK = "044525225"
CORR_ACCOUNT = make_valid_corr_account(BIK)
ACCOUNT = make_valid_account(BIK, "4070281000000000001")


# Numbers for the records that deps() makes, so that two of them never collide.
_DEP_NUMBERS = itertools.count(5000)


def dep_n() -> int:
    return next(_DEP_NUMBERS)


def valid_inn(n: int) -> str:
    return make_valid_inn(f"77{n % 10_000_000:07d}")


def valid_ogrn(n: int) -> str:
    return make_valid_ogrn(f"102770{n % 1_000_000:06d}")


# --- conversions -------------------------------------------------------------------------------


def to_form(values: dict) -> dict:
    """What a browser posts for these values."""
    form: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            form[key] = ""
        elif isinstance(value, bool):
            if value:
                form[key] = "y"
        elif isinstance(value, list):
            form[key] = [str(v) for v in value]
        elif isinstance(value, dt.datetime):
            form[key] = value.strftime("%Y-%m-%d %H:%M:%S")
        elif isinstance(value, dt.date):
            form[key] = value.strftime("%Y-%m-%d")
        else:
            form[key] = str(value)
    return form


def to_json(values: dict) -> dict:
    """The same values as an API body."""
    body: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            body[key] = to_json(value)
        elif isinstance(value, (dt.datetime, dt.date)):
            body[key] = value.isoformat()
        elif isinstance(value, Decimal):
            body[key] = str(value)
        else:
            body[key] = value
    return body


def to_object(session, model, values: dict):
    """An unsaved ORM object for these values (relations loaded by id)."""
    mapper = inspect(model)
    obj = model()
    with session.no_autoflush:
        _set_values(session, mapper, obj, values)
    return obj


def _set_values(session, mapper, obj, values: dict) -> None:
    for key, value in values.items():
        if key in mapper.relationships:
            rel = mapper.relationships[key]
            target = rel.mapper.class_
            if rel.uselist:
                setattr(obj, key, [session.get(target, v) for v in value or []])
            else:
                setattr(obj, key, session.get(target, value) if value is not None else None)
        else:
            setattr(obj, key, value)


# --- factories -----------------------------------------------------------------------------------


class Factory:
    model: type = None
    # (field, new value) that an edit sets; the value is stored as given.
    edit = ("name", "Changed by the test")
    # The column that identifies a record made from values(n).
    key = "name"

    def deps(self, dbx) -> dict:
        return {}

    def values(self, deps: dict, n: int) -> dict:
        raise NotImplementedError

    def extra(self, deps: dict, n: int) -> dict:
        """What a new record's form and POST carry besides its values (a first plan)."""
        return {}

    def form(self, deps: dict, n: int) -> dict:
        values = self.values(deps, n)
        extra = self.extra(deps, n)
        plan = extra.get("next")
        if plan:
            values.update({f"next_{key}": value for key, value in plan.items()})
        return to_form(values)

    def json(self, deps: dict, n: int) -> dict:
        return to_json({**self.values(deps, n), **self.extra(deps, n)})

    def create(self, dbx, deps: dict | None = None, n: int = 1, user: str | None = "admin") -> int:
        deps = self.deps(dbx) if deps is None else deps
        values = self.values(deps, n)
        return dbx.add(lambda s: to_object(s, self.model, values), user=user)

    def key_value(self, deps, n):
        return self.values(deps, n)[self.key]


def plan(n: int = 1, **more) -> dict:
    """A next plan as the API takes it (`next`), in "API terms"."""
    return {"subject": f"Call back {n}", "planned_at": dt.datetime(2027, 1, 15, 10, 0), **more}


def dictionary_item(dbx, kind: str, name: str, code: str | None = None) -> int:
    """The id of a directory item, made on first use."""
    code = code or name.lower().replace(" ", "_")
    found = dbx.scalar(select(DictionaryItem.id).where(DictionaryItem.kind == kind,
                                                       DictionaryItem.code == code))
    return found or dbx.add(DictionaryItem(kind=kind, code=code, name=name))


def system_item(dbx, kind: str, code: str) -> int:
    return dbx.scalar(select(DictionaryItem.id).where(DictionaryItem.kind == kind,
                                                      DictionaryItem.code == code))


def default_pipeline(dbx) -> int:
    return dbx.scalar(select(Pipeline.id).where(Pipeline.is_default.is_(True)))


def first_stage(dbx, pipeline_id: int) -> int:
    return dbx.scalar(select(Stage.id).where(Stage.pipeline_id == pipeline_id)
                      .order_by(Stage.sort).limit(1))


class ClientFactory(Factory):
    model = Client

    def deps(self, dbx):
        return {"user": dbx.user_id("manager"),
                "tag": dictionary_item(dbx, "tag", "VIP"),
                "industry": dictionary_item(dbx, "industry", "Retail")}

    def values(self, deps, n):
        return {"kind": "company", "name": f"ООО Ромашка {n}", "inn": valid_inn(n),
                "kpp": "773601001", "ogrn": valid_ogrn(n),
                "phone": f"+7 495 123-{n // 100 % 100:02d}-{n % 100:02d}",
                "email": f"client{n}@example.com", "site": "https://example.com",
                "address": "Москва", "industry": deps["industry"], "responsible": deps["user"],
                "tags": [deps["tag"]], "comment": "A test client"}


class ContactFactory(Factory):
    model = Contact

    def deps(self, dbx):
        return {"client": CLIENT.create(dbx, n=dep_n()), "user": dbx.user_id("manager")}

    def values(self, deps, n):
        return {"client": deps["client"], "name": f"Иван Петров {n}", "position": "Director",
                "phone": "8 (916) 123-45-67", "email": f"ivan{n}@example.com",
                "birthday": dt.date(1985, 5, 17), "is_key": True, "responsible": deps["user"]}


class InquiryFactory(Factory):
    model = Inquiry
    edit = ("sender_name", "Changed by the test")
    key = "sender_name"

    def deps(self, dbx):
        return {"user": dbx.user_id("manager"),
                "type": dictionary_item(dbx, "inquiry_type", "Price request")}

    def values(self, deps, n):
        return {"channel": "call", "inquiry_type": deps["type"], "text": "Need a quote",
                "sender_name": f"Sender {n}", "sender_company": "ООО Лютик",
                "sender_phone": "+7 916 000-00-01", "sender_email": f"lead{n}@example.com",
                "received_at": dt.datetime(2026, 1, 15, 10, 30), "manager": deps["user"],
                "status": "new"}


class InterestFactory(Factory):
    model = Interest
    edit = ("title", "Changed by the test")
    key = "title"

    def deps(self, dbx):
        pipeline = default_pipeline(dbx)
        return {"client": CLIENT.create(dbx, n=dep_n()), "pipeline": pipeline,
                "stage": first_stage(dbx, pipeline), "user": dbx.user_id("manager"),
                "tag": dictionary_item(dbx, "tag", "Hot")}

    def values(self, deps, n):
        return {"title": f"Поставка оборудования {n}", "description": "Ten units",
                "client": deps["client"], "pipeline": deps["pipeline"], "stage": deps["stage"],
                "amount": Decimal("150000.50"), "currency": "RUB", "responsible": deps["user"],
                "tags": [deps["tag"]], "flagged": True}

    def extra(self, deps, n):
        return {"next": plan(n)}


class InteractionFactory(Factory):
    model = Interaction
    edit = ("subject", "Changed by the test")
    key = "subject"

    def deps(self, dbx):
        return {"client": CLIENT.create(dbx, n=dep_n()), "user": dbx.user_id("manager"),
                "type": system_item(dbx, "interaction_type", "call")}

    def values(self, deps, n):
        return {"type": deps["type"], "subject": f"Call about the offer {n}",
                "client": deps["client"], "responsible": deps["user"],
                "planned_at": dt.datetime(2026, 2, 1, 9, 0), "status": "planned"}


class ProductGroupFactory(Factory):
    model = ProductGroup

    def values(self, deps, n):
        return {"name": f"Group {n}", "sort": 10}


class ProductFactory(Factory):
    model = Product

    def deps(self, dbx):
        return {"group": PRODUCT_GROUP.create(dbx, n=dep_n())}

    def values(self, deps, n):
        return {"name": f"Widget {n}", "sku": f"SKU-{n}", "group": deps["group"], "unit": "шт",
                "price": Decimal("99.90"), "currency": "RUB", "is_active": True,
                "description": "A widget"}


class InterestProductFactory(Factory):
    model = InterestProduct
    edit = ("quantity", "7")
    key = "quantity"

    def deps(self, dbx):
        interest_deps = INTEREST.deps(dbx)
        return {"interest": INTEREST.create(dbx, interest_deps, n=dep_n()),
                "product": PRODUCT.create(dbx, n=dep_n())}

    def values(self, deps, n):
        return {"interest": deps["interest"], "product": deps["product"],
                "quantity": Decimal(n), "price": Decimal("10.00"), "discount": Decimal("5")}


class DictionaryItemFactory(Factory):
    model = DictionaryItem

    def values(self, deps, n):
        return {"kind": "tag", "name": f"Tag {n}", "code": f"tag_{n}", "sort": 10, "points": 0,
                "color": "#ff0000"}


class PipelineFactory(Factory):
    model = Pipeline

    def values(self, deps, n):
        return {"name": f"Support {n}", "sort": 20, "is_default": False}


class StageFactory(Factory):
    model = Stage

    def deps(self, dbx):
        return {"pipeline": default_pipeline(dbx)}

    def values(self, deps, n):
        return {"pipeline": deps["pipeline"], "sort": 55, "name": f"Stage {n}", "kind": "open",
                "color": "#00ff00", "requires_client": False, "probability": 40,
                "days_limit": 10}


class DepartmentFactory(Factory):
    model = Department

    def deps(self, dbx):
        return {"head": dbx.user_id("supervisor")}

    def values(self, deps, n):
        return {"name": f"Sales {n}", "head": deps["head"], "activity_norm": 48}


class CompanyRequisitesFactory(Factory):
    model = CompanyRequisites
    edit = ("short_name", "Changed by the test")
    key = "short_name"

    def values(self, deps, n):
        return {"template": "company", "full_name": f"Общество с ограниченной ответственностью "
                                                    f"Воронка {n}",
                "short_name": f"ООО Воронка {n}", "inn": valid_inn(n), "kpp": "773601001",
                "ogrn": valid_ogrn(n), "address": "Москва", "bank_name": "ПАО Сбербанк",
                "bik": BIK, "account": ACCOUNT, "corr_account": CORR_ACCOUNT,
                "director": "Иванов И. И.", "is_default": True}


class CustomFieldFactory(Factory):
    model = CustomField
    edit = ("label_ru", "Changed by the test")
    key = "label_ru"

    def values(self, deps, n):
        return {"entity": "client", "code": f"field_{n}", "label_ru": f"Поле {n}",
                "label_en": f"Field {n}", "field_type": "string", "sort": 100 + n}


class SalesPlanFactory(Factory):
    """A plan of manager A (Sales: the supervisor's subtree)."""

    model = SalesPlan
    edit = ("note", "Changed by the test")
    key = "note"

    def deps(self, dbx):
        return {"manager": dbx.user_id("manager")}

    def values(self, deps, n):
        return {"manager": deps["manager"], "starts_on": dt.date(2026, 12, 1),
                "ends_on": dt.date(2026, 12, 31), "won_count": n,
                "won_amount": Decimal(1000 * n), "note": f"Plan {n}"}


CLIENT = ClientFactory()
CONTACT = ContactFactory()
INQUIRY = InquiryFactory()
INTEREST = InterestFactory()
INTERACTION = InteractionFactory()
PRODUCT_GROUP = ProductGroupFactory()
PRODUCT = ProductFactory()
INTEREST_PRODUCT = InterestProductFactory()
DICTIONARY_ITEM = DictionaryItemFactory()
PIPELINE = PipelineFactory()
STAGE = StageFactory()
DEPARTMENT = DepartmentFactory()
REQUISITES = CompanyRequisitesFactory()
CUSTOM_FIELD = CustomFieldFactory()
SALES_PLAN = SalesPlanFactory()

FACTORIES: dict[type, Factory] = {
    f.model: f for f in (CLIENT, CONTACT, INQUIRY, INTEREST, INTERACTION, PRODUCT_GROUP, PRODUCT,
                         INTEREST_PRODUCT, DICTIONARY_ITEM, PIPELINE, STAGE, DEPARTMENT,
                         REQUISITES, CUSTOM_FIELD, SALES_PLAN)
}

# Models that are read-only on every screen and resource.
READ_ONLY = {ChangeLog}
