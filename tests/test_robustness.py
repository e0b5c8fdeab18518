"""Bad input never answers 500: unknown ids, malformed paging and sorting, broken bodies,
records that others still refer to."""

from __future__ import annotations

import pytest

from app.api import RESOURCES
from app.models import Client, Contact, Pipeline, Product, Stage
from app.services.records import _TABLE_LABELS
from app.views import CRUD_SCREENS
from tests.factories import CLIENT, CONTACT, INTEREST, default_pipeline
from tests.helpers import (
    api_base,
    assert_no_server_error,
    flashed,
    form_errors,
    page_text,
    route_of,
    shown_ids,
    text_of,
    tr,
)
from tests.volume import bulk_clients

SCREEN_CASES = [pytest.param(view, id=view.__name__) for view in CRUD_SCREENS]
API_CASES = [pytest.param(resource, id=resource.resource_name) for resource in RESOURCES]



# --- unknown ids -----------------------------------------------------------------------------


@pytest.mark.parametrize("view", SCREEN_CASES)
def test_unknown_ids_answer_404_on_screens(app, admin_client, view):
    base = route_of(app, view)
    for pk in ("987654", "abc", "-1", "1.5", "99999999999999999999"):
        assert admin_client.get(f"{base}/show/{pk}").status_code == 404
        if view.datamodel.obj.__name__ != "ChangeLog":
            assert admin_client.get(f"{base}/edit/{pk}").status_code == 404
            assert admin_client.post(f"{base}/edit/{pk}", data={"name": "x"}).status_code == 404
            assert admin_client.post(f"{base}/delete/{pk}").status_code == 404


@pytest.mark.parametrize("resource", API_CASES)
def test_unknown_ids_answer_404_in_the_api(api, resource):
    base = api_base(resource)
    assert api.get(f"{base}/987654").status_code == 404
    if resource.datamodel.obj.__name__ != "ChangeLog":
        assert api.put(f"{base}/987654", json={"name": "x"}).status_code == 404
        assert api.delete(f"{base}/987654").status_code == 404
    assert api.get(f"{base}/abc").status_code == 404
    assert api.get(f"{base}/99999999999999999999").status_code == 404


def test_404_page_is_a_page_and_json_for_the_api(admin_client, api):
    response = admin_client.get("/clientview/show/987654")
    assert response.status_code == 404
    assert "<html" in text_of(response).lower()
    response = api.get("/api/v1/client/987654")
    assert response.status_code == 404
    assert response.is_json


# --- paging and sorting of screens --------------------------------------------------------------


@pytest.mark.parametrize("view", SCREEN_CASES)
@pytest.mark.parametrize("query", [
    "psize_{name}=abc", "psize_{name}=-5", "psize_{name}=0", "page_{name}=-1",
    "page_{name}=abc", "page_{name}=99999", "psize_{name}=1000000",
    "_oc_{name}=no_such_column&_od_{name}=asc", "_oc_{name}=name&_od_{name}=sideways",
    "_oc_{name}=id;drop table x&_od_{name}=desc", "_flt_0_nosuch=1", "_flt_99_name=x",
    "_flt_0_name=%25%27%22", "_flt_1_name=", "_flt_0_id=abc", "page_{name}=99999999999999999999",
])
def test_list_survives_bad_arguments(app, admin_client, view, query):
    name = view.__name__
    response = admin_client.get(f"{route_of(app, view)}/list/?{query.format(name=name)}")
    assert_no_server_error(response)
    assert response.status_code == 200


@pytest.mark.parametrize("view", SCREEN_CASES)
def test_list_sorts_by_every_order_column(app, admin_client, dbx, view):
    """Every column offered for sorting, related ones included, sorts without an error."""
    from tests.test_crud_generic import make_record

    make_record(dbx, view.datamodel.obj, 1)
    make_record(dbx, view.datamodel.obj, 2)
    instance = next(v for v in app.appbuilder.baseviews if type(v) is view)
    name = view.__name__
    for column in [*instance.order_columns, *instance.list_columns]:
        for direction in ("asc", "desc"):
            response = admin_client.get(
                f"{route_of(app, view)}/list/?_oc_{name}={column}&_od_{name}={direction}")
            assert response.status_code == 200, (column, direction)


def test_page_size_is_capped(app, admin_client, dbx):
    bulk_clients(dbx, 130)
    max_size = app.config["CRM_LIST_MAX_PAGE_SIZE"]
    response = admin_client.get("/clientview/list/?psize_ClientView=1000000")
    assert response.status_code == 200
    assert len(shown_ids(response, "/clientview")) == max_size == 100
    response = admin_client.get("/clientview/list/?psize_ClientView=50")
    assert len(shown_ids(response, "/clientview")) == 50
    # The last page and beyond.
    response = admin_client.get("/clientview/list/?psize_ClientView=100&page_ClientView=1")
    assert len(shown_ids(response, "/clientview")) == 30
    response = admin_client.get("/clientview/list/?psize_ClientView=100&page_ClientView=7")
    assert response.status_code == 200
    assert shown_ids(response, "/clientview") == []


# --- the API's query argument ------------------------------------------------------------------


@pytest.mark.parametrize("resource", API_CASES)
@pytest.mark.parametrize("q", [
    "(page_size:100000)", "(page_size:-1)", "(page:-1,page_size:10)", "(page:abc)",
    "(((", "(order_column:no_such,order_direction:asc)",
    "(order_column:id,order_direction:sideways)",
    "(filters:!((col:no_such,opr:eq,value:1)))", "(filters:!((col:id,opr:nope,value:1)))",
    "(filters:!((col:id,opr:eq,value:abc)))", "(filters:oops)", "(columns:!(no_such))",
    "(keys:!(nope))", "!(1,2)", "'just a string'", "(page:99999999999999999999,page_size:10)",
    "(filters:!((col:id,opr:eq,value:99999999999999999999)))", "(filters:!((col:name,opr:sw,value:5)))",
])
def test_api_list_survives_bad_queries(api, resource, q):
    response = api.get(f"{api_base(resource)}/", query_string={"q": q})
    assert_no_server_error(response)
    assert response.status_code in (200, 400), (response.status_code, response.get_json())
    assert response.is_json


def test_filters_naming_no_possible_record_find_none(admin_client, api, dbx):
    """Keys and numbers beyond any database integer, and numbers where text is expected,
    are searched for like any other value: nothing (or the text) is found, no error."""
    bulk_clients(dbx, 3)
    response = admin_client.get("/clientview/list/?_flt_0_responsible=99999999999999999999")
    assert response.status_code == 200
    response = api.get("/api/v1/client/", query_string={
        "q": "(filters:!((col:responsible,opr:rel_o_m,value:99999999999999999999)))"})
    assert response.status_code == 200, response.get_json()
    response = api.get("/api/v1/client/", query_string={
        "q": "(filters:!((col:name,opr:sw,value:5)))"})
    assert response.status_code == 200 and response.get_json()["count"] == 0
    response = api.get("/api/v1/client/", query_string={"q": "(page:99999999999999999999,page_size:10)"})
    assert response.status_code == 200 and response.get_json()["result"] == []


def test_api_page_size_is_capped(app, api, dbx):
    bulk_clients(dbx, 130)
    response = api.get("/api/v1/client/", query_string={"q": "(page_size:100000)"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert len(body["result"]) == app.config["FAB_API_MAX_PAGE_SIZE"] == 100
    assert body["count"] == 130
    response = api.get("/api/v1/client/", query_string={"q": "(page:1,page_size:100)"})
    assert len(response.get_json()["result"]) == 30


@pytest.mark.parametrize("resource", [p for p in API_CASES
                                      if p.values[0].datamodel.obj.__name__ != "ChangeLog"])
@pytest.mark.parametrize("body,content_type", [
    ("not json", "application/json"), ("[1, 2]", "application/json"), ("null",
                                                                       "application/json"),
    ("name=x", "application/x-www-form-urlencoded"), ("", "application/json"),
    ('{"name": ', "application/json"), ('"a string"', "application/json"),
])
def test_api_write_with_a_broken_body_is_400(api, dbx, resource, body, content_type):
    from tests.test_crud_generic import make_record

    model = resource.datamodel.obj
    pk = make_record(dbx, model)
    before = dbx.count(model)
    base = api_base(resource)
    headers = {"Content-Type": content_type}
    response = api.client.put(f"{base}/{pk}", data=body,
                              headers={**api._headers(), **headers})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.is_json
    response = api.client.post(f"{base}/", data=body, headers={**api._headers(), **headers})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert dbx.count(model) == before


@pytest.mark.parametrize("value", [[1], "abc", 1.5, True, 987654, {"id": 987654}, {}])
def test_api_bad_relation_values_are_422(api, dbx, value):
    """An unknown or malformed id is the field's error; no related record is made."""
    from app.models import CrmUser, DictionaryItem

    deps = CLIENT.deps(dbx)
    users, items = dbx.count(CrmUser), dbx.count(DictionaryItem)
    response = api.post("/api/v1/client/", json={**CLIENT.json(deps, 1), "responsible": value})
    assert response.status_code == 422, response.get_json()
    assert "responsible" in response.get_json()["message"]
    response = api.post("/api/v1/client/", json={**CLIENT.json(deps, 1), "tags": [value]})
    assert response.status_code == 422, response.get_json()
    assert "tags" in response.get_json()["message"]
    pk = CLIENT.create(dbx, deps, n=2)
    response = api.put(f"/api/v1/client/{pk}", json={"industry": value})
    assert response.status_code == 422, response.get_json()
    assert dbx.count(Client) == 1
    assert dbx.get(Client, pk).industry_id == deps["industry"]
    assert (dbx.count(CrmUser), dbx.count(DictionaryItem)) == (users, items)


@pytest.mark.parametrize("field,value", [
    ("name", None), ("name", 123), ("name", "x" * 300), ("kind", "alien"), ("kind", None),
    ("inn", 7707083893), ("comment", {"a": 1}),
])
def test_api_bad_scalar_values_are_422(api, dbx, field, value):
    deps = CLIENT.deps(dbx)
    response = api.post("/api/v1/client/", json={**CLIENT.json(deps, 1), field: value})
    assert_no_server_error(response)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["message"]


@pytest.mark.parametrize("field,value", [
    ("amount", "lots"), ("amount", "1e400"), ("amount", "NaN"), ("amount", "12345678901234567"),
    ("currency", "XXX"), ("stage", 987654), ("pipeline", None),
])
def test_api_bad_interest_values_are_422(api, dbx, field, value):
    deps = INTEREST.deps(dbx)
    response = api.post("/api/v1/interest/", json={**INTEREST.json(deps, 1), field: value})
    assert_no_server_error(response)
    assert response.status_code == 422, response.get_json()


@pytest.mark.parametrize("field,value", [
    ("received_at", "yesterday"), ("received_at", "2026-13-45 25:61:00"),
    ("manager", "abc"), ("status", "zzz"),
])
def test_form_bad_values_are_shown_not_500(app, admin_client, dbx, field, value):
    from tests.factories import INQUIRY

    deps = INQUIRY.deps(dbx)
    response = admin_client.post("/inquiryview/add", data={**INQUIRY.form(deps, 1),
                                                           field: value})
    assert_no_server_error(response)
    assert response.status_code == 200


def test_form_too_long_and_out_of_range_values(app, admin_client, dbx):
    deps = INTEREST.deps(dbx)
    for field, value in (("title", "x" * 300), ("amount", "1" * 20), ("amount", "abc")):
        response = admin_client.post("/interestview/add",
                                     data={**INTEREST.form(deps, 1), field: value})
        assert_no_server_error(response)
        assert response.status_code == 200, field


# --- deleting what others refer to -------------------------------------------------------------


def test_deleting_a_client_with_contacts_says_what_refers_to_it(app, admin_client, dbx):
    deps = CONTACT.deps(dbx)
    CONTACT.create(dbx, deps, n=1)
    CONTACT.create(dbx, deps, n=2)
    client_id = deps["client"]
    response = admin_client.post(f"/clientview/delete/{client_id}", follow_redirects=True)
    assert response.status_code == 200
    message = flashed(text_of(response))
    assert tr(app, _TABLE_LABELS["Contact"]) in message
    assert "2" in message
    assert "sql" not in message.lower() and "constraint" not in message.lower()
    assert dbx.get(Client, client_id) is not None
    assert dbx.count(Contact) == 2


def test_api_deleting_a_referred_record_is_409(app, api, dbx):
    deps = CONTACT.deps(dbx)
    CONTACT.create(dbx, deps, n=1)
    response = api.delete(f"/api/v1/client/{deps['client']}")
    assert response.status_code == 409, response.get_json()
    message = response.get_json()["message"]
    assert tr(app, _TABLE_LABELS["Contact"]) in message
    assert dbx.get(Client, deps["client"]) is not None


def test_deleting_a_stage_with_interests_is_refused(app, api, admin_client, dbx):
    deps = INTEREST.deps(dbx)
    INTEREST.create(dbx, deps, n=1)
    stage = deps["stage"]
    response = api.delete(f"/api/v1/stage/{stage}")
    assert response.status_code == 409
    response = admin_client.post(f"/stageview/delete/{stage}", follow_redirects=True)
    assert tr(app, _TABLE_LABELS["Interest"]) in flashed(text_of(response))
    assert dbx.get(Stage, stage) is not None


def test_default_pipeline_and_system_stages_stay(app, api, dbx):
    pipeline = default_pipeline(dbx)
    response = api.delete(f"/api/v1/pipeline/{pipeline}")
    assert response.status_code == 409
    assert response.get_json()["message"] == tr(app, "The default pipeline cannot be deleted.")
    assert dbx.get(Pipeline, pipeline) is not None
    from sqlalchemy import select

    system_stage = dbx.scalar(select(Stage.id).where(Stage.is_system.is_(True)).limit(1))
    assert api.delete(f"/api/v1/stage/{system_stage}").status_code == 409
    assert dbx.get(Stage, system_stage) is not None


def test_no_raw_database_error_reaches_the_user(app, admin_client, api, dbx):
    """A unique column clash is a readable message, not SQL."""
    from tests.factories import PRODUCT

    deps = PRODUCT.deps(dbx)
    PRODUCT.create(dbx, deps, n=1)
    data = PRODUCT.form(deps, 2)
    data["sku"] = "SKU-1"
    response = admin_client.post("/productview/add", data=data)
    assert response.status_code == 200
    page = page_text(response)
    assert "INSERT" not in page and "UNIQUE" not in page and "IntegrityError" not in page
    assert "sku" in form_errors(text_of(response))
    body = {**PRODUCT.json(deps, 3), "sku": "SKU-1"}
    response = api.post("/api/v1/product/", json=body)
    assert response.status_code in (400, 409, 422)
    assert "INSERT" not in str(response.get_json())
    assert response.get_json()["message"] in (
        tr(app, "A record with the same unique value already exists."),
        {"sku": [tr(app, "Already exists.")]})
    assert dbx.count(Product) == 1


def test_api_query_schema_errors_say_what_is_wrong(api):
    """FAB's schema check of `q` (validators prepared once) answers as jsonschema does."""
    for q, message in [("(page:abc)", "'abc' is not of type 'integer'"),
                       ("(page_size:25,columns:oops)", "'oops' is not of type 'array'")]:
        response = api.get("/api/v1/client/", query_string={"q": q})
        assert response.status_code == 400
        assert response.get_json()["message"] == f"Not a valid rison schema {message}"
