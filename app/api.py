"""The REST resources under /api/v1/<name>/: one per declared entity (app.entities), with
Flask-AppBuilder's conventions and OpenAPI spec, on the base of app/fab/rest.py. Owner and
audit columns are not writable: a request that names them is refused with 422. Fields are
labelled and resources titled as on the screens.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.absence_api import AbsenceApi
from app.calendar_api import CalendarApi, CalendarFeedApi
from app.custom_fields_api import CustomFieldApi
from app.entities import BY_API
from app.exports_api import ExportApi
from app.fab.datamodel import CrmInterface
from app.fab.rest import CrmApi, install_prepared_schemas
from app.handover_api import HandoverApi
from app.jobs_api import JobApi, JobRunApi, NotificationApi
from app.labels import LABELS
from app.models import AUDIT_STAMPS, Client, Inquiry, Interaction, Interest
from app.reports_api import ReportApi
from app.sales_api import (
    ClientSearch,
    InquiryCommands,
    InteractionCommands,
    InterestCommands,
    KanbanApi,
)
from app.services import custom_fields

AUDIT_READ = list(AUDIT_STAMPS)

# The labels of columns only the API shows; every other column is labelled as on the screens.
API_LABELS = {
    "version": _l("Version"),
    "created_by_fk": LABELS["created_by"],
    "changed_by_fk": LABELS["changed_by"],
    "user_id": LABELS["user"],
    "custom": _l("Custom fields"),
}


# The commands of the sales process on their resources (app.sales_api).
COMMANDS = {Interest: InterestCommands, Interaction: InteractionCommands,
            Inquiry: InquiryCommands, Client: ClientSearch}


def resource(entity) -> type:
    """The resource of a declared entity (app.entities): what its forms write is writable,
    what its declaration shows besides is read-only."""
    model = entity.model
    columns = [] if entity.read_only else list(entity.api_columns)
    edited = [] if entity.read_only else list(entity.api_edit)
    shown = ["id", *columns, *entity.api_read]
    # The custom fields' values: written apart (app.fab.rest), answered with the record.
    custom = ["custom"] if custom_fields.entity_of(model) else []
    shown += custom
    if hasattr(model, "version"):
        shown.append("version")
    shown += AUDIT_READ if hasattr(model, "created_on") else []
    search = list(entity.api_search) or \
        [c for c in columns if c in model.__table__.columns][:6]
    datamodel = CrmInterface(model)
    labels = {**LABELS, **API_LABELS}
    # Every column as the screens call it: one shown, written or searched without a label
    # fails here, at start-up. (A read-only resource's _info lists every column as FAB's.)
    label_columns = {c: labels[c] for c in datamodel.get_columns_list() if c in labels}
    label_columns.update({c: labels[c] for c in {*shown, *columns, *search}})
    attributes = {
        "resource_name": entity.api,
        "datamodel": datamodel,
        "label_columns": label_columns,
        "list_columns": shown,
        "show_columns": shown,
        "add_columns": [*columns, *custom] if columns else columns,
        "edit_columns": [*edited, *custom] if edited else edited,
        "search_columns": search,
        "order_columns": list(entity.api_order),
        # As on the screen: a name search is then one index range, read in order.
        "base_order": entity.api_base_order,
        **entity.titles,
    }
    attributes["entity"] = entity
    if entity.read_only:
        attributes["base_permissions"] = ["can_get", "can_info"]
        attributes["include_route_methods"] = {"get", "get_list", "info"}
    bases = (COMMANDS[model], CrmApi) if model in COMMANDS else (CrmApi,)
    return type(f"{model.__name__}Api", bases, attributes)


RESOURCES = [resource(entity) for entity in BY_API.values()]


def register(appbuilder) -> None:
    install_prepared_schemas()
    for resource_class in RESOURCES:
        appbuilder.add_api(resource_class)
    appbuilder.add_api(KanbanApi)
    appbuilder.add_api(CustomFieldApi)
    appbuilder.add_api(JobApi)
    appbuilder.add_api(JobRunApi)
    appbuilder.add_api(NotificationApi)
    appbuilder.add_api(ExportApi)
    appbuilder.add_api(ReportApi)
    appbuilder.add_api(CalendarFeedApi)
    appbuilder.add_api(CalendarApi)
    appbuilder.add_api(AbsenceApi)
    appbuilder.add_api(HandoverApi)
