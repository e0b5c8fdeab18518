"""The screens of the CRM's records that do more than their declaration says: who can see
a client or an interest, a call that inherits its client, an interest's stage box."""

from __future__ import annotations

from app.entities.crm import CLIENT, INTERACTION, INTEREST
from app.fab.widgets import StageSelectWidget
from app.screens.base import CrmView
from app.services import worklists


class ClientView(CrmView, entity=CLIENT):
    show_readers = True


class InteractionView(CrmView, entity=INTERACTION):
    def inherit_from_parent(self, form, name, parent):
        """A call added to an interest or a contact is the client's too."""
        client = getattr(parent, "client", None) if name in ("interest", "contact") else None
        if client is not None and form.client.data is None:
            self._fill(form, "client", client)

    def row_class(self, item) -> str:
        return worklists.interaction_row_class(item)


class InterestView(CrmView, entity=INTEREST):
    list_eager_relations = ("client",)
    show_readers = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The stage box offers the chosen pipeline's stages only (crm/stages.js).
        for form_class in (self.add_form, self.edit_form):
            form_class.stage.kwargs["widget"] = StageSelectWidget()


SCREENS = [ClientView, InteractionView, InterestView]
