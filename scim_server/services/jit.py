"""JIT provisioning (SEATS.md §6): a verified OIDC identity finds, or becomes, its member.

A returning member is found by (issuer, subject), never by email. A first sign-in creates
a member (role `member`, userName = email) whose seat the automatic rules resolve with the
groups claim matched against the group mapping (§4, §5); or, when the provider verified
the email and the member of that email has no identity yet, links to that member.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import identity as rules
from ..domain.plans import CATALOG
from ..errors import (
    DomainError,
    Duplicate,
    EmailDomainRefused,
    EmailMissing,
    EmailUnverified,
    IdentityConflict,
    IdTokenInvalid,
    MemberDeactivated,
    NotFound,
)
from ..inputs import refuse_forbidden, refuse_too_long
from ..persistence.db import Database
from ..persistence.identity import IdentityRepository, IdentityRow
from ..persistence.members import MemberRepository
from ..persistence.models import UserRow
from ..persistence.repositories import OrganizationRepository, UserRepository
from ..persistence.types import utcnow
from ..scim.resources import email_user_columns, name_key
from . import audit, group_mappings, members, terms
from .audit import Actor
from .oidc_settings import SignInSettings
from .resources import stamp
from .seats import SeatDesk


@dataclass(frozen=True)
class Identity:
    """What a verified ID token says about who signs in."""

    issuer: str
    subject: str
    email: str | None
    email_verified: Any  # True, False, or absent (None): providers differ
    name: str | None
    groups: list[str]

    @classmethod
    def from_claims(cls, issuer: str, claims: Mapping[str, Any], groups_claim: str) -> Identity:
        email, name = claims.get("email"), claims.get("name")
        who = cls(
            issuer,
            str(claims["sub"]),
            email.strip() if isinstance(email, str) and email.strip() else None,
            claims.get("email_verified"),
            name if isinstance(name, str) and name else None,
            rules.claim_groups(claims, groups_claim),
        )
        try:
            who._check_storable()
        except DomainError as exc:
            raise IdTokenInvalid(f"the ID token's claims cannot be kept: {exc.message}") from exc
        return who

    def _check_storable(self) -> None:
        """An ID token's claims are input like any body: held to the columns they fill and
        to the text rule (inputs.py), with the claim named."""
        for claim, value, column in (
            ("sub", self.subject, IdentityRow.subject),
            ("email", self.email, UserRow.user_name),
            ("name", self.name, UserRow.display_name),
        ):
            if value is not None:
                refuse_forbidden(value, claim)
                refuse_too_long(value, column.type.length, claim)
        if self.email is not None:
            refuse_too_long(name_key(self.email), UserRow.user_name_key.type.length, "email")
        for group in self.groups:
            refuse_forbidden(group, "groups")

    @property
    def actor(self) -> Actor:
        return Actor("jit", self.subject, "jit")


@dataclass(frozen=True)
class SignedIn:
    member: members.Member
    created: bool


def sign_in(db: Database, settings: SignInSettings, who: Identity) -> SignedIn:
    """One unit of work; a first sign-in racing its twin retries once as a returning one."""
    email = checked_email(settings, who)
    terms.catch_up(db, settings.org_pk, settings.term_end)  # seats of the current term
    for attempt in (1, 2):
        try:
            with db.unit_of_work(write=True) as session:
                return _sign_in(session, settings, who, email)
        except Duplicate:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def me(db: Database, slug: str, member_id: str) -> members.Member:
    """The signed-in member as they are now: a deactivation ends the session at once."""
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).named(slug)
        member = MemberRepository(session, org.pk).by_id(member_id)
        if member is None:
            raise NotFound("this session's member no longer exists")
        if not member.active:
            raise MemberDeactivated("this member is deactivated")
        return members.describe(member, CATALOG[org.plan])


def checked_email(settings: SignInSettings, who: Identity) -> str:
    """The allowed domains apply at every sign-in, so narrowing them shuts members out."""
    if who.email is None:
        raise EmailMissing("the ID token carries no email; ask for the `email` scope")
    if who.email_verified is False:
        raise EmailUnverified("the identity provider says this email is not verified")
    if not rules.domain_allowed(who.email, settings.allowed_domains):
        raise EmailDomainRefused(
            f"{rules.email_domain(who.email) or who.email!r} is not an allowed email domain "
            "of this organization"
        )
    return who.email


def _sign_in(session: Session, settings: SignInSettings, who: Identity, email: str) -> SignedIn:
    identities = IdentityRepository(session, settings.org_pk)
    linked = identities.by_subject(who.issuer, who.subject)
    if linked is not None:
        member = MemberRepository(session, settings.org_pk).by_pk(linked.user_pk, for_update=True)
        assert member is not None  # the identity row cascades with its member
        _returning(session, settings, who, member, linked)
        return SignedIn(members.describe(member, settings.plan), created=False)
    existing = _by_user_name(session, settings.org_pk, email)
    already = existing is not None and identities.of_member(existing.pk) is not None
    try:
        decision = rules.first_sign_in(existing is not None, already, who.email_verified)
    except rules.LinkRefused as exc:
        raise IdentityConflict(str(exc)) from exc
    if decision is rules.Link.LINK and existing is not None:
        _link(session, settings, who, existing)
        return SignedIn(members.describe(existing, settings.plan), created=False)
    member = _create(session, settings, who, email)
    return SignedIn(members.describe(member, settings.plan), created=True)


def _returning(
    session: Session, settings: SignInSettings, who: Identity, member: UserRow, linked: IdentityRow
) -> None:
    if not member.active:
        raise MemberDeactivated("this member is deactivated and cannot sign in")
    linked.last_sign_in_at = utcnow()
    members.signed_in(member, linked.last_sign_in_at)
    _refresh_groups(session, settings, who, member)


def _link(session: Session, settings: SignInSettings, who: Identity, member: UserRow) -> None:
    """An existing (e.g. SCIM-provisioned) member signs in for the first time."""
    if not member.active:
        raise MemberDeactivated("this member is deactivated and cannot sign in")
    IdentityRepository(session, settings.org_pk).add(
        IdentityRow(user_pk=member.pk, issuer=who.issuer, subject=who.subject)
    )
    members.signed_in(member, utcnow())
    audit.record(
        session, settings.org_pk, who.actor, "member.identity_linked", ("member", member.id),
        None, {"issuer": who.issuer, "subject": who.subject},
        "first sign-in through OIDC with a verified email of an existing member",
    )  # fmt: skip
    _refresh_groups(session, settings, who, member)


def _refresh_groups(
    session: Session, settings: SignInSettings, who: Identity, member: UserRow
) -> None:
    """A changed groups claim re-applies the mapping to this member (pinned ones stay)."""
    if (member.claim_groups or []) == who.groups:
        return
    member.claim_groups = who.groups
    session.flush()
    group_mappings.reevaluate(session, settings.org_pk, settings.plan, who.actor, [member.pk])


def _create(session: Session, settings: SignInSettings, who: Identity, email: str) -> UserRow:
    row = stamp(
        UserRow(**email_user_columns(email, who.name), role="member", claim_groups=who.groups)
    )
    members.signed_in(row, utcnow())

    def insert() -> None:
        UserRepository(session, settings.org_pk).add(row, f"a user with userName {email!r}")
        IdentityRepository(session, settings.org_pk).add(
            IdentityRow(user_pk=row.pk, issuer=who.issuer, subject=who.subject)
        )
        audit.record(
            session, settings.org_pk, who.actor, "member.provisioned", ("member", row.id), None,
            {"userName": email, "role": "member", "issuer": who.issuer, "subject": who.subject,
             "groups": who.groups},
            "first sign-in through OIDC",
        )  # fmt: skip

    mapped = group_mappings.mapped_seat(session, settings.org_pk, who.groups)
    SeatDesk(session, settings.org_pk, settings.plan, who.actor).provision(
        row, insert, mapped=mapped
    )
    return row


def _by_user_name(session: Session, org_pk: int, email: str) -> UserRow | None:
    return session.scalar(
        select(UserRow)
        .where(UserRow.org_pk == org_pk, UserRow.user_name_key == name_key(email))
        .with_for_update()
    )
