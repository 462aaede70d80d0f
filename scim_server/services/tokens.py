"""Issuing, listing, revoking and checking bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..auth import tokens as material
from ..domain.seats import Allocation
from ..errors import NotFound, Unauthorized
from ..inputs import refuse_too_long
from ..persistence.db import Database
from ..persistence.models import Token
from ..persistence.repositories import OrganizationRepository, TokenRepository, token_credentials
from ..persistence.types import utcnow
from . import audit, terms
from .audit import OPERATOR, Actor


@dataclass(frozen=True)
class TokenMember:
    """A personal token's member, read with the token at this request."""

    pk: int
    id: str
    role: str
    active: bool


@dataclass(frozen=True)
class Caller:
    """Who a valid token speaks for."""

    org_pk: int
    org_slug: str
    token_pk: int
    kind: str
    member_pk: int | None
    plan: str
    token_prefix: str
    member: TokenMember | None = None  # a personal token's member, None for a SCIM token
    # The seat counters, read with the token when asked for (PostgreSQL), as they were
    # then: for a decision that is checked where it is written (persistence/joining.py).
    allocation: Allocation | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `secret` is shown once and never stored."""

    secret: str
    prefix: str
    name: str
    kind: str


def issue(
    session: Any,
    org_pk: int,
    kind: str,
    name: str,
    member_pk: int | None = None,
    actor: Actor = OPERATOR,
) -> IssuedToken:
    """A new token, audited (SEATS.md §8) with its prefix and name, never its secret."""
    new = material.generate(kind)
    TokenRepository(session).add(
        Token(
            org_pk=org_pk,
            kind=kind,
            name=name,
            prefix=new.prefix,
            token_hash=new.token_hash,
            member_pk=member_pk,
        )
    )
    after = {"kind": kind, "name": name, "prefix": new.prefix}
    audit.record(session, org_pk, actor, "token.created", ("token", new.prefix), None, after)
    return IssuedToken(secret=new.secret, prefix=new.prefix, name=name, kind=kind)


def label(email: str, role: str) -> str:
    """The name of a token the server issues for a member: "email (role)", the email cut
    so that it fits the column (an email may be as long as the column itself)."""
    room = Token.name.type.length - len(f" ({role})")
    shown = email if len(email) <= room else email[: room - 1] + "…"
    return f"{shown} ({role})"


def create(db: Database, org_slug: str, kind: str, name: str) -> IssuedToken:
    refuse_too_long(name, Token.name.type.length, "name")
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(org_slug)
        return issue(session, org.pk, kind, name)


def listing(db: Database, org_slug: str, kind: str) -> list[dict[str, Any]]:
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).named(org_slug)
        return [_describe(t) for t in TokenRepository(session).of_org(org.pk, kind)]


def revoke(db: Database, org_slug: str, prefix: str) -> dict[str, Any]:
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(org_slug)
        token = TokenRepository(session).by_prefix(prefix)
        if token is None or token.org_pk != org.pk:
            raise NotFound(f"no token {prefix!r} in organization {org_slug!r}")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit.record(
                session, org.pk, OPERATOR, "token.revoked", ("token", prefix),
                {"revoked": False}, {"revoked": True}, "revoked by an operator",
            )  # fmt: skip
        return _describe(token)


def authenticate(
    db: Database, presented: str | None, kind: str, touch_seconds: int, allocation: bool = False
) -> Caller:
    """The caller a bearer token speaks for; one error for every way it can be wrong. With
    `allocation`, the organization's seat counters are read with it where that saves a
    round trip (PostgreSQL): Caller.allocation, else None."""
    parts = material.split(presented or "")
    if parts is None or parts[0] != kind:
        material.matches(presented or "", None)
        raise Unauthorized("a valid bearer token is required")
    # Read on every request, never cached: a revoked token fails from the next request on.
    token = db.first_read(lambda connection: token_credentials(connection, parts[1], allocation))
    valid = material.matches(presented or "", token.token_hash if token else None)
    if token is None or not valid or token.revoked_at is not None or token.kind != kind:
        raise Unauthorized("a valid bearer token is required")
    if _stale(token.last_used_at, touch_seconds):
        _touch(db, token.pk)
    # Every SCIM and admin-API request passes here: a term that has ended starts before
    # any seat is taken or counted under it (SEATS.md §2).
    counters = getattr(token, "allocation", None)
    if terms.catch_up(db, token.org_pk, token.term_end):
        counters = None  # the term had ended: the counts read may be the old term's
    member = None
    if token.member_pk is not None and token.member_id is not None:
        member = TokenMember(
            token.member_pk, token.member_id, token.member_role, token.member_active
        )
    return Caller(
        token.org_pk, token.slug, token.pk, kind, token.member_pk, token.plan, parts[1], member,
        Allocation({t: p for t, p, _ in counters}, {t: a for t, _, a in counters})
        if counters else None,
    )  # fmt: skip


def _stale(last_used: datetime | None, seconds: int) -> bool:
    return last_used is None or utcnow() - last_used > timedelta(seconds=seconds)


def _touch(db: Database, token_pk: int) -> None:
    """Record last use; at most once a TOKEN_TOUCH_SECONDS, so most requests stay read-only."""
    with db.unit_of_work(write=True) as session:
        token = session.get(Token, token_pk)
        if token is not None:
            token.last_used_at = utcnow()


def _describe(token: Token) -> dict[str, Any]:
    return {
        "prefix": token.prefix,
        "name": token.name,
        "kind": token.kind,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }
