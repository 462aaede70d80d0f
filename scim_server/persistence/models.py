"""The tables. They hold data; the rules about it live in domain/ and scim/."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .types import BigIntPK, Document, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organization(Base):
    __tablename__ = "organizations"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    plan: Mapped[str] = mapped_column(String(64))
    term_start: Mapped[datetime] = mapped_column(UTCDateTime())
    term_end: Mapped[datetime] = mapped_column(UTCDateTime())
    extra_usage: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    allocations: Mapped[list[SeatAllocation]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", lazy="selectin"
    )


class SeatAllocation(Base):
    """Seats purchased of one seat type by one organization."""

    __tablename__ = "seat_allocations"
    # SEATS.md §2, the invariant: held never exceeds purchased. Writers take seats with a
    # conditional UPDATE (assigned < purchased); this constraint is the last line.
    __table_args__ = (
        CheckConstraint("assigned >= 0 AND assigned <= purchased", name="held_within_purchased"),
        CheckConstraint("renewal IS NULL OR renewal >= 0", name="renewal_not_negative"),
    )

    org_pk: Mapped[int] = mapped_column(
        ForeignKey("organizations.pk", ondelete="CASCADE"), primary_key=True
    )
    seat_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    purchased: Mapped[int] = mapped_column(Integer)
    # Seats of this type held by members now; kept equal to the users holding it.
    assigned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The count agreed for the next term (SEATS.md §2): it replaces `purchased` when the
    # current term ends (services/terms.py). NULL on every row: no renewal is set.
    renewal: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)

    organization: Mapped[Organization] = relationship(back_populates="allocations")


WAITING = "waiting_since IS NOT NULL"
# The few members who are not plain members (admins, owners), and those deactivated: the
# console filters on both, and partial indexes hold only them, so a create writes neither.
STAFF = "role <> 'member'"
INACTIVE = "active = false"
# An email key is kept only when it differs from the userName's (scim/resources.py).
HAS_EMAIL_KEY = "email_key IS NOT NULL"

# A comparison key: compared and ordered by code point on both databases (SQLite's BINARY;
# "C" on PostgreSQL, whatever the database's own collation), so that a prefix is a range.
Key = String(255).with_variant(String(255, collation="C"), "postgresql")


class UserRow(Base):
    """A SCIM User, who is also a member of the organization."""

    __tablename__ = "users"
    __table_args__ = (
        # RFC 7643 §4.1.1: userName is unique within the service provider (here, the tenant),
        # compared case-insensitively; user_name_key holds the comparison form.
        UniqueConstraint("org_pk", "user_name_key", name="uq_users_org_user_name"),
        Index("ix_users_org_external_id", "org_pk", "external_id"),
        # None on display_name: filters and sortBy compare lower(display_name), which an
        # index on the column cannot serve (migration 0007).
        Index("ix_users_org_created", "org_pk", "created", "pk"),
        Index("ix_users_org_modified", "org_pk", "last_modified"),
        # A seat type's members in userName order (the Organization page's filter).
        Index("ix_users_org_seat_type_name", "org_pk", "seat_type", "user_name_key"),
        # Partial: a member who is not waiting (nearly all of them) is not in it, so a
        # create or a seat change writes one index page fewer (benchmarks/README.md).
        Index(
            "ix_users_org_waiting",
            "org_pk",
            "waiting_since",
            sqlite_where=text(WAITING),
            postgresql_where=text(WAITING),
        ),
        # The console's search (services/members.py): a prefix of any of these finds the
        # member; each key is name_key() of its value (scim/resources.py, user_keys).
        Index(
            "ix_users_org_email",
            "org_pk",
            "email_key",
            sqlite_where=text(HAS_EMAIL_KEY),
            postgresql_where=text(HAS_EMAIL_KEY),
        ),
        Index("ix_users_org_display_name_key", "org_pk", "display_name_key"),
        Index("ix_users_org_family_name", "org_pk", "family_name_key"),
        Index(
            "ix_users_org_staff",
            "org_pk",
            "role",
            sqlite_where=text(STAFF),
            postgresql_where=text(STAFF),
        ),
        Index(
            "ix_users_org_inactive",
            "org_pk",
            "active",
            sqlite_where=text(INACTIVE),
            postgresql_where=text(INACTIVE),
        ),
        # Owners reclaim idle seats: "not seen for N days" is a range on this index.
        Index("ix_users_org_last_sign_in", "org_pk", "last_sign_in_at"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    org_pk: Mapped[int] = mapped_column(ForeignKey("organizations.pk", ondelete="CASCADE"))
    user_name: Mapped[str] = mapped_column(String(255))
    user_name_key: Mapped[str] = mapped_column(Key)
    external_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    # Search keys: name_key of the primary email (None when it is the userName's),
    # displayName and name.familyName.
    email_key: Mapped[str | None] = mapped_column(Key)
    display_name_key: Mapped[str | None] = mapped_column(Key)
    family_name_key: Mapped[str | None] = mapped_column(Key)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The rest of the SCIM document (everything but id, meta, groups and password).
    data: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    role: Mapped[str] = mapped_column(String(32), default="member")
    # The seat held now ("unassigned" when none), how it came (scim, jit, manual,
    # group_mapping, operator, waiting_line) and, when an admin chose it, the pinned type
    # that automatic rules never override (SEATS.md §4).
    seat_type: Mapped[str] = mapped_column(
        String(32), default="unassigned", server_default="unassigned"
    )
    seat_source: Mapped[str | None] = mapped_column(String(32))
    pinned_seat_type: Mapped[str | None] = mapped_column(String(32))
    # Set while an active member waits for a seat: the line is served oldest first.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The groups-claim values of a JIT member's latest sign-in (SEATS.md §6): the mapping
    # matches them like SCIM groups, also when the mapping changes later.
    claim_groups: Mapped[list[str] | None] = mapped_column(Document)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The member's latest sign-in (OIDC, or a console sign-in link); None: never, that the
    # server knows of. Not part of the SCIM resource: signing in changes no version.
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GroupRow(Base):
    __tablename__ = "groups"
    __table_args__ = (
        Index("ix_groups_org_display_name", "org_pk", "display_name_key"),
        Index("ix_groups_org_external_id", "org_pk", "external_id"),
        Index("ix_groups_org_created", "org_pk", "created", "pk"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    org_pk: Mapped[int] = mapped_column(ForeignKey("organizations.pk", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(255))
    display_name_key: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    # The rest of the SCIM document (everything but id, meta and members).
    data: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class GroupMember(Base):
    """One membership: a row, so that a PATCH costs what it names, not the group's size."""

    __tablename__ = "group_members"
    __table_args__ = (Index("ix_group_members_user", "user_pk"),)

    group_pk: Mapped[int] = mapped_column(
        ForeignKey("groups.pk", ondelete="CASCADE"), primary_key=True
    )
    user_pk: Mapped[int] = mapped_column(
        ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True
    )
    # The `display` the client gave the member, if any (RFC 7643 §2.4: immutable, so kept
    # as sent); without one, the user's own name is shown.
    display: Mapped[str | None] = mapped_column(Text)


class GroupMappingRow(Base):
    """An organization's group mapping (SEATS.md §5), stored so that every host applies it."""

    __tablename__ = "group_mappings"

    org_pk: Mapped[int] = mapped_column(
        ForeignKey("organizations.pk", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    # The file as the admin wrote it, and the validated rules (mappings_file.dump_json).
    source: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict[str, Any]] = mapped_column(Document)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(255))


class Token(Base):
    """A bearer token: a SCIM token of an organization, or a member's personal API token."""

    __tablename__ = "tokens"
    __table_args__ = (Index("ix_tokens_org_kind", "org_pk", "kind"),)

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    org_pk: Mapped[int] = mapped_column(ForeignKey("organizations.pk", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    # The public part of the token, shown in listings and used to find the row.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    # SHA-256 of the whole token: the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64))
    member_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class SignInLink(Base):
    """A one-time console sign-in link an operator made for a member (docs/console.md).

    Like a token, only the SHA-256 of the secret is stored. It is used by one conditional
    UPDATE (used_at IS NULL AND expires_at > now), so two tabs cannot both sign in with it.
    """

    __tablename__ = "sign_in_links"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    org_pk: Mapped[int] = mapped_column(ForeignKey("organizations.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """One change, append-only (SEATS.md §8): when, who, through what, before, after, why."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_org_at", "org_pk", "at", "pk"),
        Index("ix_audit_org_subject", "org_pk", "subject_id"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    org_pk: Mapped[int] = mapped_column(ForeignKey("organizations.pk", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # member | scim_token | api_token | jit | system | operator
    actor_kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(255))
    # scim | jit | admin_api | console | group_mapping | operator | system
    source: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(255))
    before: Mapped[dict[str, Any] | None] = mapped_column(Document)
    after: Mapped[dict[str, Any] | None] = mapped_column(Document)
    reason: Mapped[str | None] = mapped_column(Text)
