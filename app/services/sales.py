"""The sales process of 1C:CRM as commands (DESIGN.md, R1–R4 and R7): creating an interest
with its first plan, moving it through the stages with the result of the current
interaction and the next plan, closing it as won or lost, reopening it, completing and
cancelling interactions, giving a potential client a client record, and processing
inquiries.

Screens, the REST API and jobs call these and nothing else to change an interest's stage
or closing (app.services.records refuses it otherwise). Each command is one unit of work:
when any part is refused, nothing of it is written. A refusal is a DomainError; those of
the process are RuleBroken with a `code` a program can rely on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from flask_babel import gettext
from sqlalchemy import select

from app.database import db
from app.models import (
    Client,
    Contact,
    DictionaryItem,
    Inquiry,
    Interaction,
    Interest,
    Pipeline,
    Stage,
    StageChange,
)
from app.services import access, actor, commands, custom_fields, notifications, records
from app.services.actor import current_user_id
from app.services.clock import utcnow
from app.services.errors import RecordInvalid, RuleBroken
from app.services.plans import NEXT_PLAN_REQUIRED
from app.services.unit_of_work import unit_of_work

RESULT_REQUIRED = "result_required"
LOST_REASON_REQUIRED = "lost_reason_required"
CLIENT_REQUIRED = "client_required"
INVALID_STAGE = "invalid_stage"
INTEREST_CLOSED = "interest_closed"
INTEREST_OPEN = "interest_open"
NOT_PLANNED = "not_planned"
HAS_CLIENT = "has_client"
INQUIRY_PROCESSED = "inquiry_processed"

OUTCOMES = ("won", "lost")

# The ways out of R4 a refusal offers: commands on the interest.
CLIENT_OFFERS = ("create_client", "link_client")


@dataclass(frozen=True)
class Plan:
    """The next planned interaction or task: what, when (naive UTC), of which type, with
    which contact person of the client."""

    subject: str
    planned_at: Optional[dt.datetime]
    type_id: Optional[int] = None
    contact_id: Optional[int] = None


def _session():
    return db.session


# --- Reading what the rules need -----------------------------------------------------------


def current_plan(interest) -> Optional[Interaction]:
    """The planned interaction of the interest due first that the user may change: the one
    a move or a close records the result of."""
    return _session().execute(
        access.readable(Interaction, action="edit")
        .where(Interaction.interest_id == interest.id, Interaction.status == "planned")
        .order_by(Interaction.planned_at, Interaction.id).limit(1)
    ).scalar()


def open_stages(pipeline_id: int) -> list[Stage]:
    return list(_session().execute(
        select(Stage).where(Stage.pipeline_id == pipeline_id, Stage.kind == "open")
        .order_by(Stage.sort, Stage.id)).scalars())


def default_pipeline() -> Optional[Pipeline]:
    return _session().execute(
        select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.sort, Pipeline.id)
        .limit(1)).scalar()


def stage_since(interest) -> Optional[dt.datetime]:
    """When the interest entered the stage it is in (UTC), from the stage history."""
    return _session().execute(
        select(StageChange.changed_at).where(StageChange.interest_id == interest.id)
        .order_by(StageChange.changed_at.desc(), StageChange.id.desc()).limit(1)
    ).scalar()


# --- The rules -----------------------------------------------------------------------------


def _require_open(interest) -> None:
    if not interest.is_open:
        raise RuleBroken(INTEREST_CLOSED, gettext(
            "The interest is closed. Reopen it first."))


def _require_closed(interest) -> None:
    if interest.is_open:
        raise RuleBroken(INTEREST_OPEN, gettext("The interest is open already."))


def _require_open_stage(interest, stage: Optional[Stage]) -> Stage:
    if stage is None:
        raise RecordInvalid({"stage": [gettext("This field is required.")]})
    pipeline_id = interest.pipeline.id if interest.pipeline is not None \
        else interest.pipeline_id
    if stage.pipeline_id != pipeline_id:
        raise RecordInvalid({"stage": [gettext("The stage belongs to another pipeline.")]})
    if stage.kind != "open":
        message = gettext("An interest is closed as won or lost with the close command, "
                          "which asks for the result and, when lost, the reason.")
        raise RuleBroken(INVALID_STAGE, message, {"stage": [message]})
    return stage


def require_client_for(interest, stage: Stage) -> None:
    """R4: a stage that requires a registered client refuses a potential client."""
    if stage.requires_client and interest.client is None and interest.client_id is None:
        message = gettext(
            "The stage \"%(stage)s\" requires a registered client, and this interest has "
            "only a potential client. Create a client from the interest or link an existing "
            "client, then move it again.", stage=stage.name)
        raise RuleBroken(CLIENT_REQUIRED, message, {"client": [message]},
                         offers=CLIENT_OFFERS)


def _require_result(current: Optional[Interaction], result: Optional[str]) -> None:
    if current is not None and not (result or "").strip():
        message = gettext("Describe the result of \"%(subject)s\".", subject=current.subject)
        raise RuleBroken(RESULT_REQUIRED, message, {"result": [message]})


def _require_plan(plan: Optional[Plan]) -> Plan:
    if plan is None:
        message = gettext("Plan the next interaction: its subject, date and time.")
        raise RuleBroken(NEXT_PLAN_REQUIRED, message, {"next": [message]})
    return plan


# --- Writing -------------------------------------------------------------------------------


def _plan(interest, plan: Optional[Plan], *, client=None, responsible=None) -> Interaction:
    """Plan the interest's next interaction, for its responsible (R1); without an interest,
    one with `client` for `responsible`."""
    plan = _require_plan(plan)
    if interest is not None:
        client, responsible = interest.client, interest.responsible
    session = _session()
    errors: dict[str, list[str]] = {}
    kind = session.get(DictionaryItem, plan.type_id) if plan.type_id is not None else None
    if plan.planned_at is None:
        errors["next.planned_at"] = [gettext("This field is required.")]
    if plan.type_id is not None and (kind is None or kind.kind != "interaction_type"):
        errors["next.type"] = [gettext("The chosen record does not exist.")]
    contact = session.execute(access.readable(Contact).where(
        Contact.id == plan.contact_id)).scalar() if plan.contact_id is not None else None
    if plan.contact_id is not None and (
            contact is None or client is None or contact.client_id != client.id):
        errors["next.contact"] = [gettext("Choose a contact person of the interest's client.")]
    if errors:
        raise RecordInvalid(errors)
    interaction = Interaction(subject=(plan.subject or "").strip(), planned_at=plan.planned_at,
                              status="planned", interest=interest, client=client,
                              contact=contact, type=kind, responsible=responsible)
    try:
        commands.create(interaction)
    except RecordInvalid as error:
        raise RecordInvalid({f"next.{field}": messages
                             for field, messages in error.errors.items()}) from None
    return interaction


def _record_result(interest, current: Optional[Interaction], result: Optional[str],
                   subject: str) -> None:
    """The result of the current plan; without one, a done interaction keeps the result."""
    result = (result or "").strip()
    if current is not None:
        def done(interaction):
            interaction.status, interaction.result = "done", result
            interaction.done_at = utcnow()
        commands.update(current, done)
    elif result:
        now = utcnow()
        commands.create(Interaction(subject=subject, status="done", result=result,
                                    planned_at=now, done_at=now, interest=interest,
                                    client=interest.client))


def _log(interest, action: str, from_stage: Optional[Stage], to_stage: Stage) -> None:
    session = _session()
    session.add(StageChange(
        interest=interest, action=action, changed_at=utcnow(), changed_by_id=current_user_id(),
        from_stage_id=from_stage.id if from_stage is not None else None,
        from_stage_name=from_stage.name if from_stage is not None else None,
        to_stage_id=to_stage.id, to_stage_name=to_stage.name))
    session.flush()


def _set_stage(interest, stage: Stage) -> None:
    interest.stage = stage
    interest.stage_id = stage.id


# --- Interests -----------------------------------------------------------------------------


def create_interest(interest, plan: Optional[Plan], fill=None) -> Interest:
    """R1: a new interest in an open stage, with its first planned interaction."""
    session = _session()
    # The new interest is not in the session yet, but may be in its client's interests:
    # reading must not flush it before it is checked.
    with unit_of_work(), records.by_command():
        with session.no_autoflush:
            if fill is not None:
                fill(interest)
            _require_plan(plan)
            if interest.pipeline is None and interest.pipeline_id is None:
                interest.pipeline = default_pipeline()
            stage = interest.stage
            if stage is None and interest.stage_id is not None:
                stage = session.get(Stage, interest.stage_id)
            pipeline_id = interest.pipeline.id if interest.pipeline is not None \
                else interest.pipeline_id
            if stage is None and pipeline_id is not None:
                stage = next(iter(open_stages(pipeline_id)), None)
            _require_open_stage(interest, stage)
            _set_stage(interest, stage)
            require_client_for(interest, stage)
        commands.create(interest)
        _plan(interest, plan)
        _log(interest, "create", None, stage)
    return interest


def move(interest, stage: Optional[Stage], *, result: Optional[str],
         plan: Optional[Plan], seen_version: Any = None,
         custom: Optional[dict] = None, custom_typed: bool = False) -> Interest:
    """R2: to another open stage, with the result of the current plan and the next plan;
    `custom`: the values of the custom fields the stage requires from it on (JSON, or text
    as typed in a form)."""
    with unit_of_work(), records.by_command():
        records.check_version(interest, seen_version)
        _require_open(interest)
        stage = _require_open_stage(interest, stage)
        if stage.id == interest.stage_id:
            message = gettext("The interest is in this stage already.")
            raise RuleBroken(INVALID_STAGE, message, {"stage": [message]})
        require_client_for(interest, stage)
        current = current_plan(interest)
        _require_result(current, result)
        _plan(interest, plan)
        _record_result(interest, current, result,
                       gettext("Moved to \"%(stage)s\"", stage=stage.name))
        from_stage = interest.stage

        def change(moved):
            _set_stage(moved, stage)
            if custom:
                custom_fields.write(moved, custom, typed=custom_typed)

        commands.update(interest, change)
        _log(interest, "move", from_stage, stage)
    return interest


def close(interest, outcome: str, *, result: Optional[str], reason_id: Optional[int] = None,
          seen_version: Any = None) -> Interest:
    """R3: won or lost, with the result of the current plan; lost with a reason."""
    session = _session()
    with unit_of_work(), records.by_command():
        records.check_version(interest, seen_version)
        _require_open(interest)
        if outcome not in OUTCOMES:
            raise RecordInvalid({"outcome": [gettext("Choose won or lost.")]})
        stage = session.execute(
            select(Stage).where(Stage.pipeline_id == interest.pipeline_id,
                                Stage.kind == outcome)
            .order_by(Stage.sort, Stage.id).limit(1)).scalar()
        if stage is None:
            raise RuleBroken(INVALID_STAGE, gettext(
                "The pipeline has no stage for this outcome; an administrator adds one."))
        reason = None
        if outcome == "lost":
            if reason_id is None:
                message = gettext("Choose why the interest was lost.")
                raise RuleBroken(LOST_REASON_REQUIRED, message, {"reason": [message]})
            reason = session.get(DictionaryItem, reason_id)
            if reason is None or reason.kind != "lost_reason":
                raise RecordInvalid({"reason": [gettext("The chosen record does not exist.")]})
        require_client_for(interest, stage)
        current = current_plan(interest)
        _require_result(current, result)
        from_stage = interest.stage

        def closed(interest):
            _set_stage(interest, stage)
            interest.closed_at = utcnow()
            interest.closed_by = actor.current_user()
            interest.lost_reason = reason

        commands.update(interest, closed)
        _record_result(interest, current, result,
                       gettext("Closed: \"%(stage)s\"", stage=stage.name))
        _log(interest, "close", from_stage, stage)
    return interest


def reopen(interest, plan: Optional[Plan], *, stage: Optional[Stage] = None,
           seen_version: Any = None) -> Interest:
    """R3: a closed interest back in an open stage (by default the one it was closed from),
    with a new plan."""
    with unit_of_work(), records.by_command():
        records.check_version(interest, seen_version)
        _require_closed(interest)
        if stage is None:
            stage = stage_before_closing(interest)
        stage = _require_open_stage(interest, stage)
        require_client_for(interest, stage)
        _require_plan(plan)
        from_stage = interest.stage

        def reopened(interest):
            _set_stage(interest, stage)
            interest.closed_at = interest.closed_by_id = interest.closed_by = None
            interest.lost_reason = None

        commands.update(interest, reopened)
        _plan(interest, plan)
        _log(interest, "reopen", from_stage, stage)
    return interest


def stage_before_closing(interest) -> Optional[Stage]:
    """The open stage a closed interest was closed from (else the pipeline's first)."""
    session = _session()
    last_open = session.execute(
        select(Stage).join(StageChange, StageChange.from_stage_id == Stage.id)
        .where(StageChange.interest_id == interest.id, StageChange.action == "close",
               Stage.kind == "open")
        .order_by(StageChange.changed_at.desc(), StageChange.id.desc()).limit(1)).scalar()
    return last_open or next(iter(open_stages(interest.pipeline_id)), None)


def create_client(interest, *, seen_version: Any = None) -> Client:
    """R4's first way out: a client (with a contact person) from the potential client's
    name, company, e-mail and phone, linked to the interest and its interactions."""
    with unit_of_work():
        records.check_version(interest, seen_version)
        if interest.client_id is not None:
            raise RuleBroken(HAS_CLIENT, gettext("The interest has a client already."))
        name = (interest.potential_name or "").strip()
        company = (interest.potential_company or "").strip()
        if not (name or company):
            message = gettext("Fill in the potential client's name or company first.")
            raise RuleBroken(CLIENT_REQUIRED, message, {"potential_name": [message]})
        client = Client(kind="company" if company else "person", name=company or name,
                        phone=interest.potential_phone, email=interest.potential_email,
                        responsible=interest.responsible)
        commands.create(client)
        if name:
            commands.create(Contact(client=client, name=name, phone=interest.potential_phone,
                                    email=interest.potential_email, is_key=True,
                                    responsible=interest.responsible))

        def linked(interest):
            interest.client = client
            interest.potential_name = interest.potential_company = None
            interest.potential_email = interest.potential_phone = None

        commands.update(interest, linked)
        _give_interactions(interest, client)
    return client


def link_client(interest, client: Optional[Client], *, seen_version: Any = None) -> Interest:
    """R4's second way out: an existing client the user can see becomes the interest's."""
    with unit_of_work():
        records.check_version(interest, seen_version)
        if client is None:
            raise RecordInvalid({"client": [gettext("The chosen record does not exist.")]})
        if interest.client_id is not None and interest.client_id != client.id:
            raise RuleBroken(HAS_CLIENT, gettext("The interest has a client already."))

        def linked(interest):
            interest.client = client

        commands.update(interest, linked)
        _give_interactions(interest, client)
    return interest


def _give_interactions(interest, client: Client) -> None:
    """The interest's interactions without a client that the user may change are now its
    client's."""
    for interaction in _session().execute(
            access.readable(Interaction, action="edit")
            .where(Interaction.interest_id == interest.id,
                   Interaction.client_id.is_(None))).scalars():
        commands.update(interaction, lambda i: setattr(i, "client", client))


# --- Interactions ---------------------------------------------------------------------------


def _require_planned(interaction) -> None:
    if interaction.status != "planned":
        raise RuleBroken(NOT_PLANNED, gettext("The interaction is not planned any more."))


def _plan_after(interaction, plan: Plan) -> Interaction:
    """The next plan after an interaction: for its interest, or with its client alone."""
    if interaction.interest is not None:
        return _plan(interaction.interest, plan)
    return _plan(None, plan, client=interaction.client, responsible=interaction.responsible)


# The longest time an interaction may be recorded to have taken: a day.
MAX_SPENT_MINUTES = 24 * 60


def _spent(spent_minutes: Any) -> Optional[int]:
    """The time spent as entered: whole minutes from 0 to a day, or None when not given."""
    if spent_minutes is None or spent_minutes == "":
        return None
    try:
        minutes = int(str(spent_minutes).strip())
    except (TypeError, ValueError):
        minutes = -1
    if not 0 <= minutes <= MAX_SPENT_MINUTES:
        raise RecordInvalid({"spent_minutes": [gettext(
            "Enter the time spent in whole minutes, from 0 to %(most)d.",
            most=MAX_SPENT_MINUTES)]})
    return minutes


def complete(interaction, *, result: Optional[str], plan: Optional[Plan] = None,
             done_at: Optional[dt.datetime] = None, seen_version: Any = None,
             spent_minutes: Any = None) -> Interaction:
    """Done, with its result and the time it took (`spent_minutes`; not given, its planned
    length when it has one). The last plan of an open interest needs the next (R1). A task
    a colleague gave is reported done to them (app.services.notifications)."""
    with unit_of_work():
        _require_planned(interaction)
        if not (result or "").strip():
            message = gettext("Describe the result.")
            raise RuleBroken(RESULT_REQUIRED, message, {"result": [message]})
        spent = _spent(spent_minutes)
        if plan is not None:
            _plan_after(interaction, plan)

        def done(interaction):
            interaction.status, interaction.result = "done", result.strip()
            interaction.done_at = done_at or utcnow()
            interaction.spent_minutes = spent if spent is not None \
                else interaction.spent_minutes or interaction.planned_minutes

        commands.update(interaction, done, seen_version=seen_version)
        notifications.tell_giver(interaction, "done")
    return interaction


def cancel(interaction, *, reason: Optional[str] = None, plan: Optional[Plan] = None,
           seen_version: Any = None) -> Interaction:
    """Not to be done, with why. The last plan of an open interest needs the next (R1)."""
    with unit_of_work():
        _require_planned(interaction)
        if plan is not None:
            _plan_after(interaction, plan)

        def cancelled(interaction):
            interaction.status = "cancelled"
            interaction.result = (reason or "").strip() or interaction.result

        commands.update(interaction, cancelled, seen_version=seen_version)
    return interaction


# --- Inquiries (R7) --------------------------------------------------------------------------


def _require_new(inquiries: Iterable[Inquiry]) -> None:
    done = [inquiry for inquiry in inquiries if inquiry.status != "new"]
    if done:
        raise RuleBroken(INQUIRY_PROCESSED, gettext(
            "Processed already: %(inquiries)s.",
            inquiries=", ".join(str(inquiry) for inquiry in done)))


def dismiss(inquiries: list[Inquiry], *, seen_version: Any = None) -> list[Inquiry]:
    """"Process without creating a task": one inquiry (at the version seen) or many."""
    with unit_of_work():
        _require_new(inquiries)
        for inquiry in inquiries:
            commands.update(inquiry, lambda i: setattr(i, "status", "processed"),
                            seen_version=seen_version if len(inquiries) == 1 else None)
    return inquiries


def convert(inquiry, interest: Interest, plan: Optional[Plan], *,
            new_client: Optional[Client] = None, contact: Optional[Contact] = None,
            seen_version: Any = None) -> Interest:
    """The intake wizard's end: the inquiry becomes an interest of a found client
    (`interest.client`), of a new client (`new_client`, with its `contact` person), or of
    a potential client (the sender, unless the interest names another)."""
    with unit_of_work():
        records.check_version(inquiry, seen_version)
        _require_new([inquiry])
        if new_client is not None:
            commands.create(new_client)
            if contact is not None:
                contact.client = new_client
                commands.create(contact)
            interest.client = new_client
        elif interest.client is None and interest.client_id is None and not (
                interest.potential_name or interest.potential_company):
            interest.potential_name = inquiry.sender_name
            interest.potential_company = inquiry.sender_company
            interest.potential_phone = inquiry.sender_phone
            interest.potential_email = inquiry.sender_email
        if not interest.description and inquiry.text:
            interest.description = inquiry.text
        create_interest(interest, plan)

        def converted(inquiry):
            inquiry.status, inquiry.interest = "converted", interest
            inquiry.client = interest.client

        commands.update(inquiry, converted)
    return interest


def link(inquiry, interest: Optional[Interest], *, seen_version: Any = None) -> Inquiry:
    """The inquiry is about an interest that exists already: it joins it."""
    with unit_of_work():
        records.check_version(inquiry, seen_version)
        _require_new([inquiry])
        if interest is None:
            raise RecordInvalid({"interest": [gettext("The chosen record does not exist.")]})

        def linked(inquiry):
            inquiry.status, inquiry.interest = "linked", interest
            inquiry.client = interest.client

        commands.update(inquiry, linked)
    return inquiry
