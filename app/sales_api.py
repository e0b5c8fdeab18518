"""The sales process in the REST API: the commands of app.services.sales on the interest,
interaction and inquiry resources, with the bodies integrators rely on.

    POST /api/v1/interest/          the first plan as `next`, refused without it
    POST /api/v1/interest/<id>/move           stage, result, next, version
    POST /api/v1/interest/<id>/close          outcome (won | lost), result, reason, version
    POST /api/v1/interest/<id>/reopen         next, stage (optional), version
    POST /api/v1/interest/<id>/create_client  version
    POST /api/v1/interest/<id>/link_client    client, version
    POST /api/v1/interaction/<id>/complete    result, spent_minutes, next (when it is the last
                                              plan), version
    POST /api/v1/interaction/<id>/cancel      reason, next (when it is the last plan), version
    GET  /api/v1/interaction/<id>/participants
    POST /api/v1/interaction/<id>/participants  users, contacts (ids), version
    POST /api/v1/inquiry/<id>/dismiss         version
    POST /api/v1/inquiry/dismiss              ids
    POST /api/v1/inquiry/<id>/convert         interest, next, new_client, contact, version
    POST /api/v1/inquiry/<id>/link            interest, version

The version may come as `If-Match` instead. A refusal is JSON with a machine-readable
`code` and a message in the user's language (app.fab.rest); 409 when the version is stale.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, Optional

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields, validate

from app.database import db
from app.entities import BY_MODEL
from app.fab.api_fields import UtcDateTime, utc_iso
from app.fab.datamodel import CrmInterface
from app.fab.rest import CrmSchemaConverter, invalid
from app.models import Client, Contact, Interest, Stage
from app.screens.board import filters_from_request
from app.services import (
    access,
    board,
    calendar,
    client_search,
    commands,
    duplicates,
    my_tasks,
    records,
    sales,
)
from app.services.errors import DomainError

# A record's id: what an integer key column holds, so that no database is asked for more.
KEY_RANGE = validate.Range(min=1, max=2**31 - 1)


def _key(**kwargs):
    return fields.Integer(validate=KEY_RANGE, **kwargs)


class PlanSchema(Schema):
    """The next planned interaction (R1): what, when, of which type, with whom."""

    subject = fields.String(required=True, validate=validate.Length(min=1, max=255))
    planned_at = UtcDateTime(required=True, metadata={
        "description": "ISO 8601; a time without an offset is UTC"})
    type = _key(allow_none=True, metadata={
        "description": "An interaction type (directory item) id"})
    contact = _key(allow_none=True, metadata={
        "description": "A contact person of the interest's client"})


def _version():
    return fields.Integer(allow_none=True, metadata={
        "description": "The version read; or send If-Match"})


class MoveSchema(Schema):
    stage = _key(required=True)
    result = fields.String(allow_none=True, metadata={
        "description": "The result of the current planned interaction"})
    next = fields.Nested(PlanSchema, allow_none=True)
    custom = fields.Dict(allow_none=True, metadata={
        "description": "Custom fields the stage requires from it on, by code"})
    version = _version()


class CloseSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(sales.OUTCOMES))
    result = fields.String(allow_none=True)
    reason = _key(allow_none=True, metadata={
        "description": "A lost reason (directory item) id; required when lost"})
    version = _version()


class ReopenSchema(Schema):
    stage = _key(allow_none=True, metadata={
        "description": "An open stage; by default the one it was closed from"})
    next = fields.Nested(PlanSchema, allow_none=True)
    version = _version()


class VersionSchema(Schema):
    version = _version()


class LinkClientSchema(Schema):
    client = _key(required=True)
    version = _version()


class CompleteSchema(Schema):
    result = fields.String(allow_none=True)
    spent_minutes = fields.Integer(allow_none=True, validate=validate.Range(
        min=0, max=sales.MAX_SPENT_MINUTES), metadata={
        "description": "How long it took, minutes; by default its planned length"})
    next = fields.Nested(PlanSchema, allow_none=True)
    version = _version()


class ParticipantsSchema(Schema):
    users = fields.List(_key(), load_default=list, validate=validate.Length(max=200),
                        metadata={"description": "Employees taking part besides the "
                                                 "responsible"})
    contacts = fields.List(_key(), load_default=list, validate=validate.Length(max=200),
                           metadata={"description": "Contact persons of its client"})
    version = _version()


class CancelSchema(Schema):
    reason = fields.String(allow_none=True, metadata={"description": "Why it is cancelled"})
    next = fields.Nested(PlanSchema, allow_none=True)
    version = _version()


class DismissManySchema(Schema):
    ids = fields.List(_key(), required=True, validate=validate.Length(min=1, max=500))


class ConvertSchema(Schema):
    interest = fields.Dict(required=True, metadata={
        "description": "The new interest, as POST /api/v1/interest/ takes it, without next"})
    next = fields.Nested(PlanSchema, allow_none=True)
    new_client = fields.Dict(allow_none=True, metadata={
        "description": "A new client, as POST /api/v1/client/ takes it"})
    contact = fields.Dict(allow_none=True, metadata={
        "description": "Its contact person, as POST /api/v1/contact/ takes it, without client"})
    version = _version()


class LinkSchema(Schema):
    interest = _key(required=True)
    version = _version()


COMMAND_SCHEMAS = (PlanSchema, MoveSchema, CloseSchema, ReopenSchema, VersionSchema,
                   LinkClientSchema, CompleteSchema, CancelSchema, DismissManySchema,
                   ConvertSchema, LinkSchema)


def plan_of(data: Optional[dict]) -> Optional[sales.Plan]:
    if not data:
        return None
    return sales.Plan(subject=data["subject"], planned_at=data["planned_at"],
                      type_id=data.get("type"), contact_id=data.get("contact"))


def _get(model, key):
    """The record `key` of `model`, if the user may see it (stages are everyone's)."""
    if key is None:
        return None
    if model is Stage:
        return db.session.get(Stage, key)
    return db.session.execute(access.readable(model).where(model.id == key)).scalar()


def command_spec(ok: str, body: type[Schema], *, required: bool = True, on_record: bool = True,
                 stale: bool = True):
    """Writes a command's OpenAPI spec after its docstring: the record's id in the path
    (`on_record`), the body `body` describes, and the answers (409 when it takes a
    version)."""
    path = """
  parameters:
  - in: path
    schema:
      type: integer
    name: pk""" if on_record else ""
    conflict = """
    409:
      description: The record was changed by someone else since it was read""" if stale else ""
    must = "\n    required: true" if required else ""

    def document(function):
        function.__doc__ = f"""{function.__doc__.rstrip()}
---
post:{path}
  requestBody:{must}
    content:
      application/json:
        schema:
          $ref: '#/components/schemas/{body.__name__}'
  responses:
    200:
      description: {ok}
    400:
      $ref: '#/components/responses/400'
    401:
      $ref: '#/components/responses/401'
    404:
      $ref: '#/components/responses/404'{conflict}
    422:
      $ref: '#/components/responses/422'
"""
        return function
    return document


class CommandsMixin:
    """What every resource with commands does: read the body with a command's schema,
    find the record the user may change, run the command, answer the record."""

    openapi_spec_component_schemas = COMMAND_SCHEMAS

    def _body(self, schema: type[Schema]) -> dict:
        data = self._json_body()
        if data is None:
            data = {} if not request.get_data() else None
        if data is None:
            raise _BadRequest(gettext("The request body must be a JSON object."))
        loaded = schema().load(data)
        if_match = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
        if if_match:
            loaded["version"] = if_match
        return loaded

    def _command(self, pk, schema: type[Schema], run, *, action: str = "edit",
                 represent=None):
        """Run `run(record, body)` on the record `pk` the user may `action`; answer it
        (as `represent(record)` says, by default as the resource shows it)."""
        item = self.datamodel.get(pk, self._base_filters, action=action)
        if not item:
            return self.response_404()
        try:
            body = self._body(schema)
            answer = run(item, body)
        except _BadRequest as error:
            return self.response_400(message=str(error))
        except ValidationError as error:
            return invalid(error.messages)
        except DomainError as error:
            return self._error(error)
        record = answer if answer is not None else item
        if represent is not None:
            return self.response(200, **represent(record))
        return self.response(200, result=self.show_model_schema.dump(record),
                             id=record.id, version=getattr(record, "version", None))


class _BadRequest(Exception):
    pass


# --- Clients --------------------------------------------------------------------------------


def _employee(user) -> Optional[dict]:
    return None if user is None else {"id": user.id, "name": str(user)}


class ClientSearch:
    """GET /api/v1/client/search?q=…: the client search of the intake wizard; and R8's
    confirmation on POST and PUT: `"confirm_duplicates": true` saves a client whose phone
    or e-mail repeats another's."""

    command_fields = update_fields = ("confirm_duplicates",)

    def create_item(self, item, extras: dict[str, Any]) -> None:
        with self.change_context(extras):
            commands.create(item, self.pre_add)

    def change_context(self, extras: dict[str, Any]):
        if extras.get("confirm_duplicates") is True:
            return duplicates.confirmed()
        return nullcontext()

    @expose("/search", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def search(self):
        """Find clients by any word of the name, INN, phone in any format (or its last
        digits), e-mail or its domain, and the phones and e-mails of their contact persons;
        with their open interests.
        ---
        get:
          parameters:
          - {in: query, name: q, required: true, schema: {type: string, maxLength: 200}}
          responses:
            200:
              description: The clients found (at most 20), by name
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result:
                        type: array
                        items:
                          type: object
                          properties:
                            id: {type: integer}
                            name: {type: string}
                            inn: {type: string, nullable: true}
                            phone: {type: string, nullable: true}
                            email: {type: string, nullable: true}
                            open_interests: {type: array, items: {type: object}}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        term = request.args.get("q", "")
        if len(term) > 200:
            return self.response_400(message=gettext("The search term is too long."))
        found = client_search.find_clients(term)
        return self.response(200, result=[{
            "id": item.client.id, "name": item.client.name, "inn": item.client.inn,
            "phone": item.client.phone, "email": item.client.email,
            "responsible": _employee(item.client.responsible),
            "open_interests": [{"id": interest.id, "title": interest.title,
                                "stage": str(interest.stage), "amount": str(interest.amount)}
                               for interest in item.open_interests]} for item in found])


# --- Interests ------------------------------------------------------------------------------


class InterestCommands(CommandsMixin):
    command_fields = ("next",)

    def create_item(self, item, extras: dict[str, Any]) -> None:
        plan = plan_of(PlanSchema().load(extras["next"])) if extras.get("next") else None
        sales.create_interest(item, plan, self.pre_add)

    @expose("/<int:pk>/move", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Moved", MoveSchema)
    def move(self, pk):
        """Move an interest to another open stage (R2): the result of its current planned
        interaction and the next plan, in one transaction.
        """
        return self._command(pk, MoveSchema, lambda interest, body: sales.move(
            interest, _get(Stage, body["stage"]) or _missing("stage"),
            result=body.get("result"), plan=plan_of(body.get("next")),
            seen_version=body.get("version"), custom=body.get("custom")))

    @expose("/<int:pk>/close", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Closed", CloseSchema)
    def close(self, pk):
        """Close an interest as won or lost (R3): the result of its current planned
        interaction and, when lost, the reason.
        """
        return self._command(pk, CloseSchema, lambda interest, body: sales.close(
            interest, body["outcome"], result=body.get("result"), reason_id=body.get("reason"),
            seen_version=body.get("version")))

    @expose("/<int:pk>/reopen", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Reopened", ReopenSchema)
    def reopen(self, pk):
        """Reopen a closed interest in an open stage, with a new plan (R3).
        """
        def run(interest, body):
            stage = _get(Stage, body.get("stage")) or (
                _missing("stage") if body.get("stage") is not None else None)
            return sales.reopen(interest, plan_of(body.get("next")), stage=stage,
                                seen_version=body.get("version"))
        return self._command(pk, ReopenSchema, run)

    @expose("/<int:pk>/create_client", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("The client is created and linked", VersionSchema, required=False)
    def create_client(self, pk):
        """Register the potential client of an interest as a client with a contact person
        (R4), and link it.
        """
        def run(interest, body):
            sales.create_client(interest, seen_version=body.get("version"))
            return interest
        return self._command(pk, VersionSchema, run)

    @expose("/<int:pk>/link_client", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Linked", LinkClientSchema)
    def link_client(self, pk):
        """Link an existing client to an interest with a potential client (R4).
        """
        return self._command(pk, LinkClientSchema, lambda interest, body: sales.link_client(
            interest, _get(Client, body["client"]) or _missing("client"),
            seen_version=body.get("version")))


def _missing(field: str):
    raise records.RecordInvalid({field: [gettext("The chosen record does not exist.")]})


# --- Interactions ---------------------------------------------------------------------------


class InteractionCommands(CommandsMixin):
    def create_item(self, item, extras: dict[str, Any]) -> None:
        """A new interaction; one of no interest for a colleague is a task given to them
        (app.services.my_tasks): its giver follows it."""
        def fill(interaction):
            self.pre_add(interaction)
            my_tasks.mark_given(interaction)

        commands.create(item, fill)

    @expose("/<int:pk>/complete", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Done", CompleteSchema)
    def complete(self, pk):
        """Complete a planned interaction with its result; the last plan of an open
        interest needs the next one (R1).
        """
        return self._command(pk, CompleteSchema, lambda interaction, body: sales.complete(
            interaction, result=body.get("result"), plan=plan_of(body.get("next")),
            spent_minutes=body.get("spent_minutes"), seen_version=body.get("version")))

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Cancelled", CancelSchema, required=False)
    def cancel(self, pk):
        """Cancel a planned interaction; the last plan of an open interest needs the next
        one (R1).
        """
        return self._command(pk, CancelSchema, lambda interaction, body: sales.cancel(
            interaction, reason=body.get("reason"), plan=plan_of(body.get("next")),
            seen_version=body.get("version")))


    @expose("/<int:pk>/participants", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("The participants are set", ParticipantsSchema, required=False)
    def participants(self, pk):
        """Set who takes part in a meeting besides its responsible, employees and contact
        persons of its client, by id (those not named leave); the answer's `participants`
        and `busy`, whom its time finds busy (a warning: the meeting is saved).
        """
        return self._command(pk, ParticipantsSchema, lambda interaction, body: (
            calendar.change_participants(interaction, body["users"], body["contacts"],
                                         seen_version=body.get("version"))),
            represent=_participants)

    @expose("/<int:pk>/participants", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def get_participants(self, pk):
        """Who takes part in an interaction besides its responsible, and whom its time
        finds busy.
        ---
        get:
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: The participants
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      id: {type: integer}
                      version: {type: integer}
                      participants:
                        type: object
                        properties:
                          users: {type: array, items: {type: integer}}
                          contacts: {type: array, items: {type: integer}}
                      busy: {type: array, items: {type: string}}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        item = self.datamodel.get(pk, self._base_filters, action="read")
        if not item:
            return self.response_404()
        return self.response(200, **_participants(item))


def _participants(interaction) -> dict:
    return {"id": interaction.id, "version": interaction.version,
            "participants": {
                "users": [p.user_id for p in interaction.participants if p.user_id],
                "contacts": [p.contact_id for p in interaction.participants if p.contact_id]},
            "busy": [calendar.describe(clash) for clash in calendar.clashes_of(interaction)]}


# --- Inquiries ------------------------------------------------------------------------------


class InquiryCommands(CommandsMixin):
    @expose("/<int:pk>/dismiss", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Processed", VersionSchema, required=False)
    def dismiss(self, pk):
        """Process an inquiry without creating a task (R7).
        """
        return self._command(pk, VersionSchema, lambda inquiry, body: sales.dismiss(
            [inquiry], seen_version=body.get("version"))[0])

    @expose("/dismiss", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Processed", DismissManySchema, on_record=False, stale=False)
    def dismiss_many(self):
        """Process many inquiries without creating tasks (R7): all of them or none.
        """
        try:
            body = self._body(DismissManySchema)
        except _BadRequest as error:
            return self.response_400(message=str(error))
        except ValidationError as error:
            return invalid(error.messages)
        ids = list(dict.fromkeys(body["ids"]))
        inquiries = [self.datamodel.get(pk, self._base_filters, action="edit") for pk in ids]
        if not all(inquiries):
            db.session.rollback()
            return self.response_404()
        try:
            sales.dismiss(inquiries)
        except DomainError as error:
            return self._error(error)
        return self.response(200, ids=ids)

    @expose("/<int:pk>/convert", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("The interest is created; the inquiry links to it", ConvertSchema)
    def convert(self, pk):
        """Turn an inquiry into an interest (the intake wizard, R7): of a found client
        (`interest.client`), of a new client (`new_client` with its `contact`), or of a
        potential client (the sender, unless the interest names another).
        """
        def run(inquiry, body):
            interest = self._load_as(Interest, body["interest"], "interest")
            new_client = contact = None
            if body.get("new_client"):
                new_client = self._load_as(Client, body["new_client"], "new_client")
            if body.get("contact"):
                contact = self._load_as(Contact, body["contact"], "contact")
            sales.convert(inquiry, interest, plan_of(body.get("next")),
                          new_client=new_client, contact=contact,
                          seen_version=body.get("version"))
            return inquiry
        return self._command(pk, ConvertSchema, run)

    @expose("/<int:pk>/link", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    @command_spec("Linked", LinkSchema)
    def link(self, pk):
        """Link an inquiry to an interest that exists already (R7).
        """
        return self._command(pk, LinkSchema, lambda inquiry, body: sales.link(
            inquiry, _get(Interest, body["interest"]) or _missing("interest"),
            seen_version=body.get("version")))

    @staticmethod
    def _load_as(model, data: dict, name: str):
        """A new record from `data`, read as the model's own resource reads it."""
        try:
            return _add_schema(model)().load(data)
        except ValidationError as error:
            raise ValidationError({name: error.messages}) from None


_ADD_SCHEMAS: dict[type, type[Schema]] = {}


def _add_schema(model) -> type[Schema]:
    """The schema POST /api/v1/<model>/ reads a new record with (a contact's without its
    client, which the command gives it)."""
    if model not in _ADD_SCHEMAS:
        entity = BY_MODEL[model]
        columns = [name for name in entity.api_columns
                   if not (model is Contact and name == "client")]
        converter = CrmSchemaConverter(CrmInterface(model), {})
        _ADD_SCHEMAS[model] = type(converter.convert(columns, nested=False))
    return _ADD_SCHEMAS[model]


# --- The board ---------------------------------------------------------------------------------


def _card(card: board.Card) -> dict:
    return {"id": card.id, "kind": card.kind, "title": card.title, "client": card.client,
            "client_id": card.client_id, "amount": str(card.amount),
            "currency": card.currency, "next_at": utc_iso(card.next_at),
            "next_subject": card.next_subject, "color": card.color, "flagged": card.flagged,
            "days_in_stage": card.days_in_stage, "over_limit": card.over_limit,
            "closed_at": utc_iso(card.closed_at), "version": card.version,
            "custom": {code: stored for code, _label, _text, stored in card.custom}}


def _column(column: board.Column) -> dict:
    return {"key": column.key, "title": column.title, "kind": column.kind,
            "stage": column.stage.id if column.stage is not None else None,
            "count": column.count, "sum": str(column.sum), "weighted": str(column.weighted),
            "more": column.more, "cards": [_card(card) for card in column.cards]}


class KanbanApi(BaseApi):
    """The board "My sales" as JSON: what the page shows, for integrations."""

    resource_name = "kanban"
    method_permission_name = {"kanban": "get"}
    allow_browser_login = True
    openapi_spec_tag = "Kanban"

    @expose("", methods=["GET"])
    @protect()
    @safe
    def kanban(self):
        """The board: columns with their totals and first cards, colour by R5.
        ---
        get:
          parameters:
          - {in: query, name: pipeline, schema: {type: integer},
             description: "A pipeline; by default the default one"}
          - {in: query, name: depth, schema: {type: string,
             enum: [all, today, 3days, week, month]}}
          - {in: query, name: client, schema: {type: integer}}
          - {in: query, name: service_type, schema: {type: integer}}
          - {in: query, name: tag, schema: {type: integer}}
          - {in: query, name: manager, schema: {type: integer}}
          - {in: query, name: overdue_last, schema: {type: integer, enum: [0, 1]}}
          - {in: query, name: column, schema: {type: string},
             description: "With offset: the next cards of this column only"}
          - {in: query, name: offset, schema: {type: integer, minimum: 0}}
          responses:
            200:
              description: The board
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      pipeline: {type: object, nullable: true}
                      columns:
                        type: array
                        items:
                          type: object
                          properties:
                            key: {type: string}
                            title: {type: string}
                            count: {type: integer}
                            sum: {type: string}
                            weighted: {type: string}
                            cards:
                              type: array
                              items:
                                type: object
                                properties:
                                  id: {type: integer}
                                  title: {type: string}
                                  client: {type: string}
                                  amount: {type: string}
                                  next_at: {type: string, nullable: true}
                                  color: {type: string, enum: [red, yellow, green]}
                                  flagged: {type: boolean}
                                  custom: {type: object, description: "The custom fields
                                    shown on the board's cards, by code"}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        filters = filters_from_request()
        column_key = request.args.get("column")
        if column_key:
            offset = max(0, request.args.get("offset", 0, type=int) or 0)
            column = board.more_cards(filters, column_key, offset)
            if column is None:
                return self.response_404()
            return self.response(200, columns=[_column(column)])
        result = board.board(filters)
        pipeline = None if result.pipeline is None else {
            "id": result.pipeline.id, "name": result.pipeline.name}
        return self.response(200, pipeline=pipeline,
                             columns=[_column(column) for column in result.columns])
