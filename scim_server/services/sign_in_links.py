"""One-time console sign-in links (docs/console.md): an operator makes one, a member uses it.

For the first owner, and for organizations without OIDC. The secret is shown once, in the
link; only its SHA-256 is stored (as for tokens: 256 random bits need no slow hash). A
link works once and expires; making it and using it are audited (SEATS.md §8).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..auth.tokens import hash_token
from ..domain.plans import CATALOG
from ..errors import InvalidInput, MemberDeactivated, SignInLinkInvalid
from ..persistence.db import Database
from ..persistence.members import MemberRepository
from ..persistence.models import Organization, UserRow
from ..persistence.repositories import OrganizationRepository
from ..persistence.sign_in_links import SignInLinkRepository
from ..persistence.types import utcnow
from . import audit, members
from .audit import OPERATOR, Actor
from .operators import member_by_email

DEFAULT_MINUTES = 15
MAX_MINUTES = 24 * 60
INVALID = (
    "this sign-in link cannot be used: it was used already, it has expired, or it is not "
    "a link of this organization. Ask for a new one."
)


@dataclass(frozen=True)
class IssuedLink:
    path: str  # the secret is in it: shown once, never stored
    expires_at: datetime


@dataclass(frozen=True)
class Holder:
    """Whom a usable link signs in: shown on its landing page, to the link's holder."""

    org_name: str
    member: members.Member


def path(slug: str, secret: str) -> str:
    """Where the console serves the link's landing page (api/console/views.py)."""
    return f"/console/{slug}/sign-in/{secret}"


def issue(db: Database, slug: str, email: str, minutes: int = DEFAULT_MINUTES) -> IssuedLink:
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"a link lasts 1 to {MAX_MINUTES} minutes, not {minutes}")
    secret = secrets.token_urlsafe(32)
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(slug)
        member = member_by_email(session, org.pk, email)
        if not member.active:
            raise MemberDeactivated(f"{email} is deactivated and cannot sign in")
        expires = utcnow() + timedelta(minutes=minutes)
        SignInLinkRepository(session, org.pk).add(member.pk, hash_token(secret), expires)
        audit.record(
            session, org.pk, OPERATOR, "console.link_created", ("member", member.id),
            None, {"expires_at": expires.isoformat()}, "a one-time console sign-in link",
        )  # fmt: skip
    return IssuedLink(path(slug, secret), expires)


def holder(db: Database, slug: str, secret: str) -> Holder:
    """Whom the link would sign in; reads only, so a mail scanner's GET uses nothing up."""
    with db.unit_of_work() as session:
        org = _organization(session, slug)
        link = SignInLinkRepository(session, org.pk).usable(hash_token(secret), utcnow())
        member = _active_member(session, org.pk, link.user_pk if link else None)
        return Holder(org.name, members.describe(member, CATALOG[org.plan]))


def use(db: Database, slug: str, secret: str) -> str:
    """Use the link up and sign its member in; the member's id. Atomic: see the repository."""
    now = utcnow()
    with db.unit_of_work(write=True) as session:
        org = _organization(session, slug)
        user_pk = SignInLinkRepository(session, org.pk).use(hash_token(secret), now)
        # A deactivated member's link is refused and, rolled back with this unit of work,
        # stays unused: it works again only if they are reactivated before it expires.
        member = _active_member(session, org.pk, user_pk, for_update=True)
        members.signed_in(member, now)
        audit.record(
            session, org.pk, Actor("member", member.id, "console"), "console.link_used",
            ("member", member.id), None, None, "signed in to the console with a one-time link",
        )  # fmt: skip
        return member.id


def _organization(session: Session, slug: str) -> Organization:
    org = OrganizationRepository(session).by_slug(slug)
    if org is None:
        raise SignInLinkInvalid(INVALID)
    return org


def _active_member(
    session: Session, org_pk: int, user_pk: int | None, for_update: bool = False
) -> UserRow:
    member = None
    if user_pk is not None:
        member = MemberRepository(session, org_pk).by_pk(user_pk, for_update=for_update)
    if member is None or not member.active:
        raise SignInLinkInvalid(INVALID)
    return member
