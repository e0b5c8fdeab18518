"""Every validator reaches the user: a message at the field in forms, 422 with the field's
name in the API; nothing is saved."""

from __future__ import annotations

import pytest

from app.models import (
    Client,
    CompanyRequisites,
    Contact,
    Inquiry,
    Interest,
    InterestProduct,
    Product,
)
from app.rules import validation as v
from app.views import CRUD_SCREENS
from tests.factories import ACCOUNT, BIK, FACTORIES
from tests.helpers import form_errors, route_of, text_of, tr

API_NAME = {Client: "client", Contact: "contact", Inquiry: "inquiry", Interest: "interest",
            Product: "product", CompanyRequisites: "requisites"}
VIEW_OF = {view.datamodel.obj: view for view in CRUD_SCREENS}

# (model, field, bad value, the message the user must see)
BAD = [
    (Client, "inn", "7707083894", v.MSG_INN_CHECKSUM),
    (Client, "inn", "77070838", v.MSG_INN_COMPANY_LENGTH),
    (Client, "inn", "77O7083893", v.MSG_INN_DIGITS),
    (Client, "kpp", "77360100", v.MSG_KPP_FORMAT),
    (Client, "ogrn", "1027700132196", v.MSG_OGRN_CHECKSUM),
    (Client, "ogrn", "10277001321", v.MSG_OGRN_COMPANY_LENGTH),
    (Client, "email", "ivan@", v.MSG_EMAIL_FORMAT),
    (Client, "phone", "+7 (495) 12-34", v.MSG_PHONE_LENGTH),
    (Client, "phone", "call me", v.MSG_PHONE_CHARS),
    (Contact, "email", "ivan at example.com", v.MSG_EMAIL_FORMAT),
    (Contact, "phone", "12345", v.MSG_PHONE_LENGTH),
    (Inquiry, "sender_email", "lead@example", v.MSG_EMAIL_FORMAT),
    (Inquiry, "sender_phone", "8-800-CALL-NOW", v.MSG_PHONE_CHARS),
    (Interest, "amount", "-100.00", v.MSG_NEGATIVE),
    (Product, "price", "-0.01", v.MSG_NEGATIVE),
    (InterestProduct, "discount", "150", "Discount must be between 0 and 100 percent"),
    (InterestProduct, "quantity", "-1", v.MSG_NEGATIVE),
    (CompanyRequisites, "inn", "7707083894", v.MSG_INN_CHECKSUM),
    (CompanyRequisites, "bik", "04452522", v.MSG_BIK_LENGTH),
    (CompanyRequisites, "bik", "144525225", v.MSG_BIK_PREFIX),
    (CompanyRequisites, "account", ACCOUNT[:-1] + str((int(ACCOUNT[-1]) + 1) % 10),
     v.MSG_ACCOUNT_CHECKSUM),
    (CompanyRequisites, "account", "4070281000000000000", v.MSG_ACCOUNT_LENGTH),
    (CompanyRequisites, "corr_account", "40101810400000000225", v.MSG_CORR_PREFIX),
    (CompanyRequisites, "kpp", "", "A company needs a KPP"),
]
CASES = [pytest.param(*case, id=f"{case[0].__name__}.{case[1]}={case[2]!r}") for case in BAD]


@pytest.mark.parametrize("model,field,value,message", CASES)
def test_form_add_shows_the_message_at_the_field(app, admin_client, dbx, model, field, value,
                                                 message):
    factory = FACTORIES[model]
    deps = factory.deps(dbx)
    before = dbx.count(model)
    data = {**factory.form(deps, 1), field: value}
    response = admin_client.post(f"{route_of(app, VIEW_OF[model])}/add", data=data)
    assert response.status_code == 200
    errors = form_errors(text_of(response))
    assert tr(app, message) in errors.get(field, ""), errors
    assert dbx.count(model) == before
    # The user's input is kept.
    if value:
        assert f'value="{value}"' in text_of(response) or value in text_of(response)


@pytest.mark.parametrize("model,field,value,message", CASES)
def test_form_edit_shows_the_message_at_the_field(app, admin_client, dbx, model, field, value,
                                                  message):
    factory = FACTORIES[model]
    deps = factory.deps(dbx)
    pk = factory.create(dbx, deps, n=1)
    before = dbx.get(model, pk)
    data = {**factory.form(deps, 1), field: value}
    if hasattr(model, "version"):
        data["version"] = "1"
    response = admin_client.post(f"{route_of(app, VIEW_OF[model])}/edit/{pk}", data=data)
    assert response.status_code == 200
    errors = form_errors(text_of(response))
    assert tr(app, message) in errors.get(field, ""), errors
    assert getattr(dbx.get(model, pk), field) == getattr(before, field)


API_CASES = [p for p in CASES if p.values[0] in API_NAME]


@pytest.mark.parametrize("model,field,value,message", API_CASES)
def test_api_answers_422_with_the_field(app, api, dbx, model, field, value, message):
    factory = FACTORIES[model]
    deps = factory.deps(dbx)
    before = dbx.count(model)
    base = f"/api/v1/{API_NAME[model]}"
    response = api.post(f"{base}/", json={**factory.json(deps, 1), field: value})
    assert response.status_code == 422, response.get_json()
    assert tr(app, message) in response.get_json()["message"][field]
    assert dbx.count(model) == before

    pk = factory.create(dbx, deps, n=2)
    original = getattr(dbx.get(model, pk), field)
    response = api.put(f"{base}/{pk}", json={field: value})
    assert response.status_code == 422, response.get_json()
    assert tr(app, message) in response.get_json()["message"][field]
    assert getattr(dbx.get(model, pk), field) == original


def test_every_error_is_reported_at_once(app, api, dbx):
    factory = FACTORIES[Client]
    body = {**factory.json(factory.deps(dbx), 1), "inn": "1", "kpp": "1", "email": "x",
            "phone": "1", "name": ""}
    response = api.post("/api/v1/client/", json=body)
    assert response.status_code == 422
    assert set(response.get_json()["message"]) == {"inn", "kpp", "email", "phone", "name"}


def test_interest_needs_a_client_or_a_potential_client(app, admin_client, api, dbx):
    factory = FACTORIES[Interest]
    deps = factory.deps(dbx)
    data = {**factory.form(deps, 1), "client": ""}
    response = admin_client.post("/interestview/add", data=data)
    assert response.status_code == 200
    assert "client" in form_errors(text_of(response))
    response = api.post("/api/v1/interest/", json={**factory.json(deps, 1), "client": None})
    assert response.status_code == 422
    assert "client" in response.get_json()["message"]
    # A potential client is enough.
    response = api.post("/api/v1/interest/", json={**factory.json(deps, 1), "client": None,
                                                   "potential_company": "ООО Новый"})
    assert response.status_code == 201, response.get_json()


def test_stage_must_belong_to_the_pipeline(app, api, dbx):
    factory = FACTORIES[Interest]
    deps = factory.deps(dbx)
    other = FACTORIES[__import__("app.models").models.Pipeline].create(dbx, n=1)
    response = api.post("/api/v1/interest/", json={**factory.json(deps, 1), "pipeline": other})
    assert response.status_code == 422
    assert "stage" in response.get_json()["message"]


def test_valid_requisites_are_accepted(app, api, dbx):
    body = FACTORIES[CompanyRequisites].json({}, 1)
    assert body["bik"] == BIK
    response = api.post("/api/v1/requisites/", json=body)
    assert response.status_code == 201, response.get_json()
