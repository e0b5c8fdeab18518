"""The files of custom fields, given to a user who may read the record holding them and
see the field; anyone else gets 404, as for a record that does not exist. A file is always
downloaded, never shown in the page (an HTML or SVG file could run a script there)."""

from __future__ import annotations

from flask import abort, g, send_file
from flask_appbuilder import BaseView, expose

from app.database import db
from app.services import access, custom_fields
from app.services.custom_types import file_path


class CustomFileView(BaseView):
    route_base = "/customfile"
    default_view = "download"

    @expose("/<entity>/<int:pk>/<code>")
    def download(self, entity, pk, code):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            abort(401)
        model = custom_fields.MODELS.get(entity)
        if model is None or not 0 < pk < 2**31:
            abort(404)
        record = db.session.execute(access.readable(model).where(model.id == pk)).scalar()
        if record is None:
            abort(404)
        spec = next((s for s in custom_fields.readable(entity, record) if s.code == code), None)
        stored = (record.custom or {}).get(code) if spec is not None else None
        if spec is None or spec.type != "file" or not isinstance(stored, dict):
            abort(404)
        try:
            path = file_path(stored.get("id", ""))
        except ValueError:
            abort(404)
        if not path.is_file():
            abort(404)
        return send_file(path, as_attachment=True, download_name=stored.get("name") or "file",
                         mimetype="application/octet-stream", max_age=0)
