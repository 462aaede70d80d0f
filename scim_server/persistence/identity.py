"""OIDC sign-in: each organization's provider settings, and the identities linked to members.

On the same Base as models.py, in a module of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base
from .repositories import flush_unique
from .types import BigIntPK, Document, UTCDateTime, utcnow


class OidcSettingsRow(Base):
    """One OpenID Connect provider per organization (SEATS.md §6)."""

    __tablename__ = "oidc_settings"

    org_pk: Mapped[int] = mapped_column(
        ForeignKey("organizations.pk", ondelete="CASCADE"), primary_key=True
    )
    issuer: Mapped[str] = mapped_column(String(1024))
    client_id: Mapped[str] = mapped_column(String(255))
    # Fernet token of the client secret (auth/sealing.py); never the secret itself.
    client_secret_sealed: Mapped[str] = mapped_column(Text)
    groups_claim: Mapped[str] = mapped_column(String(255), default="groups")
    allowed_domains: Mapped[list[str]] = mapped_column(Document)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdentityRow(Base):
    """A member's sign-in identity: the provider's (issuer, subject), never the email."""

    __tablename__ = "oidc_identities"
    __table_args__ = (
        UniqueConstraint("org_pk", "issuer", "subject", name="uq_oidc_identities_subject"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    org_pk: Mapped[int] = mapped_column(ForeignKey("organizations.pk", ondelete="CASCADE"))
    # One identity per member: a second subject for a linked member is refused.
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), unique=True)
    issuer: Mapped[str] = mapped_column(String(1024))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sign_in_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OidcSettingsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def of_org(self, org_pk: int, for_update: bool = False) -> OidcSettingsRow | None:
        query = select(OidcSettingsRow).where(OidcSettingsRow.org_pk == org_pk)
        return self.session.scalar(query.with_for_update() if for_update else query)

    def add(self, row: OidcSettingsRow) -> OidcSettingsRow:
        self.session.add(row)
        flush_unique(self.session, "OIDC settings of this organization")
        return row


class IdentityRepository:
    def __init__(self, session: Session, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def by_subject(self, issuer: str, subject: str) -> IdentityRow | None:
        return self.session.scalar(
            select(IdentityRow).where(
                IdentityRow.org_pk == self.org_pk,
                IdentityRow.issuer == issuer,
                IdentityRow.subject == subject,
            )
        )

    def of_member(self, user_pk: int) -> IdentityRow | None:
        return self.session.scalar(select(IdentityRow).where(IdentityRow.user_pk == user_pk))

    def add(self, row: IdentityRow) -> IdentityRow:
        row.org_pk = self.org_pk
        self.session.add(row)
        flush_unique(self.session, "this sign-in identity")
        return row
