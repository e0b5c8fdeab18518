"""An export's file as the answer of a request: attached, named after what it holds and
when, with the number of its rows in `X-Total-Count`."""

from __future__ import annotations

from flask import send_file

from app.services import list_exports

MIME_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def send_export(run):
    response = send_file(list_exports.download_path(run), mimetype=MIME_TYPES[run.format],
                         as_attachment=True, download_name=list_exports.file_name(run),
                         max_age=0)
    response.headers["X-Total-Count"] = str(run.rows)
    response.headers["Cache-Control"] = "private, no-store"
    return response
