"""Optimistic locking: a save based on an older version is refused, never silently applied."""

from __future__ import annotations

import re

import pytest

from app.models import Client, Interest
from app.services.records import CONFLICT_MESSAGE
from tests.factories import CLIENT, INTEREST
from tests.helpers import form_errors, page_text, text_of, tr


def edit_form_version(response) -> str:
    match = re.search(r'<input[^>]*name="version"[^>]*>', text_of(response))
    assert match, "the edit form must carry the record's version"
    return re.search(r'value="(\d+)"', match.group(0)).group(1)


def test_second_edit_of_the_same_version_is_refused(app, client_as, dbx):
    deps = CLIENT.deps(dbx)
    pk = CLIENT.create(dbx, deps, n=1)
    first, second = client_as("manager"), client_as("supervisor")
    # Both open the form of version 1.
    version = edit_form_version(first.get(f"/clientview/edit/{pk}"))
    assert version == edit_form_version(second.get(f"/clientview/edit/{pk}")) == "1"

    data = CLIENT.form(deps, 1)
    response = first.post(f"/clientview/edit/{pk}",
                          data={**data, "version": version, "name": "First editor's name"})
    assert response.status_code == 302, form_errors(text_of(response))
    assert dbx.get(Client, pk).version == 2

    response = second.post(f"/clientview/edit/{pk}",
                           data={**data, "version": version, "name": "Second editor's name",
                                 "comment": "Second editor's comment"})
    # The form comes back with a clear message and the second editor's input kept.
    assert response.status_code == 200
    page = page_text(response)
    assert tr(app, CONFLICT_MESSAGE) in page
    assert 'value="Second editor\'s name"' in page
    assert "Second editor's comment" in page
    saved = dbx.get(Client, pk)
    assert saved.name == "First editor's name"
    assert saved.comment == "A test client"
    assert saved.version == 2
    # Reloading shows the new version; saving from it works.
    assert edit_form_version(second.get(f"/clientview/edit/{pk}")) == "2"
    response = second.post(f"/clientview/edit/{pk}",
                           data={**data, "version": "2", "name": "Second editor's name"})
    assert response.status_code == 302
    assert dbx.get(Client, pk).name == "Second editor's name"


def test_form_version_cannot_be_forged_upwards(app, admin_client, dbx):
    deps = CLIENT.deps(dbx)
    pk = CLIENT.create(dbx, deps, n=1)
    response = admin_client.post(f"/clientview/edit/{pk}",
                                 data={**CLIENT.form(deps, 1), "version": "7", "name": "Forged"})
    assert response.status_code == 200
    assert tr(app, CONFLICT_MESSAGE) in page_text(response)
    assert dbx.get(Client, pk).name == "ООО Ромашка 1"
    assert dbx.get(Client, pk).version == 1


@pytest.mark.parametrize("how", ["if_match", "if_match_quoted", "field"])
def test_api_refuses_a_stale_version(app, api, dbx, how):
    pk = INTEREST.create(dbx, n=1)
    url = f"/api/v1/interest/{pk}"
    response = api.put(url, json={"title": "First"}, headers={"If-Match": "1"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 2

    stale = {"title": "Second"}
    headers = {}
    if how == "if_match":
        headers["If-Match"] = "1"
    elif how == "if_match_quoted":
        headers["If-Match"] = 'W/"1"'
    else:
        stale["version"] = 1
    response = api.put(url, json=stale, headers=headers)
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["message"] == tr(app, CONFLICT_MESSAGE)
    saved = dbx.get(Interest, pk)
    assert (saved.title, saved.version) == ("First", 2)

    # With the right version the change goes through.
    if how == "field":
        response = api.put(url, json={"title": "Second", "version": 2})
    else:
        response = api.put(url, json={"title": "Second"}, headers={"If-Match": '"2"'})
    assert response.status_code == 200, response.get_json()
    saved = dbx.get(Interest, pk)
    assert (saved.title, saved.version) == ("Second", 3)


def test_api_version_must_be_a_number(api, dbx):
    pk = CLIENT.create(dbx, n=1)
    response = api.put(f"/api/v1/client/{pk}", json={"name": "X", "version": "abc"})
    assert response.status_code == 422
    assert "version" in response.get_json()["message"]
    response = api.put(f"/api/v1/client/{pk}", json={"name": "X"}, headers={"If-Match": "zz"})
    assert response.status_code == 422
    assert dbx.get(Client, pk).name == "ООО Ромашка 1"


def test_api_reports_the_version_it_read(api, dbx):
    pk = CLIENT.create(dbx, n=1)
    body = api.get(f"/api/v1/client/{pk}").get_json()
    assert body["result"]["version"] == 1
