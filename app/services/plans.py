"""R1: an open interest always has a planned interaction or task. Whatever changes an
interaction (a form, the API, an import, a command) is refused when it would leave its open
interest without one: completing, cancelling, deleting or moving away its last plan. The
sales commands (app.services.sales) plan the next one first, in the same unit of work, so
they pass.
"""

from __future__ import annotations

from typing import Any, Optional

from flask_babel import gettext
from sqlalchemy import func, inspect, select, update

from app.database import db
from app.models import Interaction, Interest
from app.services.errors import RuleBroken

NEXT_PLAN_REQUIRED = "next_plan_required"


def interest_key(interaction) -> Optional[int]:
    """The interest the interaction belongs to now, set as a relation or as its key."""
    state = inspect(interaction).dict
    if "interest" in state:
        return state["interest"].id if state["interest"] is not None else None
    return interaction.interest_id


def planned_count(interest_id: int, excluding: Optional[int] = None) -> int:
    """How many planned interactions the interest has (all of them, whoever sees them)."""
    query = select(func.count()).select_from(Interaction).where(
        Interaction.interest_id == interest_id, Interaction.status == "planned")
    if excluding is not None:
        query = query.where(Interaction.id != excluding)
    return db.session.execute(query).scalar()


def refuse_leaving_without_plan(interaction, before: dict[str, Any], *,
                                deleting: bool = False) -> None:
    """Raise RuleBroken (next_plan_required) when this change of `interaction` (its column
    values `before` it) takes the last plan away from an open interest."""
    if before.get("status") != "planned" or before.get("interest_id") is None:
        return
    interest_id = before["interest_id"]
    if not deleting and interaction.status == "planned" \
            and interest_key(interaction) == interest_id:
        return
    interest = db.session.get(Interest, interest_id)
    if interest is None or not interest.is_open:
        return
    if planned_count(interest_id, excluding=interaction.id) == 0:
        raise RuleBroken(NEXT_PLAN_REQUIRED, gettext(
            "This is the last planned interaction of the open interest \"%(interest)s\": "
            "plan the next one together with completing it, or close the interest.",
            interest=interest.title), {"next": [gettext("Plan the next interaction.")]})


def lonely_interests(interest_ids) -> set[int]:
    """Of these interests, the open ones with exactly one planned interaction: completing
    it needs the next plan (one statement)."""
    keys = sorted({key for key in interest_ids if key is not None})
    if not keys:
        return set()
    return set(db.session.execute(
        select(Interaction.interest_id).join(Interest, Interest.id == Interaction.interest_id)
        .where(Interaction.interest_id.in_(keys), Interaction.status == "planned",
               Interest.closed_at.is_(None))
        .group_by(Interaction.interest_id).having(func.count() == 1)).scalars())


# --- When an interest's next interaction is due ----------------------------------------------


def _first_planned():
    return (select(func.min(Interaction.planned_at))
            .where(Interaction.interest_id == Interest.id, Interaction.status == "planned")
            .correlate(Interest).scalar_subquery())


def refresh_next_at(interest_ids) -> None:
    """Set the interests' next_at from their planned interactions, in the current
    transaction. Written past the version counter: planning a call does not make the
    interest's card stale for someone who has it open."""
    keys = sorted({key for key in interest_ids if key is not None})
    if not keys:
        return
    session = db.session
    session.execute(update(Interest).where(Interest.id.in_(keys))
                    .values(next_at=_first_planned())
                    .execution_options(synchronize_session=False))
    for key in keys:
        loaded = session.identity_map.get(session.identity_key(Interest, key))
        if loaded is not None:
            session.expire(loaded, ["next_at"])


def refresh_every_next_at(session) -> None:
    """Every interest's next_at (after a bulk load that wrote interactions directly)."""
    session.execute(update(Interest).values(next_at=_first_planned())
                    .execution_options(synchronize_session=False))


def touched_interests(interaction, before: dict[str, Any] | None) -> set:
    """The interests whose next_at a change of `interaction` may move."""
    return {interest_key(interaction), (before or {}).get("interest_id")}
