"""How the company sells: pipelines and their stages, departments, the company's own
requisites, and the history of changes."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.entities import checks
from app.entities.declaration import Entity, MenuPlace
from app.models import (
    REQUISITES_TEMPLATES,
    STAGE_KINDS,
    ChangeLog,
    CompanyRequisites,
    CustomField,
    Department,
    Pipeline,
    Stage,
)


def _keep_default_pipeline(pipeline):
    """R9: the default pipeline stays."""
    return gettext("The default pipeline cannot be deleted.") if pipeline.is_default else None


PIPELINE = Entity(
    Pipeline, "directory", plural=_l("Pipelines"), label=_l("Pipeline"),
    menu=MenuPlace("Pipelines", "Settings", "fa-filter"),
    list=("name", "sort", "is_default"),
    show=("name", "sort", "is_default"),
    form=("name", "sort", "is_default"),
    search=("name",),
    order=("name", "sort"),
    base_order=("sort", "asc"),
    api="pipeline",
    api_order=("id", "sort", "name"),
    keep=_keep_default_pipeline,
)


def _keep_system_stage(stage):
    """R9: the system stages stay."""
    return gettext("System stages cannot be deleted.") if stage.is_system else None


STAGE = Entity(
    Stage, "directory", plural=_l("Stages"), label=_l("Stage"),
    menu=MenuPlace("Stages", "Settings", "fa-columns"),
    list=("pipeline", "sort", "name", "kind", "color", "probability", "days_limit",
          "requires_client", "is_system"),
    show=("pipeline", "sort", "name", "kind", "color", "probability", "days_limit",
          "requires_client", "is_system"),
    form=("pipeline", "sort", "name", "kind", "color", "probability", "days_limit",
          "requires_client"),
    fixed=("pipeline", "kind"),
    api_read=("is_system",),
    search=("pipeline", "name", "kind"),
    order=("pipeline", "sort", "name"),
    base_order=("sort", "asc"),
    api="stage",
    api_search=("pipeline", "name", "kind"),
    api_order=("id", "sort", "name"),
    choices={"kind": (STAGE_KINDS, "open")},
    rules={"probability": checks.probability, "days_limit": checks.positive},
    keep=_keep_system_stage,
)

DEPARTMENT = Entity(
    Department, "settings", plural=_l("Departments"), label=_l("Department"),
    menu=MenuPlace("Departments", "Settings", "fa-sitemap"),
    list=("name", "parent", "head", "activity_norm"),
    show=("name", "parent", "head", "activity_norm", "roles"),
    form=("name", "parent", "head", "activity_norm", "roles"),
    screen_only=("roles",),  # the API grants roles through the rights' own resources
    search=("name", "parent", "head"),
    order=("name", "activity_norm", "parent", "head"),
    base_order=("name", "asc"),
    api="department",
    api_order=("id", "name"),
)


def _requisites_check(requisites) -> dict:
    if requisites.template == "company" and not requisites.kpp:
        return {"kpp": gettext("A company needs a KPP")}
    return {}


_REQUISITES_FORM = ("template", "full_name", "short_name", "inn", "kpp", "ogrn", "address",
                    "bank_name", "bik", "account", "corr_account", "director", "is_default")

COMPANY_REQUISITES = Entity(
    CompanyRequisites, "settings", plural=_l("Requisites"), label=_l("My requisites"),
    list_title=_l("My requisites"),
    menu=MenuPlace("My requisites", "Settings", "fa-id-card"),
    list=("short_name", "inn", "kpp", "ogrn", "director", "is_default"),
    show=_REQUISITES_FORM,
    form=_REQUISITES_FORM,
    search=("short_name", "inn"),
    order=("short_name", "inn"),
    api="requisites",
    api_order=("id", "short_name"),
    choices={"template": (REQUISITES_TEMPLATES, "company")},
    rules={"inn": checks.inn, "kpp": checks.kpp, "ogrn": checks.ogrn, "bik": checks.bik,
           "account": checks.account, "corr_account": checks.corr_account},
    check=_requisites_check,
)

# Settings → Jobs (app.screens.jobs) and the jobs' resources (app.jobs_api) are pages of
# the same right as the history: what the system did, and when.
CHANGE_LOG = Entity(
    ChangeLog, "settings", label=_l("History"), list_title=_l("History"),
    pages=("ChangeLogView", "ChangeLogApi", "JobView", "JobApi", "JobRunApi"),
    menu=MenuPlace("History", "Settings", "fa-history"),
    read_only=True,
    list=("changed_at", "user", "entity", "record_id", "action"),
    show=("changed_at", "user", "entity", "record_id", "action"),
    search=("entity", "record_id", "action", "user", "changed_at"),
    order=("changed_at", "entity", "record_id", "user"),
    base_order=("changed_at", "desc"),
    api="changelog",
    api_read=("entity", "record_id", "action", "changes", "changed_at", "user_id"),
    api_search=("entity", "record_id", "action", "user_id"),
    api_order=("id", "changed_at"),
)

CUSTOM_FIELD = Entity(
    CustomField, "settings", tracked=True, pages=("CustomFieldView", "CustomFieldApi"),
    plural=_l("Custom fields"), label=_l("Custom field"),
    menu=MenuPlace("Custom fields", "Settings", "fa-sliders"),
    list=("label_ru", "label_en", "code", "entity", "field_type", "required", "filterable",
          "show_in_list", "sort"),
    show=("entity", "code", "label_ru", "label_en", "field_type", "settings", "multiple",
          "required",
          "default", "help_ru", "help_en", "options", "sort", "show_in_list", "filterable",
          "show_on_board", "pipelines", "required_from", "visibility"),
    form=("entity", "field_type", "code", "label_ru", "label_en", "multiple", "required",
          "help_ru", "help_en", "sort", "show_in_list", "filterable", "show_on_board"),
    fixed=("entity", "code", "field_type", "multiple"),
    search=("entity", "code", "label_ru", "field_type"),
    order=("label_ru", "code", "entity", "sort"),
    base_order=("sort", "asc"),
)

ENTITIES = [PIPELINE, STAGE, DEPARTMENT, CUSTOM_FIELD, COMPANY_REQUISITES, CHANGE_LOG]
