"""Export in a real browser: the head of sales sorts the clients list, opens the
Export menu and downloads the Excel file, which holds exactly the rows of the list; then
finds the export in "My exports"."""

from __future__ import annotations

import io
import re

from conftest import DEMO_PASSWORD, log_in
from openpyxl import load_workbook
from playwright.sync_api import expect


def test_the_head_of_sales_exports_the_filtered_clients_to_excel(page, demo_company, shot):
    log_in(page, "supervisor", DEMO_PASSWORD)
    page.goto("/lang/ru")
    page.goto("/clientview/list/?_oc_ClientView=name&_od_ClientView=desc")
    first_listed = page.locator("table tbody tr").first.locator("td").nth(2).inner_text()
    count = int(re.sub(r"\D", "", page.locator(".crm-record-count").inner_text()))
    assert count > 0
    page.locator(".crm-export-menu button").click()
    shot("menu")
    with page.expect_download() as download_info:
        page.locator(".crm-export-menu a.crm-export-link", has_text="Excel").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(open(download.path(), "rb").read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("ID", "Наименование")
    assert len(rows) - 1 == count
    assert rows[1][1] == first_listed.strip()  # in the list's order

    page.locator("a.dropdown-toggle", has_text="Смирнова").first.click()
    page.locator("li.dropdown.open a", has_text="Мои выгрузки").click()
    page.wait_for_url(re.compile(r"/exports/"))
    first = page.locator(".crm-export").first
    expect(first.locator(".crm-export-rows")).to_have_text(re.compile(rf"^\s*{count}\s*$"))
    expect(first.locator(".crm-export-file a")).to_be_visible()
    shot("exports")
