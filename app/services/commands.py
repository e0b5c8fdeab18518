"""The commands every change of a record goes through, whoever asks: a screen, the API,
the CLI, an import or a job. Each parses nothing and renders nothing: it takes the record
and the change, and in one unit of work checks the version the user saw, applies the
change, authorises it against the access rules, validates and writes it. It commits once
at its end or leaves nothing (app.services.unit_of_work); a command called inside another
joins its transaction.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from app.services import access, records
from app.services.errors import Conflict
from app.services.unit_of_work import unit_of_work

Change = Optional[Callable[[Any], None]]


def create(obj, fill: Change = None) -> Any:
    """Add a new record: `fill(obj)` sets its fields; the user who acts owns it unless it
    names an owner they may give it to."""
    # The new record may already hang off a saved one (a client's interests): reading must
    # not flush it before it is checked.
    with unit_of_work() as session:
        with session.no_autoflush:
            if fill is not None:
                fill(obj)
            access.assign_default_owner(obj)
            access.authorize_save(obj, is_new=True)
        records.stage(obj, is_new=True)
    return obj


def update(obj, change: Change = None, *, seen_version: Any = None) -> Any:
    """Change a record the user has read at `seen_version` (None: not checked): `change(obj)`
    applies the new values. A new owner or a new link is authorised against what the record
    had before."""
    previous_owner = access.owner_of(obj)
    previous_links = access.links_of(obj)
    before = records.snapshot(obj)
    with unit_of_work():
        records.check_version(obj, seen_version)
        if change is not None:
            change(obj)
        access.authorize_save(obj, is_new=False, previous_owner=previous_owner,
                              previous_links=previous_links)
        records.stage(obj, is_new=False, before=before)
    return obj


def delete(obj, before: Change = None) -> None:
    """Delete a record nothing else refers to; `before(obj)` runs first, in the same unit."""
    with unit_of_work(refusal=Conflict):
        if before is not None:
            before(obj)
        records.stage_delete(obj)
