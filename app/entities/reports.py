"""The reports' own records: the sales plans the funnel compares the facts with. The
reports' screens and resources are pages of the same right (the matrix's "report")."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.entities import checks
from app.entities.declaration import Entity, MenuPlace
from app.models import SalesPlan


def _plan_check(plan) -> dict:
    errors = {}
    if (plan.manager_id is None and plan.manager is None) == \
            (plan.department_id is None and plan.department is None):
        errors["manager"] = gettext("Choose either a manager or a department.")
    if plan.starts_on and plan.ends_on and plan.ends_on < plan.starts_on:
        errors["ends_on"] = gettext("The end of the period is before its start.")
    return errors


SALES_PLAN = Entity(
    SalesPlan, "report", plural=_l("Sales plans"), label=_l("Sales plan"),
    pages=("SalesPlanView", "SalesPlanApi", "ReportView", "ReportApi"),
    menu=MenuPlace("Sales plans", "Reports", "fa-bullseye"),
    list=("starts_on", "ends_on", "manager", "department", "pipeline", "won_count", "won_amount"),
    show=("starts_on", "ends_on", "manager", "department", "pipeline", "won_count", "won_amount",
          "note"),
    form=("starts_on", "ends_on", "manager", "department", "pipeline", "won_count", "won_amount",
          "note"),
    search=("starts_on", "ends_on", "manager", "department", "pipeline"),
    order=("starts_on", "ends_on", "manager", "department", "won_amount"),
    base_order=("starts_on", "desc"),
    api="sales_plan",
    api_search=("starts_on", "ends_on", "manager", "department", "pipeline"),
    api_order=("id", "starts_on", "ends_on"),
    rules={"won_count": checks.non_negative, "won_amount": checks.non_negative},
    check=_plan_check,
)

ENTITIES = [SALES_PLAN]
