"""One-time console sign-in links: stored as the SHA-256 of their secret, used once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from .models import SignInLink


class SignInLinkRepository:
    def __init__(self, session: Session, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def add(self, user_pk: int, token_hash: str, expires_at: datetime) -> None:
        self.session.add(
            SignInLink(
                org_pk=self.org_pk, user_pk=user_pk, token_hash=token_hash, expires_at=expires_at
            )
        )
        self.session.flush()

    def usable(self, token_hash: str, now: datetime) -> SignInLink | None:
        """The link, if it is this organization's, unused and unexpired (reads only)."""
        return self.session.scalar(select(SignInLink).where(self._usable(token_hash, now)))

    def use(self, token_hash: str, now: datetime) -> int | None:
        """Mark the link used and return its member's key; None if it was not usable.

        One conditional UPDATE: of two requests racing with the same link, the database
        lets one match (PostgreSQL re-checks the row after its lock; SQLite writers are
        serialised), and the other finds it used.
        """
        statement = (
            update(SignInLink)
            .where(self._usable(token_hash, now))
            .values(used_at=now)
            .returning(SignInLink.user_pk)
            .execution_options(synchronize_session=False)
        )
        return self.session.scalar(statement)

    def _usable(self, token_hash: str, now: datetime) -> ColumnElement[bool]:
        return and_(
            SignInLink.org_pk == self.org_pk,
            SignInLink.token_hash == token_hash,
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
