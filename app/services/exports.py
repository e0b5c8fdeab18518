"""Rows written as a spreadsheet: CSV that Excel opens in Cyrillic, and XLSX with typed
cells, both streamed from an iterator of rows with flat memory.

- CSV: UTF-8 with a byte order mark (Excel then reads Cyrillic), `;` between values and a
  decimal comma for Russian (what Excel expects in a Russian locale), `,` and a decimal
  point otherwise; dates as people of that language write them.
- XLSX: openpyxl's write-only workbook, which keeps no rows in memory; numbers, money and
  dates are cells of their type (money with two decimals), texts are texts.
- In both, a text that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`,
  `@`, a tab or a carriage return) gets a single quote in front; numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

from flask_babel import gettext

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
KINDS = ("text", "integer", "decimal", "money", "date", "datetime", "bool")
CSV_BATCH = 1000            # rows per chunk a CSV stream yields
XLSX_CHUNK = 64 * 1024      # bytes per chunk an XLSX stream yields


@dataclass(frozen=True)
class ExportColumn:
    key: str
    label: object
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of column: {self.kind}")


def neutralise(value: Any) -> Any:
    """A text that starts like a formula, with a single quote in front; anything else as
    it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# --- CSV --------------------------------------------------------------------------------


def _csv_number(value, language: str) -> str:
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    return text.replace(".", ",") if language == "ru" else text


def _csv_cell(value: Any, kind: str, language: str) -> str:
    if value is None:
        return ""
    if kind == "bool":
        return gettext("Yes") if value else gettext("No")
    if kind in ("integer", "decimal", "money") and isinstance(value, (int, float, Decimal)) \
            and not isinstance(value, bool):
        if kind == "money":
            value = Decimal(value).quantize(Decimal("0.01"))
        return _csv_number(value, language)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M" if language == "ru" else "%Y-%m-%d %H:%M")
    if kind in ("date", "datetime") and isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y" if language == "ru" else "%Y-%m-%d")
    return neutralise(str(value))


def csv_chunks(columns: Sequence[ExportColumn], rows: Iterable[Sequence[Any]],
               language: str) -> Iterator[bytes]:
    """The CSV file of `rows` (each a value per column), in chunks of bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if language == "ru" else ",",
                        lineterminator="\r\n")
    writer.writerow([neutralise(str(column.label)) for column in columns])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    kinds = [column.kind for column in columns]
    for number, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(value, kind, language)
                         for value, kind in zip(row, kinds, strict=True)])
        if number % CSV_BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


# --- XLSX -------------------------------------------------------------------------------

NUMBER_FORMATS = {"money": "#,##0.00", "date": "DD.MM.YYYY", "datetime": "DD.MM.YYYY HH:MM"}


def _xlsx_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return gettext("Yes") if value else gettext("No")
    if kind in ("integer", "decimal", "money") and isinstance(value, (int, float, Decimal)) \
            and not isinstance(value, bool):
        return value
    if kind in ("date", "datetime") and isinstance(value, dt.date):
        return value
    return neutralise(str(value))


def xlsx_chunks(columns: Sequence[ExportColumn], rows: Iterable[Sequence[Any]],
                title: str) -> Iterator[bytes]:
    """The XLSX file of `rows` (each a value per column), in chunks of bytes. The
    workbook is written to a temporary file as the rows come, then read out."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = \
            max(12, min(40, len(str(column.label)) + 4))
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=neutralise(str(column.label)))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    kinds = [column.kind for column in columns]
    for row in rows:
        cells = []
        for value, kind in zip(row, kinds, strict=True):
            cell = WriteOnlyCell(sheet, value=_xlsx_value(value, kind))
            if kind in NUMBER_FORMATS and cell.value is not None and \
                    not isinstance(cell.value, str):
                cell.number_format = NUMBER_FORMATS[kind]
            cells.append(cell)
        sheet.append(cells)
    descriptor, path = tempfile.mkstemp(prefix="voronka-export-", suffix=".xlsx")
    os.close(descriptor)
    try:
        workbook.save(path)
        with open(path, "rb") as handle:
            while True:
                chunk = handle.read(XLSX_CHUNK)
                if not chunk:
                    break
                yield chunk
    finally:
        os.unlink(path)


def _sheet_title(title: str) -> str:
    """A sheet's name as Excel takes it: 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(title)).strip()
    return (cleaned or "Sheet")[:31]
