"""The sales funnel in a real browser: the head of sales opens it for the last year, sees
the chart drawn, drills into the first stage's cell and finds as many interests as the
cell says, then downloads the drill-down and the grid as Excel files."""

from __future__ import annotations

import datetime as dt
import io
import re

from conftest import DEMO_PASSWORD, log_in
from openpyxl import load_workbook
from playwright.sync_api import expect


def _sheet(download) -> list[tuple]:
    return list(load_workbook(io.BytesIO(open(download.path(), "rb").read())).active
                .iter_rows(values_only=True))


def test_the_head_of_sales_drills_into_the_funnel_and_downloads_it(page, demo_company, shot):
    log_in(page, "supervisor", DEMO_PASSWORD)
    page.goto("/lang/ru")
    today = dt.date.today()
    page.goto(f"/reports/funnel/?start={today - dt.timedelta(days=365)}&end={today}")
    expect(page.locator("h2", has_text="Воронка продаж")).to_be_visible()
    expect(page.locator(".crm-report-table tbody tr").first).to_be_visible()
    # Chart.js drew on the canvas: it sized it and left its instance on it.
    assert page.evaluate("() => !!Chart.getChart(document.getElementById('report-chart'))")
    shot("funnel")

    with page.expect_download() as grid_download:
        page.locator(".crm-export-menu button").click()
        page.locator(".crm-export-menu a.crm-export-link", has_text="Excel").click()
    stages = page.locator(".crm-report-table tbody tr").count()
    grid = _sheet(grid_download.value)
    assert grid[0][0] == "Этап" and len(grid) == 1 + stages + 1  # heading, stages, totals

    first = page.locator(".crm-report-table tbody tr").first.locator("a.crm-drill").first
    reached = int(re.sub(r"\D", "", first.inner_text()))
    assert reached > 0
    first.click()
    page.wait_for_url(re.compile(r"/reports/funnel/drill"))
    expect(page.locator(".crm-report-totals")).to_contain_text(str(reached))
    shown = page.locator(".crm-report-table tbody tr").count()
    assert shown == min(reached, 500)
    shot("drill")
    with page.expect_download() as drill_download:
        page.locator(".crm-export-menu button").click()
        page.locator(".crm-export-menu a.crm-export-link", has_text="Excel").click()
    rows = _sheet(drill_download.value)
    assert len(rows) - 1 == reached
