"""Settings → History: the change log, each record by its name and linked to its page."""

from __future__ import annotations

from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access

from app.entities.settings import CHANGE_LOG
from app.screens import history
from app.screens.base import CrmView
from app.screens.custom_fields import CustomFieldView


class ChangeLogView(CrmView, entity=CHANGE_LOG):
    formatters_columns = {"entity": history.entity_label, "action": history.action_label}

    def list_values(self, rows) -> list[dict]:
        """The record by its name, linked to its page."""
        values = super().list_values(rows)
        links = history.record_links(rows)
        for row, value in zip(rows, values, strict=True):
            value["record_id"] = history.record_link(row.entity, row.record_id, links)
        return values

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        row = self._get_item(pk)
        entry = history.describe_entry(row)
        entry["record"] = history.record_link(row.entity, row.record_id,
                                              history.record_links([row]))
        return self.render_template(self.show_template, pk=pk, title=self.show_title,
                                    widgets=widgets, related_views=self._related_views,
                                    history=[entry], readers=None)


SCREENS = [CustomFieldView, ChangeLogView]
