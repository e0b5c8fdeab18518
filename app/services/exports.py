"""Rows written as a spreadsheet: CSV that Excel opens in Cyrillic, and XLSX with typed
cells, both streamed from an iterator of rows with flat memory.

- CSV: UTF-8 with a byte order mark (Excel then reads Cyrillic), `;` between values and a
  decimal comma for Russian (what Excel expects in a Russian locale), `,` and a decimal
  point otherwise; dates as people of that language write them.
- XLSX: an Office Open XML workbook of one sheet whose rows are written to the zip as they
  come: numbers, money (two decimals) and dates are cells of their type, texts are inline
  strings, the heading row is bold and stays in view. openpyxl, which the tests read the
  files back with, writes a cell at a time through its object model: some 700 rows of 25
  columns a second on the 2-core machine, where an export of a million clients needs
  20,000; the sheet's XML is written here, a row in one string, and compressed by a
  thread of its own.
- In both, a text that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`,
  `@`, a tab or a carriage return) gets a single quote in front; numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import queue
import re
import tempfile
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from flask_babel import gettext

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST = frozenset(FORMULA_STARTS)
KINDS = ("text", "integer", "decimal", "money", "date", "datetime", "bool")
BATCH = 1000                # rows per chunk a stream yields
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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


# --- CSV --------------------------------------------------------------------------------


def _csv_converter(kind: str, language: str) -> Callable[[Any], str]:
    """How a value of a column of `kind` reads in the CSV file (None: empty); built once
    per column, called once per cell: nothing but the needful."""
    russian = language == "ru"
    yes, no = gettext("Yes"), gettext("No")

    def text(value):
        if value is None:
            return ""
        if value.__class__ is not str:
            value = str(value)
        return "'" + value if value.startswith(FORMULA_STARTS) else value

    def number(value):
        if value is None:
            return ""
        if not _is_number(value):
            return text(value)
        if kind == "money":
            value = Decimal(value).quantize(Decimal("0.01"))
        written = format(value, "f") if isinstance(value, Decimal) else str(value)
        return written.replace(".", ",") if russian else written

    def day(value):
        if value is None:
            return ""
        if not isinstance(value, dt.date):
            return text(value)
        if russian:
            written = f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
        else:
            written = f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        if kind == "datetime" and isinstance(value, dt.datetime):
            written += f" {value.hour:02d}:{value.minute:02d}"
        return written

    def boolean(value):
        return "" if value is None else yes if value else no

    return {"bool": boolean, "integer": number, "decimal": number, "money": number,
            "date": day, "datetime": day}.get(kind, text)


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
    # Texts, most of the cells, are written in place when they need nothing done (no
    # function call per cell); anything else goes through its column's converter.
    converters = [_csv_converter(column.kind, language) for column in columns]
    plain = [column.kind == "text" for column in columns]
    cells = list(zip(plain, converters, strict=True))
    for number, row in enumerate(rows, start=1):
        writer.writerow([
            value if is_text and value.__class__ is str and value[:1] not in FORMULA_FIRST
            else convert(value) for (is_text, convert), value in zip(cells, row, strict=True)])
        if number % BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


# --- XLSX -------------------------------------------------------------------------------

# The styles of the cells (styles.xml's cellXfs, in this order).
STYLE_HEADER, STYLE_DATE, STYLE_DATETIME, STYLE_MONEY = 1, 2, 3, 4
NUMBER_FORMATS = {"money": "#,##0.00", "date": "DD.MM.YYYY", "datetime": "DD.MM.YYYY HH:MM"}
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
# Characters XML 1.0 cannot hold (a text with one is written without them).
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

CONTENT_TYPES = _HEAD + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
PACKAGE_RELS = _HEAD + (
    f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
    f'Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK_RELS = _HEAD + (
    f'<Relationships xmlns="{_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC_RELS}/styles" Target="styles.xml"/>'
    '</Relationships>')
_XF = 'fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
STYLES = _HEAD + (
    f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="3">'
    f'<numFmt numFmtId="164" formatCode="{NUMBER_FORMATS["date"]}"/>'
    f'<numFmt numFmtId="165" formatCode="{NUMBER_FORMATS["datetime"]}"/>'
    f'<numFmt numFmtId="166" formatCode="{NUMBER_FORMATS["money"]}"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    f'<xf numFmtId="164" {_XF}/><xf numFmtId="165" {_XF}/><xf numFmtId="166" {_XF}/>'
    '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


# What a text must be looked at for before it goes into the XML.
NEEDS_ESCAPING = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _escape(text: str) -> str:
    if not NEEDS_ESCAPING.search(text):
        return text
    text = NOT_IN_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Cells are written in order, without references (a cell's place is its place in its
# row; an empty one is <c/>), which ECMA-376 allows and spreadsheets read.
TEXT_OPEN, TEXT_CLOSE = '<c t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>"
PLAIN_TEXT_OPEN = '<c t="inlineStr"><is><t>'
FIRST_NEEDS_CARE = FORMULA_FIRST | {" "}
EMPTY = "<c/>"


def _inline(text: str, style: str = "") -> str:
    opening = TEXT_OPEN if not style else TEXT_OPEN.replace("<c ", f"<c{style} ", 1)
    return opening + _escape(text) + TEXT_CLOSE


def _xlsx_converter(kind: str) -> Callable[[Any], str]:
    """The XML of a cell of a column of `kind`; built once per column."""
    yes, no = gettext("Yes"), gettext("No")
    money = f' s="{STYLE_MONEY}"' if kind == "money" else ""

    def text(value):
        if value is None:
            return EMPTY
        if value.__class__ is not str:
            value = str(value)
        if value.startswith(FORMULA_STARTS):
            value = "'" + value
        return TEXT_OPEN + _escape(value) + TEXT_CLOSE

    def number(value):
        if value is None:
            return EMPTY
        if not _is_number(value):
            return text(value)
        written = format(value, "f") if isinstance(value, Decimal) else repr(value)
        return f"<c{money}><v>{written}</v></c>"

    def moment(value):
        if value is None:
            return EMPTY
        if isinstance(value, dt.datetime):
            delta = value.replace(tzinfo=None) - EXCEL_EPOCH
            serial = repr(delta.days + delta.seconds / 86400)
            style = STYLE_DATETIME if kind == "datetime" else STYLE_DATE
        elif isinstance(value, dt.date):
            serial, style = str((value - EXCEL_EPOCH.date()).days), STYLE_DATE
        else:
            return text(value)
        return f'<c s="{style}"><v>{serial}</v></c>'

    def boolean(value):
        return EMPTY if value is None else TEXT_OPEN + (yes if value else no) + TEXT_CLOSE

    return {"bool": boolean, "integer": number, "decimal": number, "money": number,
            "date": moment, "datetime": moment}.get(kind, text)


def _sheet_xml_head(columns: Sequence[ExportColumn]) -> str:
    widths = "".join(
        f'<col min="{index}" max="{index}" width="{max(12, min(40, len(str(c.label)) + 4))}"'
        ' customWidth="1"/>' for index, c in enumerate(columns, start=1))
    header = "".join(_inline(neutralise(str(column.label)), f' s="{STYLE_HEADER}"')
                     for column in columns)
    return (_HEAD + f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<cols>{widths}</cols><sheetData><row>{header}</row>')


def write_xlsx(columns: Sequence[ExportColumn], rows: Iterable[Sequence[Any]], title: str,
               handle: IO[bytes]) -> int:
    """Write the XLSX file of `rows` (each a value per column) to a binary file opened for
    writing; answers how many rows it holds."""
    cells_of = [(column.kind == "text", _xlsx_converter(column.kind)) for column in columns]
    written = 0
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=1) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", PACKAGE_RELS)
        package.writestr("xl/workbook.xml", _HEAD + (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><sheets>'
            f'<sheet name="{_escape(_sheet_title(title))}" sheetId="1" r:id="rId1"/>'
            '</sheets></workbook>'))
        package.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        package.writestr("xl/styles.xml", STYLES)
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_sheet_xml_head(columns).encode("utf-8"))
            with _written_aside(sheet) as write:
                batch = []
                for row in rows:
                    # As in the CSV: a text that needs nothing done is written in place
                    # (nor kept from trimming: it neither starts nor ends with a space).
                    batch.append("<row>" + "".join([
                        PLAIN_TEXT_OPEN + value + TEXT_CLOSE
                        if is_text and value.__class__ is str
                        and value[:1] not in FIRST_NEEDS_CARE and value[-1:] != " "
                        and not NEEDS_ESCAPING.search(value) else convert(value)
                        for (is_text, convert), value in zip(cells_of, row, strict=True)])
                        + "</row>")
                    written += 1
                    if len(batch) == BATCH:
                        write("".join(batch).encode("utf-8"))
                        batch.clear()
                batch.append("</sheetData></worksheet>")
                write("".join(batch).encode("utf-8"))
    return written


@contextmanager
def _written_aside(stream):
    """`write(data)` for `stream`, done by a thread of its own: compressing the sheet
    (zlib lets go of Python's lock while it works) runs beside the making of its rows."""
    chunks: queue.Queue = queue.Queue(maxsize=4)
    failure: list[BaseException] = []

    def work() -> None:
        while (chunk := chunks.get()) is not None:
            if not failure:
                try:
                    stream.write(chunk)
                except BaseException as error:  # re-raised by the writer of the rows
                    failure.append(error)

    worker = threading.Thread(target=work, name="voronka-export-zip", daemon=True)
    worker.start()

    def write(chunk: bytes) -> None:
        if failure:
            raise failure[0]
        chunks.put(chunk)

    try:
        yield write
    finally:
        chunks.put(None)
        worker.join()
    if failure:
        raise failure[0]


def xlsx_chunks(columns: Sequence[ExportColumn], rows: Iterable[Sequence[Any]],
                title: str) -> Iterator[bytes]:
    """The XLSX file of `rows`, in chunks of bytes: written to a temporary file as the
    rows come (a zip is finished at its end), then read out."""
    descriptor, path = tempfile.mkstemp(prefix="voronka-export-", suffix=".xlsx")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write_xlsx(columns, rows, title, handle)
        with open(path, "rb") as handle:
            while chunk := handle.read(XLSX_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def _sheet_title(title: str) -> str:
    """A sheet's name as Excel takes it: 31 characters, none of []:*?/\\."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(title)).strip()
    return (cleaned or "Sheet")[:31]
