"""Custom fields: definitions through their API and screen, every type through a record's
form and the API (valid and invalid values, filter, sort, read back), the rules of R10,
required fields, options, deletion, pipelines and stages, and who sees what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import ChangeLog, Client, CustomField
from app.views import screen_of
from tests.factories import CLIENT, INTEREST, default_pipeline, first_stage
from tests.helpers import form_errors, route_of, text_of, tr

FIELDS = "/api/v1/custom_field/"
CLIENTS = "/api/v1/client/"


def add_field(api, **definition) -> dict:
    body = {"entity": "client", "label": {"ru": "Поле", "en": "Field"}, "type": "string",
            **definition}
    response = api.post(FIELDS, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["result"]


def client_body(n: int, **more) -> dict:
    values = {key: value for key, value in CLIENT.json({"user": None, "tag": None,
                                                        "industry": None}, n).items()
              if key not in ("tags", "industry", "responsible")}
    return {**values, **more}


def new_client(api, n: int = 1, **more):
    return api.post(CLIENTS, json=client_body(n, **more))


# --- one case per type ------------------------------------------------------------------------
# type, definition extras, (valid JSON, as stored), invalid JSON, (form text, as stored),
# invalid text, (filter operation, filter text), a value that sorts before the valid one.

TYPE_CASES = [
    ("string", {}, ("Договор 42", "Договор 42"), 42, ("Д-7", "Д-7"), "x" * 300,
     ("eq", "Договор 42"), "Акт 1"),
    ("text", {}, ("Строка 1\nСтрока 2", "Строка 1\nСтрока 2"), ["a"], ("Текст", "Текст"),
     "x" * 10001, ("ct", "строка 2"), None),
    ("integer", {}, (42, 42), "сорок", ("1 200", 1200), "1.5", ("gt", "41"), 7),
    ("decimal", {}, (12.5, 12.5), "abc", ("1 200,75", 1200.75), "1,2,3,4", ("lt", "13"),
     -3.25),
    ("boolean", {}, (True, True), "maybe", ("yes", True), "perhaps", ("eq", "yes"), False),
    ("date", {}, ("2026-12-03", "2026-12-03"), "03/13/2026", ("05.01.2027", "2027-01-05"),
     "31.02.2026", ("gt", "01.12.2026"), "2025-01-01"),
    ("datetime", {}, ("2026-12-03T08:30:00Z", "2026-12-03T08:30:00Z"), "tomorrow",
     ("05.01.2027 14:30", "2027-01-05T11:30:00Z"), "25:99", ("gt", "01.12.2026 00:00"),
     "2025-01-01T00:00:00Z"),
    ("money", {}, ({"amount": 1500.5, "currency": "USD"},
                   {"amount": 1500.5, "currency": "USD"}), {"amount": "x"},
     ("2 000,00 EUR", {"amount": 2000, "currency": "EUR"}), "100 XYZ", ("gt", "1000"),
     {"amount": 10, "currency": "RUB"}),
    ("url", {}, ("https://example.com/a", "https://example.com/a"), "javascript:alert(1)",
     ("http://example.org", "http://example.org"), "ftp://example.org", ("ct", "example.com"),
     "https://aaa.example"),
    ("email", {}, ("a@example.com", "a@example.com"), "not an e-mail",
     ("b@example.org", "b@example.org"), "b@", ("eq", "a@example.com"), "0@example.com"),
    ("phone", {}, ("8 (495) 660-18-12", "+74956601812"), "12",
     ("+7 916 123-45-67", "+79161234567"), "abc", ("eq", "84956601812"), "+74950000000"),
    ("address", {}, ("Москва, Тверская 1", "Москва, Тверская 1"), 5,
     ("Казань", "Казань"), "x" * 501, ("ct", "тверская"), None),
    ("list", {"options": [{"value": "gold", "label": "Золото", "color": "#ffb300"},
                          {"value": "silver", "label": "Серебро"}]},
     ("gold", "gold"), "platinum", ("silver", "silver"), "bronze", ("eq", "gold"), None),
]


@pytest.mark.parametrize(
    "kind, extra, valid, invalid, typed, typed_invalid, flt, before",
    [pytest.param(*case, id=case[0]) for case in TYPE_CASES])
def test_each_type_through_api_form_filter_and_sort(
        app, api, admin_client, dbx, kind, extra, valid, invalid, typed, typed_invalid, flt,
        before):
    field = add_field(api, code="cf", type=kind, filterable=True, show_in_list=True, **extra)
    code = field["code"]

    # The API: a valid value is stored as the type keeps it and read back.
    response = new_client(api, 1, custom={code: valid[0]})
    assert response.status_code == 201, response.get_json()
    pk = response.get_json()["id"]
    assert response.get_json()["result"]["custom"][code] == valid[1]
    assert api.get(f"{CLIENTS}{pk}").get_json()["result"]["custom"][code] == valid[1]

    # An invalid value: 422, with the message under custom.<code>.
    refused = new_client(api, 2, custom={code: invalid})
    assert refused.status_code == 422, refused.get_json()
    assert code in refused.get_json()["message"]["custom"]

    # The form: text as people type it.
    view = route_of(app, screen_of(Client))
    form = {**CLIENT.form(CLIENT.deps(dbx), 3), f"custom_{code}": typed[0]}
    if kind == "boolean":
        form[f"custom_{code}"] = "y"
    saved = admin_client.post(f"{view}/add", data=form)
    assert saved.status_code == 302, form_errors(text_of(saved))
    stored = dbx.scalar(select(Client.custom).where(Client.name == form["name"]))
    assert stored[code] == typed[1]
    if kind != "boolean":  # a box is ticked or not: nothing to mistype
        form = {**CLIENT.form(CLIENT.deps(dbx), 4), f"custom_{code}": typed_invalid}
        shown = admin_client.post(f"{view}/add", data=form)
        assert shown.status_code == 200
        assert f"custom_{code}" in form_errors(text_of(shown))

    # The filter finds the API's record; the list shows the column.
    index = _operators(kind).index(flt[0])
    listed = admin_client.get(f"{view}/list/", query_string={
        f"_flt_{index}_custom.{code}": flt[1]})
    assert listed.status_code == 200
    assert f"/show/{pk}" in text_of(listed)

    # Sorting by the field puts a smaller value first.
    if before is not None:
        first = new_client(api, 5, custom={code: before}).get_json()["id"]
        for direction, expected in (("asc", first), ("desc", pk)):
            page = text_of(admin_client.get(f"{view}/list/", query_string={
                "_oc_ClientView": f"custom.{code}", "_od_ClientView": direction}))
            positions = {key: page.find(f"/show/{key}") for key in (first, pk)}
            assert all(p >= 0 for p in positions.values())
            assert min(positions, key=positions.get) == expected, direction


def _operators(kind: str) -> tuple:
    from app.services.custom_types import TYPES

    return TYPES[kind].operators


# --- definitions ------------------------------------------------------------------------------


def test_code_must_be_new_plain_and_not_builtin(app, api):
    add_field(api, code="contract_no")
    plain = tr(app, "A code is up to 40 small Latin letters, digits and underscores, "
                    "starting with a letter.")
    for code, expected in (
            ("contract_no", tr(app, "The entity already has a field with this code.")),
            ("inn", tr(app, "This is the name of a built-in field.")),
            ("Bad-Code", plain), ("1abc", plain)):
        response = api.post(FIELDS, json={"entity": "client", "code": code, "label": "X",
                                          "type": "string"})
        assert response.status_code == 422, code
        assert expected in str(response.get_json()["message"]["code"]), code


def test_type_and_multiple_never_change(app, api):
    field = add_field(api, code="grade", type="list", multiple=True,
                      options=[{"value": "a"}, {"value": "b"}])
    for change in ({"type": "string"}, {"multiple": False}, {"code": "other"},
                   {"entity": "contact"}):
        response = api.put(f"{FIELDS}{field['id']}", json=change)
        assert response.status_code == 422, change
        assert tr(app, "This cannot change once the field exists.") in \
            str(response.get_json()["message"])
    renamed = api.put(f"{FIELDS}{field['id']}", json={"label": {"ru": "Класс", "en": "Grade"},
                                                     "type": "list", "multiple": True})
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["result"]["label"] == {"ru": "Класс", "en": "Grade"}


def test_a_list_needs_options_and_only_a_list_has_them(api):
    assert api.post(FIELDS, json={"entity": "client", "code": "l", "label": "L",
                                  "type": "list"}).status_code == 422
    assert api.post(FIELDS, json={"entity": "client", "code": "s", "label": "S",
                                  "type": "string", "options": [{"value": "x"}]}
                    ).status_code == 422
    assert api.post(FIELDS, json={"entity": "client", "code": "b", "label": "B",
                                  "type": "boolean", "multiple": True}).status_code == 422


def test_removing_an_option_in_use_is_refused_with_the_count(app, api):
    field = add_field(api, code="tier", type="list",
                      options=[{"value": "gold"}, {"value": "silver"}, {"value": "tin"}])
    for n in (1, 2):
        assert new_client(api, n, custom={"tier": "gold"}).status_code == 201
    refused = api.put(f"{FIELDS}{field['id']}", json={"options": [{"value": "silver"}]})
    assert refused.status_code == 422
    assert refused.get_json()["message"]["options"] == [tr(
        app, "%(count)d records use the options you removed (%(values)s); change them first.",
        count=2, values="gold, tin")]
    # An unused option goes; a label and the order change freely.
    kept = api.put(f"{FIELDS}{field['id']}", json={"options": [
        {"value": "silver", "label": "Серебро"}, {"value": "gold", "label": "Золото"}]})
    assert kept.status_code == 200, kept.get_json()
    assert [o["value"] for o in kept.get_json()["result"]["options"]] == ["silver", "gold"]


def test_required_field_blocks_api_and_form_with_its_label(app, api, admin_client, dbx):
    add_field(api, code="contract_no", label={"ru": "Номер договора", "en": "Contract No."},
              required=True)
    refused = new_client(api, 1)
    assert refused.status_code == 422
    assert "Номер договора" in refused.get_json()["message"]["custom"]["contract_no"][0]
    view = route_of(app, screen_of(Client))
    page = admin_client.post(f"{view}/add", data=CLIENT.form(CLIENT.deps(dbx), 2))
    assert "Номер договора" in form_errors(text_of(page))["custom_contract_no"]
    assert new_client(api, 3, custom={"contract_no": "Д-1"}).status_code == 201


def test_unknown_field_is_refused(api):
    response = new_client(api, 1, custom={"nothing": 1})
    assert response.status_code == 422
    assert "nothing" in response.get_json()["message"]["custom"]


def test_default_fills_a_new_record(api):
    add_field(api, code="segment", type="list", default="b",
              options=[{"value": "a"}, {"value": "b"}])
    created = new_client(api, 1).get_json()
    assert created["result"]["custom"]["segment"] == "b"


def _index_exists(app, name: str) -> bool:
    from app.database import db
    from app.services.custom_fields import index_exists

    with app.app_context(), db.engine.connect() as connection:
        return index_exists(connection, name)


def test_deleting_a_field_removes_values_index_and_is_in_history(app, api, dbx):
    field = add_field(api, code="old", filterable=True)
    pks = [new_client(api, n, custom={"old": f"v{n}"}).get_json()["id"] for n in (1, 2)]
    assert _index_exists(app, "ix_cf_client_old")
    deleted = api.delete(f"{FIELDS}{field['id']}")
    assert deleted.status_code == 200
    assert deleted.get_json()["removed"] == 2
    for pk in pks:
        assert "old" not in (dbx.get(Client, pk).custom or {})
    assert not _index_exists(app, "ix_cf_client_old")
    logged = dbx.all(select(ChangeLog).where(ChangeLog.entity == "CustomField",
                                             ChangeLog.action == "delete"))
    assert logged and logged[0].changes["code"][0] == "old"


def test_values_are_in_the_history_field_by_field(api, dbx):
    add_field(api, code="a")
    add_field(api, code="b", type="integer")
    pk = new_client(api, 1, custom={"a": "x", "b": 1}).get_json()["id"]
    api.put(f"{CLIENTS}{pk}", json={"custom": {"b": 2}})
    entries = dbx.all(select(ChangeLog).where(ChangeLog.entity == "Client",
                                              ChangeLog.record_id == pk)
                      .order_by(ChangeLog.id))
    assert entries[0].changes["custom.a"] == [None, "x"]
    assert entries[-1].changes == {"custom.b": [1, 2]}


# --- pipelines and stages ---------------------------------------------------------------------


def test_a_stage_requires_its_fields_on_the_move(api, dbx):
    pipeline = default_pipeline(dbx)
    from app.models import Stage
    stages = dbx.all(select(Stage).where(Stage.pipeline_id == pipeline, Stage.kind == "open")
                     .order_by(Stage.sort))
    add_field(api, entity="interest", code="contract", label="Договор",
              required_from=[{"pipeline": pipeline, "stage": stages[1].id}])
    body = INTEREST.json(INTEREST.deps(dbx), 1)
    created = api.post("/api/v1/interest/", json=body)
    assert created.status_code == 201, created.get_json()
    pk = created.get_json()["id"]
    move = {"stage": stages[1].id, "result": "Talked", "next": {
        "subject": "Send the contract", "planned_at": "2027-02-01T10:00:00Z"}}
    refused = api.post(f"/api/v1/interest/{pk}/move", json=move)
    assert refused.status_code == 422
    assert "contract" in refused.get_json()["message"]["custom"]
    moved = api.post(f"/api/v1/interest/{pk}/move", json={**move, "custom": {"contract": "Д-9"}})
    assert moved.status_code == 200, moved.get_json()
    assert api.get(f"/api/v1/interest/{pk}").get_json()["result"]["custom"] == {
        "contract": "Д-9"}


def test_a_pipelines_field_is_not_another_pipelines(api, dbx):
    from tests.factories import PIPELINE
    other = PIPELINE.create(dbx, n=9)
    add_field(api, entity="interest", code="only_other", pipelines=[other])
    body = INTEREST.json(INTEREST.deps(dbx), 1)
    refused = api.post("/api/v1/interest/", json={**body, "custom": {"only_other": "x"}})
    assert refused.status_code == 422
    assert "only_other" in refused.get_json()["message"]["custom"]
    created = api.post("/api/v1/interest/", json=body).get_json()
    assert "only_other" not in created["result"]["custom"]


# --- who sees what ------------------------------------------------------------------------------


def test_hidden_and_read_only_fields_per_role(app, api, api_as, client_as, dbx):
    add_field(api, code="secret", visibility=[{"role": "Manager", "access": "hidden"}])
    add_field(api, code="shown", visibility=[{"role": "Manager", "access": "read"}],
              show_in_list=True)
    pk = CLIENT.create(dbx, n=1)
    assert api.put(f"{CLIENTS}{pk}", json={"custom": {"secret": "S3CR3T", "shown": "seen"}}
                   ).status_code == 200
    manager = api_as("manager")
    answer = manager.get(f"{CLIENTS}{pk}").get_json()["result"]["custom"]
    assert answer == {"shown": "seen"}
    for code, message in (("secret", tr(app, "There is no such field.")),
                          ("shown", tr(app, "You may not change this field."))):
        refused = manager.put(f"{CLIENTS}{pk}", json={"custom": {code: "x"}})
        assert refused.status_code == 422
        assert message in refused.get_json()["message"]["custom"][code][0]
    browser = client_as("manager")
    view = route_of(app, screen_of(Client))
    for url in (f"{view}/show/{pk}", f"{view}/list/", f"{view}/edit/{pk}"):
        page = text_of(browser.get(url))
        assert "S3CR3T" not in page and "custom_secret" not in page, url
        assert "seen" in page, url
    # The administrator sees both.
    assert api.get(f"{CLIENTS}{pk}").get_json()["result"]["custom"] == {
        "secret": "S3CR3T", "shown": "seen"}


def test_definitions_need_the_settings_right(api_as):
    manager = api_as("manager")
    assert manager.get(FIELDS).status_code in (401, 403)
    assert manager.post(FIELDS, json={"entity": "client", "code": "x", "label": "X",
                                      "type": "string"}).status_code in (401, 403)


def test_the_spec_describes_the_current_fields(api):
    add_field(api, code="contract_no", type="integer")
    spec = api.get("/api/v1/_openapi").get_json()
    custom = spec["components"]["schemas"]["ClientApi.get"]["properties"]["custom"]
    assert custom["properties"]["contract_no"]["type"] == "integer"


def test_the_definition_screen_adds_a_list_field(app, admin_client, dbx):
    from app.screens.custom_fields import CustomFieldView
    view = route_of(app, CustomFieldView)
    page = admin_client.post(f"{view}/add", data={
        "entity": "client", "field_type": "list", "code": "tier", "label_ru": "Уровень",
        "label_en": "Tier", "options_text": "gold | Золото | #ffb300\nsilver", "sort": "10",
        "required": "y", "filterable": "y"})
    assert page.status_code == 302, form_errors(text_of(page))
    field = dbx.all(select(CustomField).where(CustomField.code == "tier"))[0]
    assert field.options[0] == {"value": "gold", "label": "Золото", "color": "#ffb300",
                                "order": 0}
    assert field.required and field.filterable
    form = text_of(admin_client.get(f"{route_of(app, screen_of(Client))}/add"))
    assert 'name="custom_tier"' in form and "Золото" in form


# --- links ----------------------------------------------------------------------------------------


def test_a_user_link_takes_an_employee(app, api, admin_client, dbx):
    add_field(api, code="curator", type="user", filterable=True, show_in_list=True)
    manager = dbx.user_id("manager")
    created = new_client(api, 1, custom={"curator": manager})
    assert created.status_code == 201, created.get_json()
    pk = created.get_json()["id"]
    assert new_client(api, 2, custom={"curator": 10**6}).status_code == 422
    view = route_of(app, screen_of(Client))
    form = {**CLIENT.form(CLIENT.deps(dbx), 3), "custom_curator": str(dbx.user_id("manager_b"))}
    assert admin_client.post(f"{view}/add", data=form).status_code == 302
    listed = text_of(admin_client.get(f"{view}/list/", query_string={
        "_flt_0_custom.curator": str(manager)}))
    assert f"/show/{pk}" in listed and form["name"] not in listed


def test_a_record_link_offers_only_what_the_user_may_see(app, api, api_as, client_as, dbx):
    add_field(api, code="partner", type="record", settings={"target": "client"})
    assert api.post(FIELDS, json={"entity": "client", "code": "bad", "label": "B",
                                  "type": "record"}).status_code == 422
    own = CLIENT.create(dbx, n=1)  # the manager's
    others = dbx.add(lambda s: _client_of(s, dbx.user_id("manager_b"), 2))
    manager = api_as("manager")
    body = client_body(3)
    assert manager.post(CLIENTS, json={**body, "custom": {"partner": own}}).status_code == 201
    refused = manager.post(CLIENTS, json={**client_body(4), "custom": {"partner": others}})
    assert refused.status_code == 422
    assert "partner" in refused.get_json()["message"]["custom"]
    # The administrator links it; the manager reads the number, not the name.
    linked = api.post(CLIENTS, json={**client_body(5), "custom": {"partner": others}})
    assert linked.status_code == 201
    pk = linked.get_json()["id"]
    api.put(f"{CLIENTS}{pk}", json={"responsible": dbx.user_id("manager")})
    page = text_of(client_as("manager").get(f"{route_of(app, screen_of(Client))}/show/{pk}"))
    assert f"#{others}" in page and "ООО Ромашка 2" not in page


def _client_of(session, user_id, n):
    from tests.factories import to_object

    values = {key: value for key, value in CLIENT.values(
        {"user": user_id, "tag": None, "industry": None}, n).items() if key != "tags"}
    return to_object(session, Client, values)


def test_the_move_dialog_asks_for_the_stages_fields(app, api, admin_client, dbx):
    from app.models import Interest, Stage
    pipeline = default_pipeline(dbx)
    stages = dbx.all(select(Stage).where(Stage.pipeline_id == pipeline, Stage.kind == "open")
                     .order_by(Stage.sort))
    add_field(api, entity="interest", code="contract", label={"ru": "Договор", "en": "Contract"},
              required_from=[{"pipeline": pipeline, "stage": stages[1].id}])
    add_field(api, entity="interest", code="later", label="Потом")
    pk = api.post("/api/v1/interest/", json=INTEREST.json(INTEREST.deps(dbx), 1)
                  ).get_json()["id"]
    url = f"/interestview/move/{pk}"
    asked = text_of(admin_client.get(url, query_string={"stage": stages[1].id, "dialog": 1}))
    assert 'name="custom_contract"' in asked and 'name="custom_later"' not in asked
    version = dbx.get(Interest, pk).version
    form = {"stage": stages[1].id, "result": "Talked", "next_subject": "Send it",
            "next_planned_at": "01.02.2027 10:00", "version": version}
    refused = admin_client.post(url, data={**form, "dialog": 1},
                                query_string={"dialog": 1})
    assert refused.status_code == 422
    assert "custom_contract" in form_errors(text_of(refused))
    moved = admin_client.post(url, data={**form, "custom_contract": "Д-5"})
    assert moved.status_code == 302
    saved = dbx.get(Interest, pk)
    assert saved.stage_id == stages[1].id and saved.custom == {"contract": "Д-5"}


def test_the_boards_cards_show_their_fields(api, admin_client, dbx):
    add_field(api, entity="interest", code="budget", type="money", show_on_board=True,
              label={"ru": "Бюджет", "en": "Budget"})
    add_field(api, entity="interest", code="quiet", label="Тихо")
    body = INTEREST.json(INTEREST.deps(dbx), 1)
    api.post("/api/v1/interest/", json={**body, "custom": {
        "budget": {"amount": 5000, "currency": "USD"}, "quiet": "not on cards"}})
    page = text_of(admin_client.get("/board/"))
    assert "crm-kcard-custom-budget" in page and "USD" in page
    assert "not on cards" not in page
    cards = [card for column in api.get("/api/v1/kanban").get_json()["columns"]
             for card in column["cards"]]
    assert cards[0]["custom"] == {"budget": {"amount": 5000, "currency": "USD"}}


def test_the_intake_wizard_asks_for_the_interests_and_the_new_clients_fields(
        api, client_as, dbx):
    from app.models import Inquiry, Interest
    from tests.factories import INQUIRY
    add_field(api, entity="interest", code="budget", type="integer",
              label={"ru": "Бюджет", "en": "Budget"})
    add_field(api, entity="client", code="segment", type="list", required=True,
              options=[{"value": "b2b"}, {"value": "b2c"}])
    manager = client_as("manager")
    lead = INQUIRY.create(dbx, n=6)
    url = f"/inquiryview/convert/{lead}?mode=new"
    page = text_of(manager.get(url))
    assert 'name="custom_budget"' in page and 'name="client_custom_segment"' in page
    stage = first_stage(dbx, default_pipeline(dbx))
    form = {"title": "Сервер", "stage": stage, "client_kind": "company",
            "client_name": "ООО «Новое»", "next_subject": "Call back",
            "next_planned_at": "20.01.2027 10:00", "version": 1, "custom_budget": "100 000"}
    refused = manager.post(url, data=form)
    assert refused.status_code == 200
    assert "client_custom_segment" in form_errors(text_of(refused))
    done = manager.post(url, data={**form, "client_custom_segment": "b2b"})
    assert done.status_code == 302, form_errors(text_of(done))
    interest = dbx.get(Interest, dbx.get(Inquiry, lead).interest_id)
    assert interest.custom == {"budget": 100000}
    assert dbx.get(Client, interest.client_id).custom == {"segment": "b2b"}


# --- a hidden field leaves no trace ---------------------------------------------------------

SECRET = "S3CR3T-4417"
SECRET_LABEL = "HIDDEN-LABEL-4417"


def test_a_hidden_field_leaves_no_trace_anywhere_its_reader_goes(app, api, api_as, client_as,
                                                                 dbx):
    """A field hidden from the Manager and Supervisor roles, set on a client and on an
    interest, as the manager and the supervisor (who also reads the change log) walk every
    page and answer that shows those records: not its value, nor (but in the history of
    the settings, which records the field's definition) its label or its code."""
    hidden = [{"role": "Manager", "access": "hidden"}, {"role": "Supervisor", "access": "hidden"}]
    for entity in ("client", "interest"):
        add_field(api, entity=entity, code="secret_code", label={"ru": SECRET_LABEL,
                                                                 "en": SECRET_LABEL},
                  visibility=hidden, show_in_list=True, filterable=True, show_on_board=True)
    client = new_client(api, 1, custom={"secret_code": SECRET}).get_json()["id"]
    api.put(f"{CLIENTS}{client}", json={"responsible": dbx.user_id("manager"),
                                        "custom": {"secret_code": SECRET + "-2"}})
    body = INTEREST.json(INTEREST.deps(dbx), 2)
    interest = api.post("/api/v1/interest/", json={
        **body, "client": client, "responsible": dbx.user_id("manager"),
        "custom": {"secret_code": SECRET}}).get_json()["id"]
    from app.models import ChangeLog
    log_ids = dbx.all(select(ChangeLog.id))
    screens = [
        "/clientview/list/", f"/clientview/show/{client}", f"/clientview/edit/{client}",
        "/clientview/add", "/interestview/list/", f"/interestview/show/{interest}",
        f"/interestview/edit/{interest}", "/interestview/add", f"/interestview/move/{interest}",
        "/board/", "/board/?mode=list", "/search/?q=Ромашка", "/search/quick?q=Ромашка",
        "/changelogview/list/", *(f"/changelogview/show/{pk}" for pk in log_ids),
        f"/interactionview/list/?client={client}"]
    answers = [f"{CLIENTS}{client}", CLIENTS, f"/api/v1/interest/{interest}",
               "/api/v1/interest/", "/api/v1/kanban", "/api/v1/client/search?q=Ромашка",
               "/api/v1/changelog/", "/api/v1/_openapi", "/api/v1/client/_info"]
    for login in ("manager", "supervisor"):
        browser, reader = client_as(login), api_as(login)
        for url in screens:
            page = browser.get(url).get_data(as_text=True)
            for trace in _traces(url):
                assert trace not in page, (login, url, trace)
        for url in answers:
            answer = reader.get(url).get_data(as_text=True)
            for trace in _traces(url):
                assert trace not in answer, (login, url, trace)
    # The administrator sees it where the others do not (so the walk above could fail).
    admin_page = client_as("admin").get(f"/clientview/show/{client}").get_data(as_text=True)
    assert SECRET in admin_page and SECRET_LABEL in admin_page


def _traces(url: str) -> tuple[str, ...]:
    if "changelog" in url:  # the definition's own history names the field
        return (SECRET,)
    return (SECRET, SECRET_LABEL, "secret_code")


# --- files --------------------------------------------------------------------------------------


def test_a_file_field_keeps_a_file_for_those_who_may_read_the_record(
        app, api, admin_client, client_as, dbx):
    import base64
    import io

    add_field(api, code="contract_scan", type="file", label="Скан договора",
              visibility=[{"role": "Read-only", "access": "hidden"}])
    content = b"%PDF-1.4 a contract"
    body = {"name": "contract.pdf", "content": base64.b64encode(content).decode()}
    created = new_client(api, 1, custom={"contract_scan": body})
    assert created.status_code == 201, created.get_json()
    pk = created.get_json()["id"]
    stored = created.get_json()["result"]["custom"]["contract_scan"]
    assert stored["name"] == "contract.pdf" and stored["size"] == len(content)
    # Sent back as read, the file stays; a refused type or size is a 422 with a reason.
    assert api.put(f"{CLIENTS}{pk}", json={"custom": {"contract_scan": stored}}
                   ).status_code == 200
    for bad in ({"name": "run.exe", "content": body["content"]},
                {"name": "big.pdf", "content": base64.b64encode(b"x" * (6 * 2**20)).decode()},
                {"name": "x.pdf", "content": "not base64!"}, "x.pdf"):
        refused = api.put(f"{CLIENTS}{pk}", json={"custom": {"contract_scan": bad}})
        assert refused.status_code == 422, bad
        assert "contract_scan" in refused.get_json()["message"]["custom"]
    url = f"/customfile/client/{pk}/contract_scan"
    page = text_of(admin_client.get(f"{route_of(app, screen_of(Client))}/show/{pk}"))
    assert url in page and "contract.pdf" in page
    download = admin_client.get(url)
    assert download.status_code == 200 and download.data == content
    assert "attachment" in download.headers["Content-Disposition"]
    # The manager may not read someone else's client; the read-only role does not see it.
    other = CLIENT.create(dbx, n=9)
    api.put(f"{CLIENTS}{other}", json={"custom": {"contract_scan": body},
                                       "responsible": dbx.user_id("manager_b")})
    assert client_as("manager").get(f"/customfile/client/{other}/contract_scan"
                                    ).status_code == 404
    assert client_as("readonly").get(url).status_code == 404
    # A new file by the form replaces it; "remove" takes it away.
    view = route_of(app, screen_of(Client))
    version = dbx.get(Client, pk).version
    form = {**CLIENT.form(CLIENT.deps(dbx), 1), "version": version,
            "custom_contract_scan": (io.BytesIO(b"second"), "second.txt")}
    assert admin_client.post(f"{view}/edit/{pk}", data=form,
                             content_type="multipart/form-data").status_code == 302
    assert admin_client.get(url).data == b"second"
    form = {**CLIENT.form(CLIENT.deps(dbx), 1), "version": version + 1,
            "custom_contract_scan__remove": "y"}
    assert admin_client.post(f"{view}/edit/{pk}", data=form).status_code == 302
    assert admin_client.get(url).status_code == 404


# --- bookings -----------------------------------------------------------------------------------


def test_a_booking_refuses_an_overlap_naming_the_record_that_holds_it(app, api, admin_client,
                                                                        dbx):
    from tests.factories import dictionary_item
    room = dictionary_item(dbx, "resource", "Переговорная 1")
    car = dictionary_item(dbx, "resource", "Автомобиль")
    add_field(api, code="room", type="booking", label="Переговорная", filterable=True,
              show_in_list=True)

    def book(resource, start, end):
        return {"room": {"resource": resource, "start": f"2027-03-01T{start}:00Z",
                         "end": f"2027-03-01T{end}:00Z"}}

    first = new_client(api, 1, custom=book(room, "07", "09"))
    assert first.status_code == 201, first.get_json()
    first_pk = first.get_json()["id"]
    refused = new_client(api, 2, custom=book(room, "08", "10"))
    assert refused.status_code == 422
    assert "ООО Ромашка 1" in refused.get_json()["message"]["custom"]["room"][0]
    assert new_client(api, 3, custom=book(room, "09", "10")).status_code == 201  # adjacent
    assert new_client(api, 4, custom=book(car, "08", "10")).status_code == 201
    # A record moves its own booking over itself; an end before the start is refused.
    assert api.put(f"{CLIENTS}{first_pk}", json={"custom": book(room, "06", "08")}
                   ).status_code == 200
    assert new_client(api, 5, custom=book(room, "12", "11")).status_code == 422
    assert new_client(api, 6, custom={"room": {"resource": 10**6, "start": "2027-03-01",
                                               "end": "2027-03-02"}}).status_code == 422
    # Deleted, the record frees the resource.
    assert api.delete(f"{CLIENTS}{first_pk}").status_code == 200
    assert new_client(api, 7, custom=book(room, "06", "07")).status_code == 201
    # The form: the resource and the times in the company's time zone (UTC+3).
    view = route_of(app, screen_of(Client))
    form = {**CLIENT.form(CLIENT.deps(dbx), 8), "custom_room": str(room),
            "custom_room__start": "01.03.2027 12:00", "custom_room__end": "01.03.2027 13:00"}
    shown = admin_client.post(f"{view}/add", data=form)
    assert "custom_room" in form_errors(text_of(shown))  # 09:00-10:00 UTC is taken
    form.update({"custom_room__start": "01.03.2027 14:00",
                 "custom_room__end": "01.03.2027 15:00"})
    assert admin_client.post(f"{view}/add", data=form).status_code == 302
    stored = dbx.scalar(select(Client.custom).where(Client.name == form["name"]))
    assert stored["room"] == {"resource": room, "start": "2027-03-01T11:00:00Z",
                              "end": "2027-03-01T12:00:00Z"}
    listed = text_of(admin_client.get(f"{view}/list/", query_string={
        "_flt_0_custom.room": str(car)}))
    assert "ООО Ромашка 4" in listed and "ООО Ромашка 3" not in listed


def test_the_indexes_of_fields_are_no_drift_for_flask_db_check(app, api):
    add_field(api, code="checked", type="integer", filterable=True)
    add_field(api, code="several", type="list", multiple=True, filterable=True,
              options=[{"value": "a"}])
    assert _index_exists(app, "ix_cf_client_checked")
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_records_without_a_value_come_last_in_either_order(app, api, admin_client):
    add_field(api, code="rank", type="integer", filterable=True, show_in_list=True)
    empty = new_client(api, 1).get_json()["id"]
    low = new_client(api, 2, custom={"rank": 1}).get_json()["id"]
    high = new_client(api, 3, custom={"rank": 9}).get_json()["id"]
    view = route_of(app, screen_of(Client))
    for direction, expected in (("asc", [low, high, empty]), ("desc", [high, low, empty])):
        page = text_of(admin_client.get(f"{view}/list/", query_string={
            "_oc_ClientView": "custom.rank", "_od_ClientView": direction}))
        shown = sorted(expected, key=lambda pk: page.find(f"/show/{pk}"))
        assert shown == expected, direction


def test_the_api_filters_and_sorts_by_a_custom_field(api, api_as):
    import prison
    add_field(api, code="rank", type="integer", filterable=True)
    add_field(api, code="secret", type="integer", filterable=True,
              visibility=[{"role": "Manager", "access": "hidden"}])
    ids = {n: new_client(api, n, custom={"rank": n, "secret": n}).get_json()["id"]
           for n in (1, 2, 3)}

    def listed(reader, **arguments):
        answer = reader.get(f"{CLIENTS}?q={prison.dumps(arguments)}")
        return answer.status_code, [row["id"] for row in (answer.get_json() or {}).get(
            "result", [])]

    status, found = listed(api, filters=[{"col": "custom.rank", "opr": "gt", "value": 1}],
                           order_column="custom.rank", order_direction="desc")
    assert status == 200 and found == [ids[3], ids[2]]
    # A field hidden from the reader neither filters nor sorts.
    status, _found = listed(api_as("manager"),
                            filters=[{"col": "custom.secret", "opr": "eq", "value": 1}])
    assert status == 400


def test_pages_sorted_by_a_custom_field_go_on_past_the_last_value(app, api, admin_client):
    add_field(api, code="rank", type="integer", filterable=True)
    ranked = [new_client(api, n, custom={"rank": n}).get_json()["id"] for n in range(1, 4)]
    empty = [new_client(api, n).get_json()["id"] for n in range(4, 7)]
    view = route_of(app, screen_of(Client))
    seen = []
    for page in range(3):
        html = text_of(admin_client.get(f"{view}/list/", query_string={
            "_oc_ClientView": "custom.rank", "_od_ClientView": "asc",
            "psize_ClientView": 2, "page_ClientView": page}))
        seen += sorted((pk for pk in [*ranked, *empty] if f"/show/{pk}\"" in html),
                       key=lambda pk: html.find(f"/show/{pk}\""))
    assert seen == [*ranked, *sorted(empty)]


def test_a_field_of_several_values_through_api_form_and_filter(app, api, admin_client, dbx):
    add_field(api, code="channels", type="list", multiple=True, filterable=True,
              show_in_list=True, options=[{"value": "mail", "label": "Почта"},
                                          {"value": "phone", "label": "Телефон"},
                                          {"value": "visit", "label": "Визит"}])
    add_field(api, code="phones", type="phone", multiple=True)
    both = new_client(api, 1, custom={"channels": ["mail", "visit"],
                                      "phones": ["8 495 660-18-12", "+7 916 123-45-67"]})
    assert both.status_code == 201, both.get_json()
    assert both.get_json()["result"]["custom"] == {
        "channels": ["mail", "visit"], "phones": ["+74956601812", "+79161234567"]}
    assert new_client(api, 2, custom={"channels": "mail"}).status_code == 422
    assert new_client(api, 3, custom={"channels": ["mail", "fax"]}).status_code == 422
    view = route_of(app, screen_of(Client))
    form = {**CLIENT.form(CLIENT.deps(dbx), 4), "custom_channels": ["phone", "mail"],
            "custom_phones": "8 (812) 000-11-22\n"}
    assert admin_client.post(f"{view}/add", data=form).status_code == 302
    stored = dbx.scalar(select(Client.custom).where(Client.name == form["name"]))
    assert stored == {"channels": ["phone", "mail"], "phones": ["+78120001122"]}
    listed = text_of(admin_client.get(f"{view}/list/", query_string={
        "_flt_0_custom.channels": "visit"}))
    assert "ООО Ромашка 1" in listed and form["name"] not in listed
    assert "Почта" in listed and "Визит" in listed


def test_values_read_back_from_the_text_a_page_shows(app, api, dbx):
    """What a page shows of a value (and an export writes) is read back by its type (an
    import's cell)."""
    from app.models import DictionaryItem
    from app.services import custom_fields
    from app.services.actor import acting_as
    from app.services.custom_types import read_value, text_of
    from tests.factories import dictionary_item
    dictionary_item(dbx, "resource", "Переговорная 2")
    sent = {
        "integer": 1200, "decimal": 12.75, "boolean": True, "date": "2026-12-03",
        "datetime": "2026-12-03T08:30:00Z", "money": {"amount": 1500.5, "currency": "USD"},
        "phone": "+74956601812", "list": "gold",
        "booking": {"resource": None, "start": "2027-03-01T07:00:00Z",
                    "end": "2027-03-01T09:00:00Z"}}
    for kind in sent:
        extra = {"options": [{"value": "gold", "label": "Золото"}]} if kind == "list" else {}
        add_field(api, code=f"f_{kind}", type=kind, **extra)
    room = dbx.scalar(select(DictionaryItem.id).where(DictionaryItem.name == "Переговорная 2"))
    sent["booking"]["resource"] = room
    with app.test_request_context(), acting_as(dbx.user_id("admin")):
        specs = {spec.code: spec for spec in custom_fields.definitions("client")}
        for kind, value in sent.items():
            spec = specs[f"f_{kind}"]
            shown = text_of(spec, value)
            assert read_value(spec, shown, typed=True) == value, (kind, shown)


def test_a_record_link_through_the_form_and_the_filter(app, api, client_as, dbx):
    add_field(api, code="partner", type="record", settings={"target": "client"},
              filterable=True, show_in_list=True)
    own = CLIENT.create(dbx, n=1)
    others = dbx.add(lambda s: _client_of(s, dbx.user_id("manager_b"), 2))
    manager = client_as("manager")
    view = route_of(app, screen_of(Client))
    form = {**CLIENT.form(CLIENT.deps(dbx), 3), "custom_partner": str(others)}
    refused = manager.post(f"{view}/add", data=form)
    assert "custom_partner" in form_errors(text_of(refused))
    form["custom_partner"] = str(own)
    assert manager.post(f"{view}/add", data=form).status_code == 302
    page = text_of(manager.get(f"{view}/list/", query_string={
        "_flt_0_custom.partner": str(own)}))
    assert form["name"] in page and f"/clientview/show/{own}" in page


def test_a_file_no_record_holds_is_removed_from_the_disk(app, api, dbx):
    import base64

    from app.services.custom_types import file_path

    add_field(api, code="scan", type="file")

    def upload(name):
        return {"name": name, "content": base64.b64encode(name.encode()).decode()}

    def path_of(value):
        with app.app_context():
            return file_path(value["id"])

    created = new_client(api, 1, custom={"scan": upload("a.pdf")}).get_json()
    pk, first = created["id"], created["result"]["custom"]["scan"]
    assert path_of(first).is_file()
    second = api.put(f"{CLIENTS}{pk}", json={"custom": {"scan": upload("b.pdf")}}
                     ).get_json()["result"]["custom"]["scan"]
    assert not path_of(first).exists() and path_of(second).is_file()
    # A save refused after the upload leaves no file behind.
    import os
    folder = app.config["CRM_CUSTOM_FILES_DIR"]
    before = {f for _root, _dirs, files in os.walk(folder) for f in files}
    refused = api.put(f"{CLIENTS}{pk}", json={"inn": "123", "custom": {"scan": upload("c.pdf")}})
    assert refused.status_code == 422
    assert {f for _root, _dirs, files in os.walk(folder) for f in files} == before
    # A deleted record's file goes; so do a deleted field's.
    assert api.delete(f"{CLIENTS}{pk}").status_code == 200
    assert not path_of(second).exists()
    other = new_client(api, 2, custom={"scan": upload("d.pdf")}).get_json()
    third = other["result"]["custom"]["scan"]
    field = api.get(f"{FIELDS}?entity=client").get_json()["result"][0]["id"]
    assert api.delete(f"{FIELDS}{field}").status_code == 200
    assert not path_of(third).exists()


def test_files_bookings_and_record_links_take_no_default(app, api, dbx):
    from tests.factories import dictionary_item
    room = dictionary_item(dbx, "resource", "Переговорная 3")
    client = CLIENT.create(dbx, n=1)
    for kind, default, extra in (
            ("booking", {"resource": room, "start": "2027-03-01T07:00:00Z",
                         "end": "2027-03-01T08:00:00Z"}, {}),
            ("record", client, {"settings": {"target": "client"}}),
            ("file", {"name": "a.pdf", "content": "YQ=="}, {})):
        refused = api.post(FIELDS, json={"entity": "client", "code": f"d_{kind}", "label": "D",
                                         "type": kind, "default": default, **extra})
        assert refused.status_code == 422, kind
        assert refused.get_json()["message"]["default"] == [
            tr(app, "A field of this type has no default.")]


def test_a_booked_resource_is_not_deleted_while_bookings_hold_it(api, dbx):
    from tests.factories import dictionary_item
    room = dictionary_item(dbx, "resource", "Переговорная 4")
    add_field(api, code="room", type="booking")
    new_client(api, 1, custom={"room": {"resource": room, "start": "2027-03-01T07:00:00Z",
                                        "end": "2027-03-01T08:00:00Z"}})
    refused = api.delete(f"/api/v1/dictionary/{room}")
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "conflict"


def test_the_intake_wizard_takes_the_new_clients_file(api, client_as, dbx):
    import io

    from app.models import Inquiry, Interest
    from tests.factories import INQUIRY
    add_field(api, entity="client", code="card_scan", type="file", label="Карточка")
    manager = client_as("manager")
    lead = INQUIRY.create(dbx, n=6)
    url = f"/inquiryview/convert/{lead}?mode=new"
    page = text_of(manager.get(url))
    assert 'enctype="multipart/form-data"' in page and "crm-intake-client-fields" in page
    done = manager.post(url, content_type="multipart/form-data", data={
        "title": "Сервер", "stage": first_stage(dbx, default_pipeline(dbx)),
        "client_kind": "company", "client_name": "ООО «С файлом»",
        "next_subject": "Call back", "next_planned_at": "20.01.2027 10:00", "version": 1,
        "client_custom_card_scan": (io.BytesIO(b"card"), "card.pdf")})
    assert done.status_code == 302, form_errors(text_of(done))
    interest = dbx.get(Interest, dbx.get(Inquiry, lead).interest_id)
    assert dbx.get(Client, interest.client_id).custom["card_scan"]["name"] == "card.pdf"
