"""Input no field can take answers a 4xx that says why, never a 500, on SQLite and
PostgreSQL alike: numbers beyond their column, ids beyond every table, quotes typed into a
select box, NUL characters, lone surrogates, JSON nested without end, oversized bodies.
Times in API answers carry their offset, and times are accepted with or without one."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import BigInteger, Integer, SmallInteger

from app.api import RESOURCES
from app.models import Client, DictionaryItem, Inquiry, Pipeline
from app.services import bounds
from app.views import CRUD_SCREENS
from tests.conftest import ROOT, another_app
from tests.factories import CLIENT, DICTIONARY_ITEM, INQUIRY, PIPELINE
from tests.helpers import api_base, assert_no_server_error, page_text, route_of, text_of, tr

API_CASES = [pytest.param(resource, id=resource.resource_name) for resource in RESOURCES]
SCREEN_CASES = [pytest.param(view, id=view.__name__) for view in CRUD_SCREENS]

BEYOND_64_BITS = [95772672870243354279936, 14773576863715719168, 99999999999999999999]
BEYOND_32_BITS = [2**31, 1099511627776, 2**63 - 1, -(2**31) - 1]
URL_IDS = ["2147483648", "3000000000", "1099511627776", "9223372036854775807",
           "-2147483649", "99999999999999999999", "9" * 5000]

NUL_MESSAGE = "The request contains a NUL character (\\0), which no field accepts."


def message_of(response):
    assert response.is_json, text_of(response)[:500]
    return response.get_json()["message"]


# --- integers beyond their column -----------------------------------------------------------


def test_integer_ranges_follow_the_column_types():
    assert bounds.integer_range(Integer()) == (-(2**31), 2**31 - 1)
    assert bounds.integer_range(BigInteger()) == (-(2**63), 2**63 - 1)
    assert bounds.integer_range(SmallInteger()) == (-(2**15), 2**15 - 1)
    assert bounds.integer_range(DictionaryItem.__table__.c.points) == bounds.INT32
    assert bounds.as_key(Integer(), "2147483647") == 2**31 - 1
    assert bounds.as_key(BigInteger(), " -9223372036854775808 ") == -(2**63)
    assert bounds.as_key(BigInteger(), "9" * 5000) is None
    for value in ("2147483648", 2**40, True, "1.5", "abc", 1.0, "+-1", "١٢"):
        assert bounds.as_key(Integer(), value) is None, value


def beyond_64_bits_message(app):
    return tr(app, "The request contains a number beyond %(max)d, which no field holds.",
              max=2**63 - 1)


@pytest.mark.parametrize("value", BEYOND_64_BITS)
def test_api_number_beyond_64_bits_is_400_wherever_it_is(app, api, dbx, value):
    pk = DICTIONARY_ITEM.create(dbx)
    deps = CLIENT.deps(dbx)
    client = CLIENT.create(dbx, deps, n=2)
    for method, url, body in (
            ("PUT", f"/api/v1/dictionary/{pk}", {"points": value}),
            ("POST", "/api/v1/pipeline/", {**PIPELINE.json({}, 1), "sort": value}),
            ("POST", "/api/v1/client/", {**CLIENT.json(deps, 1), "tags": [value]}),
            ("PUT", f"/api/v1/client/{client}", {"industry": value}),
            ("PUT", f"/api/v1/client/{client}", {"industry": {"id": -value}}),
            ("POST", "/api/v1/security/users/", {"username": "x", "roles": [value]})):
        response = api.client.open(url, method=method, json=body, headers=api._headers())
        assert response.status_code == 400, (url, body, response.get_data(as_text=True))
        assert message_of(response) == beyond_64_bits_message(app)
    assert dbx.get(DictionaryItem, pk).points == 0
    assert dbx.count(Client) == 1
    assert dbx.count(Pipeline, Pipeline.name == "Support 1") == 0


@pytest.mark.parametrize("value", BEYOND_32_BITS)
def test_api_integer_field_beyond_its_column_is_422(app, api, dbx, value):
    pk = DICTIONARY_ITEM.create(dbx)
    response = api.put(f"/api/v1/dictionary/{pk}", json={"points": value})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert message_of(response) == {"points": [tr(
        app, "The number must be from %(min)d to %(max)d.", min=-(2**31), max=2**31 - 1)]}
    assert dbx.get(DictionaryItem, pk).points == 0
    response = api.post("/api/v1/pipeline/", json={**PIPELINE.json({}, 1), "sort": value})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "sort" in message_of(response)
    assert dbx.count(Pipeline, Pipeline.name == "Support 1") == 0


def test_api_integer_field_at_its_column_limits_is_saved(api, dbx):
    pk = DICTIONARY_ITEM.create(dbx)
    for value in (2**31 - 1, -(2**31)):
        response = api.put(f"/api/v1/dictionary/{pk}", json={"points": value})
        assert response.status_code == 200, response.get_json()
        assert dbx.get(DictionaryItem, pk).points == value


@pytest.mark.parametrize("value", BEYOND_32_BITS)
def test_api_relation_ids_beyond_the_key_column_name_no_record(app, api, dbx, value):
    deps = CLIENT.deps(dbx)
    missing = tr(app, "The chosen record does not exist.")
    response = api.post("/api/v1/client/", json={**CLIENT.json(deps, 1), "tags": [value]})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert message_of(response) == {"tags": {"0": [missing]}}
    pk = CLIENT.create(dbx, deps, n=2)
    response = api.put(f"/api/v1/client/{pk}", json={"industry": value})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert message_of(response) == {"industry": [missing]}
    assert dbx.get(Client, pk).industry_id == deps["industry"]
    assert dbx.count(Client) == 1


@pytest.mark.parametrize("value", BEYOND_64_BITS + BEYOND_32_BITS)
def test_form_integer_field_beyond_its_column_is_the_fields_error(app, admin_client, dbx,
                                                                  value):
    response = admin_client.post("/pipelineview/add",
                                 data={"name": "Huge", "sort": str(value)})
    assert_no_server_error(response)
    assert response.status_code == 200
    assert dbx.count(Pipeline, Pipeline.name == "Huge") == 0


# --- ids in URLs beyond every table -------------------------------------------------------------


def _id_routes(app):
    """(method, URL template with {id}) of every route that takes a record's id."""
    routes = []
    for rule in app.url_map.iter_rules():
        names = [name for name in rule.arguments if name == "pk" or name.endswith("_id")]
        if not names:
            continue
        url = rule.rule
        for name in rule.arguments:
            value = "{id}" if name in names else "x"
            url = url.replace(f"<int:{name}>", value).replace(f"<string:{name}>", value) \
                .replace(f"<{name}>", value)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


def test_every_id_route_is_covered(app):
    routes = _id_routes(app)
    for resource in RESOURCES:
        for method in ("GET",) + (() if resource.resource_name == "changelog"
                                  else ("PUT", "DELETE")):
            assert (method, f"{api_base(resource)}/{{id}}") in routes
    for view in CRUD_SCREENS:
        assert ("GET", f"{route_of(app, view)}/show/{{id}}") in routes
    assert ("GET", "/rights/{id}") in routes
    assert len(routes) >= 26


@pytest.mark.parametrize("pk", URL_IDS)
def test_ids_beyond_every_table_answer_404_on_every_route(app, admin_client, api, pk):
    # `<int:pk>` takes no minus sign, nor more digits than Python reads (4,300): such an id
    # may match no route of that method (405).
    expected = (404,) if not pk.startswith("-") and len(pk) < 30 else (404, 405)
    for method, template in _id_routes(app):
        url = template.format(id=pk)
        if url.startswith("/api/"):
            response = api.client.open(url, method=method, json={},
                                       headers=api._headers())
            assert response.status_code in expected, (method, url, response.status_code)
            assert message_of(response)
        else:
            response = admin_client.open(url, method=method, data={})
            assert response.status_code in expected, (method, url, response.status_code)
            assert "<html" in text_of(response).lower()


@pytest.mark.parametrize("view", SCREEN_CASES)
def test_screen_ids_beyond_32_bits_answer_404(app, admin_client, view):
    base = route_of(app, view)
    for pk in URL_IDS:
        assert admin_client.get(f"{base}/show/{pk}").status_code == 404


# --- filters comparing with what a column cannot hold ----------------------------------------


@pytest.mark.parametrize("q", [
    "(filters:!((col:name,opr:eq,value:99999999999999999999)))",
    "(filters:!((col:name,opr:neq,value:99999999999999999999)))",
    "(filters:!((col:name,opr:eq,value:3000000000)))",
    "(filters:!((col:name,opr:sw,value:99999999999999999999)))",
    "(filters:!((col:responsible,opr:rel_o_m,value:3000000000)))",
    "(filters:!((col:responsible,opr:nrel_o_m,value:3000000000)))",
    "(filters:!((col:kind,opr:eq,value:!t)))",
])
def test_api_client_filters_with_values_no_column_holds(api, dbx, q):
    CLIENT.create(dbx)
    response = api.get("/api/v1/client/", query_string={"q": q})
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("resource,column,operation,value,found", [
    ("changelog", "record_id", "eq", "3000000000", "none"),
    ("changelog", "record_id", "gt", "3000000000", "none"),
    ("changelog", "record_id", "lt", "3000000000", "all"),
    ("changelog", "record_id", "gt", "-99999999999999999999", "all"),
    ("changelog", "record_id", "lt", "-99999999999999999999", "none"),
    ("changelog", "record_id", "neq", "99999999999999999999", "all"),
    ("changelog", "record_id", "eq", "abc", "none"),
    ("changelog", "user_id", "eq", "99999999999999999999", "none"),
    ("interest", "flagged", "eq", "abc", "none"),
    ("interest", "flagged", "eq", "!t", "all"),
    ("interest", "flagged", "eq", "!f", "none"),
    ("product", "is_active", "eq", "''", "none"),
    ("interaction", "planned_at", "gt", "'not a date'", "all"),
    ("interaction", "planned_at", "eq", "'not a date'", "none"),
    ("interaction", "planned_at", "lt", "'2000-01-01T00:00:00+03:00'", "none"),
    ("dictionary", "kind", "eq", "99999999999999999999", "none"),
])
def test_api_typed_filters_find_what_the_column_can_hold(api, dbx, resource, column,
                                                         operation, value, found):
    from tests.factories import INTERACTION, INTEREST, PRODUCT

    INTEREST.create(dbx)
    INTERACTION.create(dbx)
    PRODUCT.create(dbx)
    everything = api.get(f"/api/v1/{resource}/").get_json()["count"]
    assert everything > 0
    q = f"(filters:!((col:{column},opr:{operation},value:{value})))"
    response = api.get(f"/api/v1/{resource}/", query_string={"q": q})
    assert response.status_code == 200, response.get_data(as_text=True)
    expected = {"all": everything, "none": 0}[found]
    assert response.get_json()["count"] == expected, response.get_json()


@pytest.mark.parametrize("query", [
    "_flt_0_responsible=3000000000", "_flt_1_responsible=99999999999999999999",
    "_flt_0_tags=3000000000", "_flt_2_name=99999999999999999999",
])
def test_screen_filters_with_values_no_column_holds(admin_client, dbx, query):
    CLIENT.create(dbx)
    response = admin_client.get(f"/clientview/list/?{query}")
    assert response.status_code == 200


# --- the client select box --------------------------------------------------------------------


@pytest.mark.parametrize("typed,found", [
    ('"', True), ("'", True), ("«", True), ("»", True), ("«»", True), ("“", True),
    ("«Ромашка", True), ("ООО «Ромашка 1»", True), ("'Ромашка'", True),
    ("\U0010ffff", False), ("Ромашка\U0010ffff", False), ("\ud7ff", False), ("%", False),
    ("_", False), ("\\", False),
])
def test_lookup_takes_any_typed_text(admin_client, dbx, typed, found):
    CLIENT.create(dbx, n=1)
    for entity in ("client", "contact", "interest"):
        response = admin_client.get(f"/lookup/{entity}", query_string={"q": typed})
        assert response.status_code == 200, (entity, response.status_code)
    response = admin_client.get("/lookup/client", query_string={"q": typed})
    names = [row["text"] for row in response.get_json()["results"]]
    assert bool(names) == found, names


# --- NUL characters ------------------------------------------------------------------------


def _text_filters(view):
    """(column, filter index) of every text filter a screen offers."""
    from flask_appbuilder.models.sqla.filters import FilterRelation

    found = []
    for column, filters in view._filters.get_search_filters().items():
        for index, flt in enumerate(filters):
            if not isinstance(flt, FilterRelation):
                found.append((column, index))
    return found


@pytest.mark.parametrize("view", SCREEN_CASES)
def test_nul_in_every_screen_filter_is_400(app, admin_client, view):
    instance = next(v for v in app.appbuilder.baseviews if type(v) is view)
    filters = _text_filters(instance)
    for column, index in filters:
        response = admin_client.get(f"{route_of(app, view)}/list/?_flt_{index}_{column}=a%00b")
        assert response.status_code == 400, (column, index, response.status_code)
        assert tr(app, NUL_MESSAGE) in page_text(response)


@pytest.mark.parametrize("resource", API_CASES)
def test_nul_in_every_api_filter_is_400(app, api, resource):
    instance = next(v for v in app.appbuilder.baseviews if type(v) is resource)
    for column, filters in instance._filters.get_search_filters().items():
        for flt in filters:
            q = f"(filters:!((col:{column},opr:{flt.arg_name},value:'a\x00b')))"
            response = api.get(f"{api_base(resource)}/", query_string={"q": q})
            assert response.status_code == 400, (column, flt.arg_name)
            assert message_of(response) == tr(app, NUL_MESSAGE)


def test_nul_in_the_issue_s_examples_is_400(app, admin_client, api, dbx):
    response = admin_client.get("/clientview/list/?_flt_0_name=%00")
    assert response.status_code == 400
    assert tr(app, NUL_MESSAGE) in page_text(response)
    response = admin_client.get("/lookup/client?q=%00",
                                headers={"Accept": "application/json, text/javascript, */*"})
    assert response.status_code == 400
    assert message_of(response) == tr(app, NUL_MESSAGE)
    response = api.get("/api/v1/client/", query_string={
        "q": "(filters:!((col:name,opr:sw,value:'%00')))".replace("%00", "\x00")})
    assert response.status_code == 400
    assert message_of(response) == tr(app, NUL_MESSAGE)


def test_nul_in_a_json_body_or_a_form_is_400_and_nothing_is_saved(app, admin_client, api,
                                                                   dbx):
    deps = CLIENT.deps(dbx)
    for body in ({**CLIENT.json(deps, 1), "comment": "a\x00b"},
                 {**CLIENT.json(deps, 1), "na\x00me": "x"}):
        response = api.post("/api/v1/client/", json=body)
        assert response.status_code == 400
        assert message_of(response) == tr(app, NUL_MESSAGE)
    response = admin_client.post("/clientview/add", data={**CLIENT.form(deps, 2),
                                                          "comment": "a\x00b"})
    assert response.status_code == 400
    assert tr(app, NUL_MESSAGE) in page_text(response)
    assert dbx.count(Client) == 0


def test_nul_in_a_url_is_404_or_400(admin_client, api):
    assert admin_client.get("/clientview/show/1%00").status_code in (400, 404)
    assert api.get("/api/v1/client/1%00").status_code in (400, 404)


# --- broken JSON -------------------------------------------------------------------------


def test_a_lone_surrogate_in_json_is_400(app, api, dbx):
    deps = CLIENT.deps(dbx)
    body = json.dumps({**CLIENT.json(deps, 1), "name": "sur\ud800rogate"})
    assert "\\ud800" in body
    response = api.client.post("/api/v1/client/", data=body,
                               headers={**api._headers(), "Content-Type": "application/json"})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert message_of(response) == tr(
        app, "The request contains an invalid character (a lone UTF-16 surrogate such as "
             "\\ud800), which no field accepts.")
    pk = CLIENT.create(dbx, deps, n=2)
    response = api.client.put(f"/api/v1/client/{pk}", data='{"comment": "\\udfff"}',
                              headers={**api._headers(), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert dbx.count(Client) == 1


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_json_nested_too_deep_is_400(app, api, dbx, depth):
    body = "[" * depth + "]" * depth
    for method, url in (("POST", "/api/v1/client/"), ("PUT", "/api/v1/client/1")):
        response = api.client.open(url, method=method, data=body,
                                   headers={**api._headers(),
                                            "Content-Type": "application/json"})
        assert response.status_code == 400, (method, response.status_code)
        assert message_of(response) == tr(
            app, "The JSON is nested too deeply (more than %(depth)d levels).", depth=64)
    body = '{"comment": ' + "[" * depth + "]" * depth + "}"
    response = api.client.post("/api/v1/client/", data=body,
                               headers={**api._headers(), "Content-Type": "application/json"})
    assert response.status_code == 400


def test_json_nested_a_few_levels_is_read_as_usual(api, dbx):
    deps = CLIENT.deps(dbx)
    response = api.post("/api/v1/client/", json={**CLIENT.json(deps, 1),
                                                 "comment": [[[["deep"]]]]})
    assert response.status_code == 422
    assert "comment" in message_of(response)


# --- request size -------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_for_the_api_and_the_screens(app, admin_client, api,
                                                                  dbx):
    assert app.config["MAX_CONTENT_LENGTH"] == 10 * 2**20
    deps = CLIENT.deps(dbx)
    message = tr(app, "The request is too large: at most %(size)s MB can be sent at once.",
                 size="10")
    big = "x" * (20 * 2**20)
    response = api.post("/api/v1/client/", json={**CLIENT.json(deps, 1), "comment": big})
    assert response.status_code == 413
    assert message_of(response) == message
    pk = CLIENT.create(dbx, deps, n=2)
    response = api.put(f"/api/v1/client/{pk}", json={"comment": big})
    assert response.status_code == 413
    response = admin_client.post("/clientview/add", data={**CLIENT.form(deps, 3),
                                                          "comment": big})
    assert response.status_code == 413
    assert message in page_text(response)
    assert "<html" in text_of(response).lower()
    assert dbx.count(Client) == 1
    assert dbx.get(Client, pk).comment == "A test client"


def test_a_comment_under_the_limit_is_saved(api, dbx):
    deps = CLIENT.deps(dbx)
    comment = "x" * (2 * 2**20)
    response = api.post("/api/v1/client/", json={**CLIENT.json(deps, 1), "comment": comment})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert dbx.get(Client, response.get_json()["id"]).comment == comment


def test_the_limit_is_configurable(app, database_url, api_token_admin, dbx):
    environment = {**os.environ, "CRM_MAX_REQUEST_MB": "0.5"}
    output = subprocess.run(
        [sys.executable, "-c", "import config; print(config.Config.MAX_CONTENT_LENGTH, "
                               "config.Config.MAX_FORM_MEMORY_SIZE)"],
        cwd=ROOT, env=environment, capture_output=True, text=True, check=True).stdout
    assert output.split() == [str(2**19), str(2**19)]
    with another_app(app, database_url, MAX_CONTENT_LENGTH=2**19,
                     MAX_FORM_MEMORY_SIZE=2**19) as small:
        client = small.test_client()
        headers = {"Authorization": f"Bearer {api_token_admin}"}
        deps = CLIENT.deps(dbx)
        response = client.post("/api/v1/client/", headers=headers,
                               json={**CLIENT.json(deps, 1), "comment": "x" * 2**19})
        assert response.status_code == 413
        assert response.get_json()["message"] == tr(
            small, "The request is too large: at most %(size)s MB can be sent at once.",
            size="0.5")


# --- times with their offset ------------------------------------------------------------------


def test_api_answers_times_in_utc_with_the_offset(api, dbx):
    pk = INQUIRY.create(dbx)
    body = api.get(f"/api/v1/inquiry/{pk}").get_json()["result"]
    assert body["received_at"] == "2026-01-15T10:30:00+00:00"
    assert dt.datetime.fromisoformat(body["created_on"]).utcoffset() == dt.timedelta(0)
    listed = api.get("/api/v1/inquiry/").get_json()["result"][0]
    assert listed["received_at"] == "2026-01-15T10:30:00+00:00"
    users = api.get("/api/v1/security/users/").get_json()["result"]
    assert all(user["created_on"] is None or user["created_on"].endswith("+00:00")
               for user in users)


@pytest.mark.parametrize("sent,stored", [
    ("2026-03-01T12:30:00+03:00", dt.datetime(2026, 3, 1, 9, 30)),
    ("2026-03-01T09:30:00Z", dt.datetime(2026, 3, 1, 9, 30)),
    ("2026-03-01T09:30:00", dt.datetime(2026, 3, 1, 9, 30)),
    ("2026-03-01T02:30:00-07:00", dt.datetime(2026, 3, 1, 9, 30)),
])
def test_api_takes_times_with_or_without_an_offset(api, dbx, sent, stored):
    deps = INQUIRY.deps(dbx)
    response = api.post("/api/v1/inquiry/", json={**INQUIRY.json(deps, 1), "received_at": sent})
    assert response.status_code == 201, response.get_json()
    assert dbx.get(Inquiry, response.get_json()["id"]).received_at == stored
    assert response.get_json()["result"]["received_at"] == "2026-03-01T09:30:00+00:00"


@pytest.mark.parametrize("sent", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                  "yesterday", "2026-02-30T00:00:00+03:00"])
def test_api_refuses_times_that_are_no_times(api, dbx, sent):
    deps = INQUIRY.deps(dbx)
    response = api.post("/api/v1/inquiry/", json={**INQUIRY.json(deps, 1), "received_at": sent})
    assert response.status_code == 422, response.get_json()
    assert "received_at" in message_of(response)
    assert dbx.count(Inquiry) == 0


# --- the spec says what the API answers ------------------------------------------------------


def test_the_spec_describes_error_bodies_and_times(api):
    spec = api.get("/api/v1/_openapi").get_json()
    for code in ("400", "422"):
        message = spec["components"]["responses"][code]["content"]["application/json"][
            "schema"]["properties"]["message"]
        kinds = {option.get("type") for option in message["oneOf"]}
        assert kinds == {"string", "object"}
    inquiry = spec["components"]["schemas"]["InquiryApi.get"]["properties"]
    assert inquiry["received_at"]["format"] == "date-time"
    interest = spec["components"]["schemas"]["InterestApi.get"]["properties"]
    assert interest["amount"]["type"] == "string"
    assert interest["tags"]["type"] == "array"
    assert {"type": "object", "nullable": True} in interest["client"]["anyOf"]
    points = spec["components"]["schemas"]["DictionaryItemApi.put"]["properties"]["points"]
    assert (points["minimum"], points["maximum"]) == (-(2**31), 2**31 - 1)
    listed = spec["paths"]["/api/v1/client/"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["properties"]
    assert listed["ids"]["items"]["type"] == "integer"


def test_the_prefix_range_never_ends_on_a_character_no_database_stores():
    from app.services.prefixes import next_prefix

    assert next_prefix("ab") == "ac"
    assert next_prefix("\ud7ff") == "\ue000"
    assert next_prefix("a\U0010ffff") == "b"
    assert next_prefix("\U0010ffff\U0010ffff") is None


def test_a_select_box_lookup_of_a_quote_finds_the_first_clients(admin_client, dbx):
    for n in (1, 2, 3):
        CLIENT.create(dbx, n=n)
    response = admin_client.get("/lookup/client", query_string={"q": "«"})
    assert [row["text"].split(" (")[0] for row in response.get_json()["results"]] == \
        ["ООО Ромашка 1", "ООО Ромашка 2", "ООО Ромашка 3"]


@pytest.mark.parametrize("url,method", [
    ("/api/v1/security/users/", "POST"), ("/api/v1/security/roles/", "POST"),
    ("/api/v1/client/", "POST"),
])
def test_a_write_without_a_json_body_is_400_on_every_api(app, api, url, method):
    for headers, data in (({}, None), ({"Content-Type": "text/plain"}, "name=x"),
                          ({"Content-Type": "application/json"}, "{oops")):
        response = api.client.open(url, method=method, data=data,
                                   headers={**api._headers(), **headers})
        assert response.status_code == 400, (url, headers, response.get_data(as_text=True))
        if url.startswith("/api/v1/security/roles/"):
            # The roles API checks the content type itself, with its own words.
            assert message_of(response)
        else:
            assert message_of(response) == tr(app, "The request body must be a JSON object.")


@pytest.mark.parametrize("q", ["3.8693424260601624e+16", "-2.8e+40", "1e+5", "(" * 5000,
                               "!(" * 3000])
def test_a_q_argument_fabs_parser_chokes_on_is_400(api, q):
    for url in ("/api/v1/client/", "/api/v1/client/_info", "/api/v1/product_group/1"):
        response = api.get(url, query_string={"q": q})
        assert response.status_code == 400, (url, response.get_data(as_text=True))


@pytest.mark.parametrize("q", ['{"page": 0, "page_size": 5}', '{"columns": ["name"]}'])
def test_the_q_argument_may_be_json_as_the_spec_says(api, dbx, q):
    CLIENT.create(dbx)
    response = api.get("/api/v1/client/", query_string={"q": q})
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("value", URL_IDS + ["abc", "1.5"])
def test_a_select_box_id_no_record_can_have_is_the_fields_error(app, admin_client, dbx,
                                                                 value):
    from tests.factories import CONTACT
    from tests.helpers import form_errors

    deps = CONTACT.deps(dbx)
    response = admin_client.post("/contactview/add",
                                 data={**CONTACT.form(deps, 1), "client": value})
    assert response.status_code == 200
    assert form_errors(text_of(response))["client"] in (
        tr(app, "The chosen record does not exist."), tr(app, "This field is required."))


def test_numbers_longer_than_python_reads_are_refused_or_find_nothing(admin_client, api,
                                                                       dbx):
    digits = "9" * 5000
    CLIENT.create(dbx)
    for url in (f"/clientview/list/?page_ClientView={digits}",
                f"/clientview/list/?psize_ClientView={digits}",
                f"/clientview/list/?_flt_0_responsible={digits}",
                f"/lookup/client?q={digits}"):
        response = admin_client.get(url)
        assert response.status_code == 200, (url[:60], response.status_code)
    for q in (f"(page:{digits})", f'{{"page": {digits}}}',
              f"(filters:!((col:responsible,opr:rel_o_m,value:{digits})))",
              f"(filters:!((col:name,opr:eq,value:{digits})))"):
        response = api.get("/api/v1/client/", query_string={"q": q})
        assert response.status_code in (200, 400), (q[:60], response.status_code)
    deps = CLIENT.deps(dbx)
    response = api.client.post("/api/v1/client/", headers={
        **api._headers(), "Content-Type": "application/json"},
        data=json.dumps({**CLIENT.json(deps, 2), "kind": "x"}).replace('"x"', digits))
    assert response.status_code == 400
