"""R1: an open interest always has a planned interaction or task. Whatever changes an
interaction (a form, the API, an import, a command) is refused when it would leave its open
interest without one: completing, cancelling, deleting or moving away its last plan. The
sales commands (app.services.sales) plan the next one first, in the same unit of work, so
they pass.
"""

from __future__ import annotations

from typing import Any, Optional

from flask_babel import gettext
from sqlalchemy import func, inspect, select

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
