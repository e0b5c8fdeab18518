"""Where a background export (app.services.list_exports) finds its rows again: the screen
or the resource that was asked, given the arguments of that request, as its user."""

from __future__ import annotations

import prison
from flask import current_app, g

from app.services import list_exports


def _find(kind: type, name_of) -> dict:
    return {name_of(view): view for view in current_app.appbuilder.baseviews
            if isinstance(view, kind)}


def _screen(run):
    from app.fab.crud import CrmModelView

    name = run.source.split(":", 1)[1]
    view = _find(CrmModelView, lambda view: view.__class__.__name__).get(name)
    if view is None:
        raise LookupError(f"no screen {name}")
    with current_app.test_request_context(query_string=run.arguments or {}):
        g.user = run.user
        return view.export_of_list()


def _resource(run):
    from app.fab.rest import CrmApi

    name = run.source.split(":", 1)[1]
    resource = _find(CrmApi, lambda view: view.resource_name).get(name)
    if resource is None:
        raise LookupError(f"no resource {name}")
    arguments = run.arguments or {}
    with current_app.test_request_context(query_string=arguments):
        g.user = run.user
        raw = (arguments.get("q") or [""])[0]
        return resource.export_of_list(prison.loads(raw) if raw else {})


def install() -> None:
    list_exports.register_source("screen", _screen)
    list_exports.register_source("api", _resource)
