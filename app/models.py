"""The CRM schema.

Every CRM record carries audit columns (who created and changed it, and when) that the
application sets in a session hook, never a form, and a `version` that SQLAlchemy checks
on every UPDATE, so a stale save fails instead of overwriting someone else's change.
Times are stored as naive UTC; money is Numeric.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def SearchString(length: int) -> String:
    """A normalised copy of a text column for indexed prefix search.

    PostgreSQL compares it byte-wise ("C" collation) so that `>=`/`<` ranges and
    `LIKE 'x%'` can use a plain b-tree index whatever the database locale is.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


# --- Choices -----------------------------------------------------------------------------

CLIENT_KINDS = {"company": _l("Company"), "person": _l("Person")}
INQUIRY_CHANNELS = {
    "call": _l("Call"),
    "email": _l("E-mail"),
    "web": _l("Web form"),
    "messenger": _l("Messenger"),
    "visit": _l("Visit"),
}
INQUIRY_STATUSES = {
    "new": _l("New"),
    "processed": _l("Processed"),
    "converted": _l("Converted"),
    "linked": _l("Linked"),
}
STAGE_KINDS = {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}
INTERACTION_STATUSES = {
    "planned": _l("Planned"),
    "done": _l("Done"),
    "cancelled": _l("Cancelled"),
}
REQUISITES_TEMPLATES = {"company": _l("Company"), "ip": _l("Sole proprietor")}
DICTIONARY_KINDS = {
    "source": _l("Sources"),
    "contact_type": _l("Contact types"),
    "industry": _l("Industries"),
    "company_size": _l("Company sizes"),
    "deal_type": _l("Deal types"),
    "inquiry_type": _l("Inquiry types"),
    "interaction_type": _l("Interaction types"),
    "lost_reason": _l("Lost reasons"),
    "service_type": _l("Service types"),
    "tag": _l("Tags"),
    "call_status": _l("Call statuses"),
    "resource": _l("Resources"),
}
CURRENCIES = {"RUB": "RUB", "USD": "USD", "EUR": "EUR", "CNY": "CNY"}


# --- Mixins ------------------------------------------------------------------------------

CUSTOM_VALUES = JSON().with_variant(JSONB(), "postgresql")


class AuditMixin:
    """Created/changed by and at. Filled by app.services.audit, never by a form or the API."""

    created_on: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    changed_on: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    @declared_attr
    def created_by_fk(cls) -> Mapped[Optional[int]]:
        return mapped_column(Integer, ForeignKey("ab_user.id"), nullable=True)

    @declared_attr
    def changed_by_fk(cls) -> Mapped[Optional[int]]:
        return mapped_column(Integer, ForeignKey("ab_user.id"), nullable=True)

    @declared_attr
    def created_by(cls):
        return relationship("CrmUser", foreign_keys=[cls.created_by_fk], lazy="select")

    @declared_attr
    def changed_by(cls):
        return relationship("CrmUser", foreign_keys=[cls.changed_by_fk], lazy="select")


class VersionedMixin(AuditMixin):
    """Optimistic locking: UPDATE ... WHERE version = :seen, then version + 1."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}


class CustomValuesMixin:
    """The values of the record's custom fields (app.services.custom_fields), keyed by the
    field's code: `{"contract_no": 42}`. JSONB on PostgreSQL, so that a filterable field's
    expression index serves its filter."""

    custom: Mapped[Optional[dict]] = mapped_column(CUSTOM_VALUES, nullable=True)


# Who made and changed a record and when, stamped by app.services.audit.
AUDIT_STAMPS = ("created_on", "changed_on", "created_by_fk", "changed_by_fk")
# Columns no form or API request writes.
AUDIT_COLUMNS = (*AUDIT_STAMPS, "created_by", "changed_by", "version", "id")


# --- Organisation ------------------------------------------------------------------------


class Department(AuditMixin, Model):
    __tablename__ = "crm_department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), nullable=False)
    parent_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_department.id", ondelete="RESTRICT"), index=True
    )
    head_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), index=True)
    activity_norm: Mapped[int] = mapped_column(Integer, nullable=False, default=48)

    parent = relationship("Department", remote_side=[id], back_populates="children")
    children = relationship("Department", back_populates="parent")
    head = relationship("CrmUser", foreign_keys=[head_id])
    members = relationship(
        "CrmUser", foreign_keys="CrmUser.department_id", back_populates="department"
    )
    roles = relationship("Role", secondary="crm_department_role")

    def __str__(self) -> str:
        return self.name


class CrmUser(User):
    """FAB's user with the department, position and phone of an employee."""

    __tablename__ = "ab_user"

    # Bumped by logout, deactivation and a password change: every session cookie and API
    # token issued before is void (app.web.auth).
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                               server_default="0")

    department_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_department.id", ondelete="SET NULL"), nullable=True, index=True
    )
    position: Mapped[Optional[str]] = mapped_column(String(150))
    phone: Mapped[Optional[str]] = mapped_column(String(40))

    department = relationship(
        "Department", foreign_keys=[department_id], back_populates="members"
    )

    def __str__(self) -> str:
        full = f"{self.first_name or ''} {self.last_name or ''}".strip()
        return full or self.username


class DictionaryItem(AuditMixin, Model):
    """One table for every reference list; `kind` says which list a row belongs to."""

    __tablename__ = "crm_dictionary_item"
    __table_args__ = (
        UniqueConstraint("kind", "code", name="uq_dictionary_kind_code"),
        Index("ix_dictionary_kind_sort", "kind", "sort", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    code: Mapped[str] = mapped_column(String(60), nullable=False)
    name: Mapped[str] = mapped_column(String(150), nullable=False)
    sort: Mapped[int] = mapped_column(Integer, nullable=False, default=100)
    color: Mapped[Optional[str]] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_system: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    def __str__(self) -> str:
        return self.name


def dictionary(column, kind: str):
    """A many-to-one link to the items of one directory (`kind`)."""
    return relationship("DictionaryItem", foreign_keys=[column],
                        info={"dictionary_kind": kind})


def dictionary_list(table, kind: str):
    """A many-to-many link to the items of one directory, through `table`."""
    return relationship("DictionaryItem", secondary=table, info={"dictionary_kind": kind})


client_tag = Table(
    "crm_client_tag",
    Model.metadata,
    Column("client_id", ForeignKey("crm_client.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("crm_dictionary_item.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)

interest_tag = Table(
    "crm_interest_tag",
    Model.metadata,
    Column("interest_id", ForeignKey("crm_interest.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("crm_dictionary_item.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)


# --- Access rights -----------------------------------------------------------------------

department_role = Table(
    "crm_department_role",
    Model.metadata,
    Column("department_id", ForeignKey("crm_department.id", ondelete="CASCADE"),
           primary_key=True),
    Column("role_id", ForeignKey("ab_role.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class RoleRight(Model):
    """One cell of a role's rights matrix: on `entity`, `action` is allowed within `scope`.

    Scopes (app.services.access): 0 none, 1 own, 2 own department,
    3 department and sub-departments, 4 all.
    """

    __tablename__ = "crm_role_right"
    __table_args__ = (UniqueConstraint("role_id", "entity", "action", name="uq_role_right"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("ab_role.id", ondelete="CASCADE"),
                                         nullable=False)
    entity: Mapped[str] = mapped_column(String(30), nullable=False)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    scope: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class RoleInfo(Model):
    """What a role is for, in the administrator's words (FAB's role has only a name)."""

    __tablename__ = "crm_role_info"

    role_id: Mapped[int] = mapped_column(ForeignKey("ab_role.id", ondelete="CASCADE"),
                                         primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(String(255), nullable=False, default="")


class LoginFailure(Model):
    """One failed login (app.web.throttle): the login throttle counts these per user, per
    address and per user and address, in a moving window. Kept in the database so that
    every web process counts the same attempts; rows older than the longest window are
    deleted as new ones come. The user and the address are stored as hashes."""

    __tablename__ = "crm_login_failure"
    __table_args__ = (
        Index("ix_login_failure_user", "user_key", "failed_at"),
        Index("ix_login_failure_address", "address_key", "failed_at"),
        Index("ix_login_failure_time", "failed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    user_key: Mapped[Optional[str]] = mapped_column(String(64))
    address_key: Mapped[str] = mapped_column(String(64), nullable=False)


class CacheStamp(Model):
    """A single row whose version rises with every change of users, rights or directories
    (app.services.stamp): what processes keep between requests is checked against it."""

    __tablename__ = "crm_cache_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class ListPosition(Model):
    """A stretch of a big list in its default order (app.services.positions): the key it
    starts at and how many rows it held when the summary was built or last compacted."""

    __tablename__ = "crm_list_position"

    list_name: Mapped[str] = mapped_column(String(30), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start_key: Mapped[str] = mapped_column(SearchString(255), nullable=False)
    start_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        Index("ix_list_position_start", "list_name", "start_key", "start_id", unique=True),
    )


class ListPositionChange(Model):
    """A row entering (+1) or leaving (-1) a stretch of a list, written by the database's
    triggers; appended, never updated, so that concurrent writers do not wait for each
    other. Folded into ListPosition.rows from time to time."""

    __tablename__ = "crm_list_position_change"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    list_name: Mapped[str] = mapped_column(String(30), nullable=False)
    bucket: Mapped[int] = mapped_column(Integer, nullable=False)
    owner_id: Mapped[Optional[int]] = mapped_column(BigInteger)  # 0: the row has no owner
    delta: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (Index("ix_list_position_change_bucket", "list_name", "bucket"),)


class ListPositionOwner(Model):
    """How many rows of one owner a stretch of a list held when the summary was built or
    last compacted (owner 0: rows with no owner), so that a list narrowed to some owners
    by the access filter finds its deep pages as fast as the whole list."""

    __tablename__ = "crm_list_position_owner"

    list_name: Mapped[str] = mapped_column(String(30), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)


# --- Clients -----------------------------------------------------------------------------


class Client(CustomValuesMixin, VersionedMixin, Model):
    __tablename__ = "crm_client"
    # The indexes lists are ordered by end with the responsible: the access filter then
    # reads a manager's rows off the index alone, not the table row by row.
    __table_args__ = (
        Index("ix_client_name_search", "name_search", "id", "responsible_id"),
        Index("ix_client_responsible", "responsible_id", "id"),
        Index("ix_client_inn", "inn", "name_search", "id", "responsible_id"),
        Index("ix_client_phone_normalized", "phone_normalized"),
        Index("ix_client_email_normalized", "email_normalized"),
        Index("ix_client_created_on", "created_on"),
        Index("ix_client_changed", "changed_on"),
        Index("ix_client_phone_tail", "phone_tail"),
        Index("ix_client_email_domain", "email_domain"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="company")
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    name_search: Mapped[str] = mapped_column(SearchString(255), nullable=False, default="")
    inn: Mapped[Optional[str]] = mapped_column(String(12))
    kpp: Mapped[Optional[str]] = mapped_column(String(9))
    ogrn: Mapped[Optional[str]] = mapped_column(String(15))
    phone: Mapped[Optional[str]] = mapped_column(String(40))
    phone_normalized: Mapped[Optional[str]] = mapped_column(String(20))
    email: Mapped[Optional[str]] = mapped_column(String(255))
    email_normalized: Mapped[Optional[str]] = mapped_column(SearchString(255))
    # The phone's digits from the last one back, the e-mail's domain (app.services.client_search).
    phone_tail: Mapped[Optional[str]] = mapped_column(SearchString(20))
    email_domain: Mapped[Optional[str]] = mapped_column(SearchString(255))
    site: Mapped[Optional[str]] = mapped_column(String(255))
    address: Mapped[Optional[str]] = mapped_column(String(500))
    industry_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    size_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    contact_type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    source_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    responsible_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    # A person's birthday (a company has none), and its key as a contact's.
    birthday: Mapped[Optional[dt.date]] = mapped_column(Date)
    birthday_key: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    abc_class: Mapped[Optional[str]] = mapped_column(String(1))
    xyz_class: Mapped[Optional[str]] = mapped_column(String(1))
    comment: Mapped[Optional[str]] = mapped_column(Text)

    industry = dictionary(industry_id, "industry")
    size = dictionary(size_id, "company_size")
    contact_type = dictionary(contact_type_id, "contact_type")
    source = dictionary(source_id, "source")
    responsible = relationship("CrmUser", foreign_keys=[responsible_id])
    tags = dictionary_list(client_tag, "tag")
    contacts = relationship("Contact", back_populates="client", passive_deletes=True)
    interests = relationship("Interest", back_populates="client", passive_deletes=True)
    interactions = relationship("Interaction", back_populates="client", passive_deletes=True)

    def __str__(self) -> str:
        return self.name


class Contact(CustomValuesMixin, VersionedMixin, Model):
    __tablename__ = "crm_contact"
    __table_args__ = (
        Index("ix_contact_client", "client_id", "id"),
        Index("ix_contact_changed", "changed_on"),
        Index("ix_contact_name_search", "name_search", "id", "responsible_id"),
        Index("ix_contact_phone_normalized", "phone_normalized"),
        Index("ix_contact_email_normalized", "email_normalized"),
        Index("ix_contact_phone_tail", "phone_tail"),
        Index("ix_contact_email_domain", "email_domain"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("crm_client.id", ondelete="RESTRICT"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    name_search: Mapped[str] = mapped_column(SearchString(255), nullable=False, default="")
    position: Mapped[Optional[str]] = mapped_column(String(150))
    phone: Mapped[Optional[str]] = mapped_column(String(40))
    phone_normalized: Mapped[Optional[str]] = mapped_column(String(20))
    email: Mapped[Optional[str]] = mapped_column(String(255))
    email_normalized: Mapped[Optional[str]] = mapped_column(SearchString(255))
    phone_tail: Mapped[Optional[str]] = mapped_column(SearchString(20))
    email_domain: Mapped[Optional[str]] = mapped_column(SearchString(255))
    birthday: Mapped[Optional[dt.date]] = mapped_column(Date)
    # The birthday's month * 100 + day (app.rules.validation.birthday_key): the reminders
    # find the birthdays of the coming days by an index, whatever the year of birth.
    birthday_key: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    is_key: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    responsible_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), index=True)

    client = relationship("Client", back_populates="contacts")
    responsible = relationship("CrmUser", foreign_keys=[responsible_id])

    def __str__(self) -> str:
        return self.name


class Inquiry(CustomValuesMixin, VersionedMixin, Model):
    __tablename__ = "crm_inquiry"
    __table_args__ = (
        Index("ix_inquiry_status_received", "status", "received_at"),
        Index("ix_inquiry_manager", "manager_id", "status"),
        Index("ix_inquiry_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), nullable=False, default="call")
    inquiry_type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    text: Mapped[Optional[str]] = mapped_column(Text)
    sender_name: Mapped[Optional[str]] = mapped_column(String(255))
    sender_company: Mapped[Optional[str]] = mapped_column(String(255))
    sender_phone: Mapped[Optional[str]] = mapped_column(String(40))
    sender_email: Mapped[Optional[str]] = mapped_column(String(255))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    manager_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="new")
    client_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_client.id", ondelete="SET NULL"), index=True
    )
    interest_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_interest.id", ondelete="SET NULL"), index=True
    )

    inquiry_type = dictionary(inquiry_type_id, "inquiry_type")
    manager = relationship("CrmUser", foreign_keys=[manager_id])
    client = relationship("Client")
    interest = relationship("Interest")

    def __str__(self) -> str:
        who = self.sender_company or self.sender_name or ""
        return f"#{self.id} {who}".strip()


# --- Sales -------------------------------------------------------------------------------


class Pipeline(AuditMixin, Model):
    __tablename__ = "crm_pipeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), nullable=False, unique=True)
    sort: Mapped[int] = mapped_column(Integer, nullable=False, default=100)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    stages = relationship("Stage", back_populates="pipeline", order_by="Stage.sort")

    def __str__(self) -> str:
        return self.name


class Stage(AuditMixin, Model):
    __tablename__ = "crm_stage"
    __sort_columns__ = ("pipeline_id", "sort", "name")
    __table_args__ = (Index("ix_stage_pipeline_sort", "pipeline_id", "sort"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("crm_pipeline.id", ondelete="RESTRICT"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(150), nullable=False)
    color: Mapped[Optional[str]] = mapped_column(String(20))
    sort: Mapped[int] = mapped_column(Integer, nullable=False, default=100)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    is_system: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    requires_client: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The chance, in %, that an interest in this stage is won: the board's weighted sums.
    probability: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                             server_default="0")
    # How many days an interest should stay in this stage at most; the board marks longer.
    days_limit: Mapped[Optional[int]] = mapped_column(Integer)

    pipeline = relationship("Pipeline", back_populates="stages")

    def __str__(self) -> str:
        return self.name


class Interest(CustomValuesMixin, VersionedMixin, Model):
    """A deal: what a client (or a not yet registered, potential client) needs."""

    __tablename__ = "crm_interest"
    __table_args__ = (
        Index("ix_interest_responsible_stage", "responsible_id", "stage_id"),
        Index("ix_interest_stage", "stage_id", "id"),
        Index("ix_interest_changed", "changed_on"),
        Index("ix_interest_client", "client_id", "id"),
        Index("ix_interest_title_search", "title_search", "id", "responsible_id"),
        # ix_interest_board, a board's column in its order (pinned first, then by the next
        # interaction, nothing planned first), is made by migration 0012 for each database.
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    title_search: Mapped[str] = mapped_column(SearchString(255), nullable=False, default="")
    description: Mapped[Optional[str]] = mapped_column(Text)
    service_type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    deal_type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    source_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("crm_pipeline.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    stage_id: Mapped[int] = mapped_column(
        ForeignKey("crm_stage.id", ondelete="RESTRICT"), nullable=False
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="RUB")
    responsible_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    client_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_client.id", ondelete="RESTRICT")
    )
    potential_name: Mapped[Optional[str]] = mapped_column(String(255))
    potential_company: Mapped[Optional[str]] = mapped_column(String(255))
    potential_email: Mapped[Optional[str]] = mapped_column(String(255))
    potential_phone: Mapped[Optional[str]] = mapped_column(String(40))
    flagged: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    closed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    # When its first planned interaction is due; kept with every change of its
    # interactions (app.services.plans), never written by a form or the API.
    next_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    lost_reason_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))

    service_type = dictionary(service_type_id, "service_type")
    deal_type = dictionary(deal_type_id, "deal_type")
    source = dictionary(source_id, "source")
    lost_reason = dictionary(lost_reason_id, "lost_reason")
    pipeline = relationship("Pipeline")
    stage = relationship("Stage")
    responsible = relationship("CrmUser", foreign_keys=[responsible_id])
    closed_by = relationship("CrmUser", foreign_keys=[closed_by_id])
    client = relationship("Client", back_populates="interests")
    tags = dictionary_list(interest_tag, "tag")
    products = relationship("InterestProduct", back_populates="interest", passive_deletes=True)
    interactions = relationship("Interaction", back_populates="interest", passive_deletes=True)
    stage_changes = relationship("StageChange", back_populates="interest", passive_deletes=True,
                                 order_by="StageChange.id")

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and (self.stage is None or self.stage.kind == "open")

    @property
    def client_display(self) -> str:
        if self.client is not None:
            return str(self.client)
        return self.potential_company or self.potential_name or ""


class ProductGroup(AuditMixin, Model):
    __tablename__ = "crm_product_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(150), nullable=False)
    parent_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_product_group.id", ondelete="RESTRICT"), index=True
    )
    sort: Mapped[int] = mapped_column(Integer, nullable=False, default=100)

    parent = relationship("ProductGroup", remote_side=[id])
    products = relationship("Product", back_populates="group")

    def __str__(self) -> str:
        return self.name


class Product(CustomValuesMixin, AuditMixin, Model):
    __tablename__ = "crm_product"
    __table_args__ = (Index("ix_product_group_name", "group_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_product_group.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    sku: Mapped[Optional[str]] = mapped_column(String(60), unique=True)
    unit: Mapped[str] = mapped_column(String(20), nullable=False, default="шт")
    price: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="RUB")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    description: Mapped[Optional[str]] = mapped_column(Text)

    group = relationship("ProductGroup", back_populates="products")

    def __str__(self) -> str:
        return self.name


class InterestProduct(AuditMixin, Model):
    __tablename__ = "crm_interest_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    interest_id: Mapped[int] = mapped_column(
        ForeignKey("crm_interest.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("crm_product.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3), nullable=False, default=1)
    price: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False, default=0)
    discount: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False, default=0)

    interest = relationship("Interest", back_populates="products")
    product = relationship("Product")

    @property
    def total(self) -> Decimal:
        gross = (self.quantity or 0) * (self.price or 0)
        return (gross * (100 - (self.discount or 0)) / 100).quantize(Decimal("0.01"))

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class Interaction(CustomValuesMixin, VersionedMixin, Model):
    """A call, meeting, e-mail, message or task: planned for a time, later done with a result."""

    __tablename__ = "crm_interaction"
    __table_args__ = (
        Index("ix_interaction_responsible_status_planned", "responsible_id", "status", "planned_at"),
        Index("ix_interaction_interest_status", "interest_id", "status", "planned_at"),
        Index("ix_interaction_client", "client_id", "planned_at"),
        Index("ix_interaction_planned", "planned_at"),
        # The auto-motivator's days (app.services.report_tables) and its drill-down.
        Index("ix_interaction_done", "done_at"),
        Index("ix_interaction_changed", "changed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("crm_dictionary_item.id"))
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    client_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_client.id", ondelete="RESTRICT")
    )
    contact_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True
    )
    interest_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_interest.id", ondelete="CASCADE")
    )
    responsible_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    planned_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    done_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="planned")
    result: Mapped[Optional[str]] = mapped_column(Text)
    # What is to be done (a task's description, a meeting's agenda).
    description: Mapped[Optional[str]] = mapped_column(Text)
    # Who gave it, when it is a task given to a colleague: they follow its state.
    given_by_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL"), index=True
    )
    # How long it is planned to take (the calendar); unset, the type's usual length.
    planned_minutes: Mapped[Optional[int]] = mapped_column(Integer)
    # How long it took, recorded when it is done (time spent).
    spent_minutes: Mapped[Optional[int]] = mapped_column(Integer)
    place: Mapped[Optional[str]] = mapped_column(String(255))

    type = dictionary(type_id, "interaction_type")
    client = relationship("Client", back_populates="interactions")
    contact = relationship("Contact")
    interest = relationship("Interest", back_populates="interactions")
    responsible = relationship("CrmUser", foreign_keys=[responsible_id])
    given_by = relationship("CrmUser", foreign_keys=[given_by_id])
    participants = relationship("InteractionParticipant", cascade="all, delete-orphan",
                                passive_deletes=True, order_by="InteractionParticipant.id")

    def __str__(self) -> str:
        return self.subject


class InteractionParticipant(Model):
    """Someone taking part in a meeting besides its responsible: an employee (whose
    calendar then shows it, and whose busy time a new meeting is checked against) or a
    contact person of a client."""

    __tablename__ = "crm_interaction_participant"
    __table_args__ = (
        UniqueConstraint("interaction_id", "user_id", name="uq_participant_user"),
        UniqueConstraint("interaction_id", "contact_id", name="uq_participant_contact"),
        CheckConstraint("(user_id IS NULL) <> (contact_id IS NULL)",
                        name="ck_participant_one_of"),
        Index("ix_participant_user", "user_id", "interaction_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("crm_interaction.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"))
    contact_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_contact.id", ondelete="CASCADE"), index=True
    )

    user = relationship("CrmUser")
    contact = relationship("Contact")

    def __str__(self) -> str:
        return str(self.user or self.contact)


STAGE_ACTIONS = {
    "create": _l("Created"),
    "move": _l("Moved"),
    "close": _l("Closed"),
    "reopen": _l("Reopened"),
}


class StageChange(Model):
    """An interest entering a stage (app.services.sales): created in it, moved, closed or
    reopened. Time in a stage is read from these rows. The stages' names are kept as they
    were, so that a stage deleted later still reads in the history."""

    __tablename__ = "crm_stage_change"
    __table_args__ = (Index("ix_stage_change_interest", "interest_id", "changed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interest_id: Mapped[int] = mapped_column(
        ForeignKey("crm_interest.id", ondelete="CASCADE"), nullable=False
    )
    action: Mapped[str] = mapped_column(String(10), nullable=False)
    from_stage_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_stage.id", ondelete="SET NULL"), index=True
    )
    to_stage_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_stage.id", ondelete="SET NULL"), index=True
    )
    from_stage_name: Mapped[Optional[str]] = mapped_column(String(150))
    to_stage_name: Mapped[str] = mapped_column(String(150), nullable=False)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    changed_by_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL")
    )

    interest = relationship("Interest", back_populates="stage_changes")
    from_stage = relationship("Stage", foreign_keys=[from_stage_id])
    to_stage = relationship("Stage", foreign_keys=[to_stage_id])
    changed_by = relationship("CrmUser")

    def __str__(self) -> str:
        return f"{self.from_stage_name or ''} → {self.to_stage_name}"


# --- Settings ----------------------------------------------------------------------------


class CompanyRequisites(AuditMixin, Model):
    """Our own company's legal details, printed on invoices and offers."""

    __tablename__ = "crm_company_requisites"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(10), nullable=False, default="company")
    full_name: Mapped[str] = mapped_column(String(500), nullable=False)
    short_name: Mapped[str] = mapped_column(String(255), nullable=False)
    inn: Mapped[str] = mapped_column(String(12), nullable=False)
    kpp: Mapped[Optional[str]] = mapped_column(String(9))
    ogrn: Mapped[Optional[str]] = mapped_column(String(15))
    address: Mapped[Optional[str]] = mapped_column(String(500))
    bank_name: Mapped[Optional[str]] = mapped_column(String(255))
    bik: Mapped[Optional[str]] = mapped_column(String(9))
    account: Mapped[Optional[str]] = mapped_column(String(20))
    corr_account: Mapped[Optional[str]] = mapped_column(String(20))
    director: Mapped[Optional[str]] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    def __str__(self) -> str:
        return self.short_name


CUSTOM_FIELD_ENTITIES = ("client", "contact", "inquiry", "interest", "interaction", "product")


class CustomField(AuditMixin, Model):
    """A field an administrator adds to an entity (app.services.custom_fields): its values
    live in the `custom` column of the entity's table under `code`. Type and `multiple`
    never change once the field exists (R10)."""

    __tablename__ = "crm_custom_field"
    __table_args__ = (UniqueConstraint("entity", "code", name="uq_custom_field_entity_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    label_ru: Mapped[str] = mapped_column(String(150), nullable=False)
    label_en: Mapped[Optional[str]] = mapped_column(String(150))
    field_type: Mapped[str] = mapped_column(String(20), nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    multiple: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The value a new record starts with, stored as the values are.
    default: Mapped[Optional[object]] = mapped_column(JSON)
    help_ru: Mapped[Optional[str]] = mapped_column(Text)
    help_en: Mapped[Optional[str]] = mapped_column(Text)
    # A list's choices: [{"value", "label", "color", "order"}].
    options: Mapped[Optional[list]] = mapped_column(JSON)
    sort: Mapped[int] = mapped_column(Integer, nullable=False, default=100)
    show_in_list: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    filterable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    show_on_board: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # An interest's field: the pipelines it belongs to (none named: every pipeline), and
    # per pipeline the stage from which on it is required: {"<pipeline id>": <stage id>}.
    pipelines: Mapped[Optional[list]] = mapped_column(JSON)
    required_from: Mapped[Optional[dict]] = mapped_column(JSON)
    # Who may see and change it: [{"role": <role id>, "access": "hidden" | "read"}]; a
    # role not named may edit it.
    visibility: Mapped[Optional[list]] = mapped_column(JSON)
    # What its type needs besides: the entity a link points to ({"target": "client"}).
    settings: Mapped[Optional[dict]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.label_ru


class CustomBooking(Model):
    """A resource (a directory item: a meeting room, a car) booked for a time by a custom
    field of a record; kept with the record's value, so that an overlap is found by an
    index and refused."""

    __tablename__ = "crm_custom_booking"
    __table_args__ = (
        Index("ix_custom_booking_resource", "resource_id", "starts_at", "ends_at"),
        Index("ix_custom_booking_record", "entity", "record_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("crm_dictionary_item.id", ondelete="RESTRICT"), nullable=False)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)


class ChangeLog(Model):
    """One row per create, update or delete of a tracked record: who, when, what changed."""

    __tablename__ = "crm_change_log"
    __table_args__ = (Index("ix_change_log_record", "entity", "record_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(10), nullable=False)
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    user_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL"), index=True
    )
    # Who wrote when no user did: a scheduled job ("job:reminders_overdue"), a command.
    actor: Mapped[Optional[str]] = mapped_column(String(80))

    user = relationship("CrmUser")

    def __str__(self) -> str:
        return f"{self.entity} #{self.record_id} {self.action}"


# --- Scheduled jobs and notifications ------------------------------------------------------

JOB_RUN_STATUSES = {
    "running": _l("Running"),
    "succeeded": _l("Succeeded"),
    "failed": _l("Failed"),
    "interrupted": _l("Interrupted"),
}
JOB_RUN_TRIGGERS = {
    "schedule": _l("On schedule"),
    "catch_up": _l("Caught up after a pause"),
    "manual": _l("Run now"),
}


class JobRun(Model):
    """One run of a scheduled job (app.jobs) for one slot of its schedule. The unique
    (job, slot) pair is what keeps two scheduler processes from running a slot twice."""

    __tablename__ = "crm_job_run"
    __table_args__ = (
        UniqueConstraint("job_id", "slot", name="uq_job_run_slot"),
        Index("ix_job_run_job", "job_id", "id"),
        Index("ix_job_run_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(60), nullable=False)
    # The time of the schedule the run is for (naive UTC); a run started by hand: its start.
    slot: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    trigger: Mapped[str] = mapped_column(String(10), nullable=False, default="schedule")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="running")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[Optional[str]] = mapped_column(Text)
    # The host and process that ran it.
    runner: Mapped[Optional[str]] = mapped_column(String(120))
    requested_by_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ab_user.id", ondelete="SET NULL"))

    requested_by = relationship("CrmUser")

    def __str__(self) -> str:
        return f"{self.job_id} {self.slot:%Y-%m-%d %H:%M}"


class JobLease(Model):
    """Which process runs a job now, until when: the job's lock on SQLite, which has no
    advisory locks (PostgreSQL uses one of those instead)."""

    __tablename__ = "crm_job_lease"

    job_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class Setting(Model):
    """A company-wide setting an administrator changes on a screen (app.services.settings):
    how many days ahead birthdays are announced, when an inquiry counts as forgotten."""

    __tablename__ = "crm_setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Optional[object]] = mapped_column(JSON)


class Notification(Model):
    """A reminder for one user (app.services.notifications): what it is about (kind and
    record), the day it is for, and the values its text is made of in the reader's
    language. Never the same reminder twice: (kind, record, user, day) is unique."""

    __tablename__ = "crm_notification"
    __table_args__ = (
        UniqueConstraint("kind", "entity", "record_id", "user_id", "day",
                         name="uq_notification_once"),
        Index("ix_notification_user_unread", "user_id", "read_at", "id"),
        Index("ix_notification_user", "user_id", "id"),
        Index("ix_notification_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"),
                                         nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    payload: Mapped[Optional[dict]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    read_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # When it went by e-mail; NULL: not (yet), or the user asked for none.
    emailed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)

    user = relationship("CrmUser")


NOTIFICATION_DELIVERIES = {
    "digest": _l("In the morning digest"),
    "instant": _l("At once"),
}


class NotificationSetting(Model):
    """A user's choice of reminders: the kinds turned off, how e-mails come (one morning
    digest, or each notice at once) and in which language."""

    __tablename__ = "crm_notification_setting"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"),
                                         primary_key=True)
    disabled: Mapped[Optional[list]] = mapped_column(JSON)
    delivery: Mapped[str] = mapped_column(String(10), nullable=False, default="digest")
    language: Mapped[Optional[str]] = mapped_column(String(5))


class CalendarFeed(Model):
    """A user's private iCalendar feed (app.services.calendar_feed): turned on, it answers
    at a URL holding a long random token, of which only a hash is kept; revoked, the row
    is gone and the URL answers 404."""

    __tablename__ = "crm_calendar_feed"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"),
                                         primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_on: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # When a calendar last fetched it: the page says whether a subscription is in use.
    fetched_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


ABSENCE_STATUSES = {
    "planned": _l("Planned"),
    "active": _l("Under way"),
    "ended": _l("Ended"),
    "cancelled": _l("Cancelled"),
}


class Absence(VersionedMixin, Model):
    """An employee away between two dates (app.services.absences): from the first day their
    planned work is with a deputy, who reads and edits their records; after the last day
    what the deputy has not finished returns to them."""

    __tablename__ = "crm_absence"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ck_absence_dates"),
        CheckConstraint("deputy_id <> user_id", name="ck_absence_deputy"),
        Index("ix_absence_deputy", "deputy_id", "starts_on"),
        Index("ix_absence_user", "user_id", "starts_on"),
        Index("ix_absence_status", "status", "starts_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"),
                                         nullable=False)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"),
                                           nullable=False)
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    note: Mapped[Optional[str]] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="planned")

    user = relationship("CrmUser", foreign_keys=[user_id])
    deputy = relationship("CrmUser", foreign_keys=[deputy_id])

    def __str__(self) -> str:
        return f"{self.user} → {self.deputy}"


class AbsenceItem(Model):
    """A record handed to the deputy when an absence began, to return when it ends."""

    __tablename__ = "crm_absence_item"

    absence_id: Mapped[int] = mapped_column(
        ForeignKey("crm_absence.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)


EXPORT_FORMATS = {"csv": "CSV", "xlsx": "Excel (XLSX)"}
EXPORT_STATUSES = {
    "queued": _l("Waiting"),
    "running": _l("Being written"),
    "done": _l("Ready"),
    "failed": _l("Failed"),
}


class ExportRun(Model):
    """One export of a list, a grid or a resource (app.services.list_exports): who asked
    for what with which filters, how many rows it holds, and, for one written in the
    background, its progress and the file to download."""

    __tablename__ = "crm_export"
    __table_args__ = (
        Index("ix_export_user", "user_id", "id"),
        Index("ix_export_status", "status", "id"),
        Index("ix_export_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"),
                                         nullable=False)
    source: Mapped[str] = mapped_column(String(80), nullable=False)  # "screen:ClientView"
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    format: Mapped[str] = mapped_column(String(5), nullable=False)
    arguments: Mapped[Optional[dict]] = mapped_column(JSON)  # the request's filters
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="ru")
    background: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")
    total: Mapped[Optional[int]] = mapped_column(Integer)   # counted before writing
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # written so far
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    started_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    heartbeat_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    file_key: Mapped[Optional[str]] = mapped_column(String(80))
    file_size: Mapped[Optional[int]] = mapped_column(BigInteger)
    error: Mapped[Optional[str]] = mapped_column(Text)

    user = relationship("CrmUser")


# --- Reports -----------------------------------------------------------------------------


class ReportState(Model):
    """When a report table (app.services.reports) was last computed, up to which change it
    holds, how long that took and, when it failed, why."""

    __tablename__ = "crm_report_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    computed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # The changes made before this time are in the table; the next run folds in the rest.
    watermark: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    seconds: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    full: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    error: Mapped[Optional[str]] = mapped_column(Text)


class FunnelFact(Model):
    """One interest's course through its pipeline, for the sales funnel: where it is now
    and the furthest open stage it ever entered.

    An interest reaches every open stage up to the furthest it entered (a skipped stage
    counts as passed), every open stage when it is won, and its won or lost stage: which
    stages those are is asked of the pipeline as it is when the figures are added up."""

    __tablename__ = "crm_report_funnel"
    # Like every report table it has no foreign keys (each written row would be checked):
    # its job removes the rows of what is gone.
    __table_args__ = (
        Index("ix_report_funnel_started", "pipeline_id", "started_at"),
        # The won ones by when they were won (each database's planner takes a partial index
        # for the condition written as the ORM writes it there).
        Index("ix_report_funnel_won", "pipeline_id", "closed_at",
              sqlite_where=text("won = 1"), postgresql_where=text("won")),
    )

    interest_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(Integer, nullable=False)
    stage_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # The order (Stage.sort) of the furthest open stage it entered; None if none.
    depth: Mapped[Optional[int]] = mapped_column(Integer)
    responsible_id: Mapped[Optional[int]] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False, default=0)
    won: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class FunnelStay(Model):
    """The time an interest spent in a stage, over its stays there that have ended."""

    __tablename__ = "crm_report_funnel_stay"

    interest_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seconds: Mapped[int] = mapped_column(BigInteger, nullable=False)


FUNNEL_MONTH_KINDS = ("started", "closed")


class FunnelMonth(Model):
    """The funnel's facts added up per month (in the company's time zone), pipeline, stage
    and responsible, so that a grid of a year reads a few thousand rows instead of every
    interest; the partial months at a period's ends are read from the facts.

    "started" rows are of the interests started in the month, per stage reached: how many
    and their `amount`; of those that have left the stage, how many (`stays`) and the time
    they spent in it (`seconds`); of those in the stage now (each interest once), how many
    (`current`), their `current_amount` and how many of them are won. "closed"
    rows are of the interests won in the month, in their won stage: `reached` and
    `amount`. A month may have several rows of one key (where the clocks changed in it);
    a grid adds them up."""

    __tablename__ = "crm_report_funnel_month"
    __table_args__ = (Index("ix_report_funnel_month", "pipeline_id", "kind", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    pipeline_id: Mapped[int] = mapped_column(Integer, nullable=False)
    stage_id: Mapped[int] = mapped_column(Integer, nullable=False)
    responsible_id: Mapped[Optional[int]] = mapped_column(Integer)
    reached: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False, default=0)
    seconds: Mapped[Optional[int]] = mapped_column(BigInteger)
    stays: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    current: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    current_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False,
                                                    default=0)
    current_won: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ActivityFact(Model):
    """One manager's done interactions on one day (in the company's time zone): their
    count and points, for the auto-motivator (R11)."""

    __tablename__ = "crm_report_activity"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    points: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class SalesPlan(AuditMixin, Model):
    """What a manager, or a whole department, should sell in a period of a pipeline:
    interests won and their sum. The funnel puts the facts next to it."""

    __tablename__ = "crm_sales_plan"
    __table_args__ = (Index("ix_sales_plan_period", "starts_on", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_pipeline.id", ondelete="CASCADE"), index=True)
    manager_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_department.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    won_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    won_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False, default=0)
    note: Mapped[Optional[str]] = mapped_column(String(255))

    pipeline = relationship("Pipeline")
    manager = relationship("CrmUser", foreign_keys=[manager_id])
    department = relationship("Department")

    def __str__(self) -> str:
        who = self.manager or self.department or ""
        return f"{who} {self.starts_on:%d.%m.%Y}–{self.ends_on:%d.%m.%Y}"


CONTROL_COLOURS = {"green": _l("Green"), "yellow": _l("Yellow"), "red": _l("Red")}


class ClientFact(Model):
    """One client's indicators for the supervisor's control (R12) and the quality of the
    client base: its open interests, its overdue and coming interactions, whether its
    portrait and its contacts' information are filled, whether another client shares its
    INN, phone or e-mail, and the colour they make."""

    __tablename__ = "crm_report_client"
    __table_args__ = (Index("ix_report_client_responsible", "responsible_id", "colour"),)

    client_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    responsible_id: Mapped[Optional[int]] = mapped_column(Integer)
    open_interests: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    overdue: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    planned: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    contacts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    bare_contacts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    portrait: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reachable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    duplicate: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    colour: Mapped[str] = mapped_column(String(6), nullable=False, default="green")


class ClientSummary(Model):
    """The clients' indicators added up per responsible: what the control and quality
    grids read, so that a grid of a million clients reads a row per manager."""

    __tablename__ = "crm_report_client_summary"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    responsible_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    clients: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    green: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    yellow: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    red: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    warm: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    with_overdue: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    no_portrait: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unreachable: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    open_interests: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    overdue: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    planned: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    contacts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    bare_contacts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AbcFact(Model):
    """One client's revenue of won interests over the last twelve full months, how much it
    varies month to month, and the ABC and XYZ classes they give (app.rules.abcxyz), also
    kept on the client."""

    __tablename__ = "crm_report_abc"
    __table_args__ = (Index("ix_report_abc_class", "abc", "xyz"),)

    client_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    responsible_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    revenue: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False, default=0)
    variation: Mapped[Decimal] = mapped_column(Numeric(10, 1), nullable=False, default=0)
    abc: Mapped[str] = mapped_column(String(1), nullable=False)
    xyz: Mapped[str] = mapped_column(String(1), nullable=False)


SUBSCRIPTION_FREQUENCIES = {"weekly": _l("Weekly, on Mondays, for the week before"),
                            "monthly": _l("Monthly, on the 1st, for the month before")}
DELIVERY_STATUSES = {"sent": _l("Sent"), "failed": _l("Failed")}


class ReportSubscription(Model):
    """A report a user receives by e-mail as XLSX, weekly or monthly, with the filters it
    was subscribed with (app.services.report_subscriptions)."""

    __tablename__ = "crm_report_subscription"
    __table_args__ = (Index("ix_report_subscription_due", "active", "next_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    report: Mapped[str] = mapped_column(String(20), nullable=False)
    arguments: Mapped[Optional[dict]] = mapped_column(JSON)  # its filters, the period aside
    frequency: Mapped[str] = mapped_column(String(10), nullable=False, default="weekly")
    recipients: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(String(5), nullable=False, default="ru")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    next_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    last_sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    last_status: Mapped[Optional[str]] = mapped_column(String(10))
    last_error: Mapped[Optional[str]] = mapped_column(Text)

    user = relationship("CrmUser")
    deliveries = relationship("ReportDelivery", back_populates="subscription",
                              passive_deletes=True, order_by="ReportDelivery.id.desc()")


class ReportDelivery(Model):
    """One sending of a subscription: when, to whom, how many rows, and how it went."""

    __tablename__ = "crm_report_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("crm_report_subscription.id", ondelete="CASCADE"), nullable=False,
        index=True)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    trigger: Mapped[str] = mapped_column(String(10), nullable=False)  # schedule / now
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    recipients: Mapped[str] = mapped_column(Text, nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[Optional[str]] = mapped_column(Text)

    subscription = relationship("ReportSubscription", back_populates="deliveries")
