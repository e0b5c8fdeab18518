"""The price list: products on sale by group (subgroups included) or only the items ticked,
its print page, its export, and sending it to a client as an XLSX file by e-mail."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.models import CompanyRequisites, Product, ProductGroup
from tests.helpers import flashed, text_of
from tests.test_jobs import smtp  # noqa: F401 - the fixture of a local SMTP server


@pytest.fixture
def catalogue(dbx):
    """Cables (and its subgroup Copper) and Tools; one product no longer on sale."""
    with dbx.session() as s:
        cables = ProductGroup(name="Кабели", sort=1)
        tools = ProductGroup(name="Инструмент", sort=2)
        s.add_all([cables, tools])
        s.flush()
        copper = ProductGroup(name="Медные", parent_id=cables.id, sort=1)
        s.add(copper)
        s.flush()
        items = {}
        for name, group, price, active in (
                ("ВВГ 3×2,5", copper, "85.50", True), ("Оптика 8", cables, "40.00", True),
                ("Перфоратор", tools, "12990.00", True), ("Старый кабель", cables, "1.00",
                                                          False)):
            product = Product(name=name, group_id=group.id, price=Decimal(price),
                              sku=f"SKU-{len(items) + 1}", is_active=active)
            s.add(product)
            s.flush()
            items[name] = product.id
        s.add(CompanyRequisites(template="company", full_name="ООО «Воронка»",
                                short_name="ООО «Воронка»", inn="7707083893",
                                kpp="773601001", is_default=True))
        s.commit()
        return {"cables": cables.id, "tools": tools.id, **items}


def names(body) -> list[str]:
    return [row["name"] for row in body["rows"]]


def test_the_price_list_by_group_with_its_subgroups_and_by_the_items_ticked(api, catalogue):
    every = api.get("/api/v1/report/pricelist").get_json()
    # On sale, by group (its order, then its name), then by name.
    assert names(every) == ["Оптика 8", "ВВГ 3×2,5", "Перфоратор"]
    cables = api.get("/api/v1/report/pricelist",
                     query_string={"group": catalogue["cables"]}).get_json()
    assert names(cables) == ["Оптика 8", "ВВГ 3×2,5"]  # a subgroup's items with its group's
    assert cables["rows"][1]["price"] == "85.50" and cables["rows"][1]["group"] == "Медные"
    ticked = api.get("/api/v1/report/pricelist?product={}&product={}".format(
        catalogue["Перфоратор"], catalogue["Оптика 8"])).get_json()
    assert names(ticked) == ["Оптика 8", "Перфоратор"]
    assert api.get("/api/v1/report/pricelist",
                   query_string={"group": 999999}).status_code == 422


def test_the_price_list_prints_and_exports_as_on_the_screen(api, client_as, catalogue):
    page = client_as("manager").get(f"/reports/pricelist/print?group={catalogue['cables']}")
    html = text_of(page)
    assert page.status_code == 200 and "ООО «Воронка»" in html
    assert "ВВГ 3×2,5" in html and "Перфоратор" not in html
    sheet = load_workbook(io.BytesIO(api.get(
        f"/api/v1/report/pricelist?format=xlsx&group={catalogue['tools']}").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:5] == ("Инструмент", "Перфоратор", "SKU-3", "шт", 12990)


def test_the_price_list_goes_to_a_client_by_e_mail_as_xlsx(api, client_as, catalogue,
                                                           smtp):  # noqa: F811
    answer = api.post("/api/v1/report/pricelist/send",
                      json={"email": "buyer@client.ru", "group": catalogue["cables"]})
    assert answer.status_code == 200, text_of(answer)
    assert answer.get_json()["sent"] == 2
    (message,) = smtp.messages
    assert message["To"] == "buyer@client.ru"
    (attachment,) = list(message.iter_attachments())
    sheet = load_workbook(io.BytesIO(attachment.get_content())).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == \
        ["Оптика 8", "ВВГ 3×2,5"]
    bad = api.post("/api/v1/report/pricelist/send", json={"email": "not an address"})
    assert bad.status_code == 422 and "email" in bad.get_json()["message"]
    supervisor = client_as("supervisor")
    sent = supervisor.post("/reports/pricelist/send", data={
        "email": "other@client.ru", "product": [catalogue["Перфоратор"]]},
        follow_redirects=True)
    assert sent.status_code == 200 and "other@client.ru" in flashed(text_of(sent))
    assert smtp.messages[-1]["To"] == "other@client.ru"


def test_without_smtp_sending_is_refused_with_a_reason(api, catalogue):
    answer = api.post("/api/v1/report/pricelist/send", json={"email": "buyer@client.ru"})
    assert answer.status_code == 400 and answer.get_json()["code"] == "no_mail"
