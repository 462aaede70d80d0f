"""Each organization's OIDC provider (SEATS.md §6): set by an operator, read by admins.

The client secret is sealed (auth/sealing.py) before it is stored, and no reader, log or
audit event ever gets it back: only the sign-in flow unseals it, to call the token endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..auth.sealing import SecretBox, UnreadableSecret
from ..domain import identity
from ..domain.plans import CATALOG, Plan
from ..errors import InvalidInput, NotFound, SecretKeyMissing
from ..inputs import refuse_too_long
from ..persistence.db import Database
from ..persistence.identity import OidcSettingsRepository, OidcSettingsRow
from ..persistence.repositories import OrganizationRepository
from ..persistence.types import utcnow
from . import audit
from .access import Acting
from .audit import OPERATOR

# http:// is accepted for these hosts only: a provider on the operator's own machine.
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class SignInSettings:
    org_pk: int
    slug: str
    plan: Plan
    issuer: str
    client_id: str
    client_secret: str
    groups_claim: str
    allowed_domains: tuple[str, ...]
    term_end: datetime  # the organization's: a sign-in starts a term that has ended


def configure(
    db: Database,
    secret_key: str | None,
    slug: str,
    issuer: str,
    client_id: str,
    client_secret: str | None,
    groups_claim: str,
    allowed_domains: Iterable[str],
) -> dict[str, Any]:
    """Create or replace the settings; without a new secret, the stored one is kept."""
    box = SecretBox(secret_key)
    fields = _checked(issuer, client_id, groups_claim, allowed_domains)
    with db.unit_of_work(write=True) as session:
        org = OrganizationRepository(session).named(slug)
        repository = OidcSettingsRepository(session)
        row = repository.of_org(org.pk, for_update=True)
        before = describe(row, slug) if row else None
        if row is None and not client_secret:
            raise InvalidInput("a client secret is required when OIDC sign-in is first set")
        if row is None:
            row = OidcSettingsRow(org_pk=org.pk, client_secret_sealed="")
            session.add(row)
        for name, value in fields.items():
            setattr(row, name, value)
        if client_secret:
            row.client_secret_sealed = box.seal(client_secret)
        row.updated_at = utcnow()
        repository.add(row)
        after = describe(row, slug)
        replaced = "; client secret replaced" if client_secret and before else ""
        audit.record(
            session, org.pk, OPERATOR, "oidc.configured", ("organization", slug),
            before, after, f"set by an operator{replaced}",
        )  # fmt: skip
        return after


def show(db: Database, slug: str) -> dict[str, Any]:
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).named(slug)
        return describe(_stored(session, org.pk, slug), slug)


def read(db: Database, acting: Acting) -> dict[str, Any]:
    """The admin API's view (admin and higher): everything but the secret."""
    acting.require("read_oidc")
    with db.unit_of_work() as session:
        return describe(_stored(session, acting.org_pk, acting.org_slug), acting.org_slug)


def offered(db: Database, slug: str) -> bool:
    """Whether the console's sign-in page offers the organization's provider. Anyone may
    ask: /sso/{org}/login already answers it (a redirect, or the 404 of for_sign_in)."""
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).by_slug(slug)
        return org is not None and OidcSettingsRepository(session).of_org(org.pk) is not None


def for_sign_in(db: Database, secret_key: str | None, slug: str) -> SignInSettings:
    """The settings with the secret unsealed. An unknown organization and one without OIDC
    answer alike, so that the sign-in page tells an anonymous caller nothing (SEATS.md §3),
    and before the secret key is asked for: a deployment without one still answers 404 for
    an organization that is not there (the key's 503 is for those that are)."""
    with db.unit_of_work() as session:
        org = OrganizationRepository(session).by_slug(slug)
        row = OidcSettingsRepository(session).of_org(org.pk) if org else None
        if org is None or row is None:
            raise NotFound(f"sign-in through OIDC is not configured for {slug!r}")
        try:
            secret = SecretBox(secret_key).unseal(row.client_secret_sealed)
        except UnreadableSecret as exc:
            raise SecretKeyMissing(
                "the stored client secret does not open with this SCIM_SERVER_SECRET_KEY "
                "(was the key changed?); an operator must set the secret again"
            ) from exc
        return SignInSettings(
            org.pk, slug, CATALOG[org.plan], row.issuer, row.client_id, secret,
            row.groups_claim, tuple(row.allowed_domains), org.term_end,
        )  # fmt: skip


def describe(row: OidcSettingsRow, slug: str) -> dict[str, Any]:
    return {
        "issuer": row.issuer,
        "client_id": row.client_id,
        "client_secret_set": bool(row.client_secret_sealed),
        "groups_claim": row.groups_claim,
        "allowed_domains": list(row.allowed_domains),
        "login_path": f"/sso/{slug}/login",
        "redirect_path": f"/sso/{slug}/callback",
        "updated_at": row.updated_at.isoformat(),
    }


def _stored(session: Any, org_pk: int, slug: str) -> OidcSettingsRow:
    row = OidcSettingsRepository(session).of_org(org_pk)
    if row is None:
        raise NotFound(f"OIDC sign-in is not configured for {slug!r}")
    return row


def _checked(
    issuer: str, client_id: str, groups_claim: str, allowed_domains: Iterable[str]
) -> dict[str, Any]:
    try:
        domains = identity.allowed_domains(allowed_domains)
    except ValueError as exc:
        raise InvalidInput(f"allowed domains: {exc}") from exc
    if not client_id.strip():
        raise InvalidInput("the client id is empty")
    if not groups_claim.strip():
        raise InvalidInput("the groups claim name is empty")
    refuse_too_long(issuer, OidcSettingsRow.issuer.type.length, "issuer")
    refuse_too_long(client_id.strip(), OidcSettingsRow.client_id.type.length, "client id")
    refuse_too_long(groups_claim.strip(), OidcSettingsRow.groups_claim.type.length, "groups claim")
    return {
        "issuer": checked_issuer(issuer),
        "client_id": client_id.strip(),
        "groups_claim": groups_claim.strip(),
        "allowed_domains": domains,
    }


def checked_issuer(issuer: str) -> str:
    """OIDC Discovery §2: an https URL without query or fragment, kept exactly as given
    (the ID token's `iss` must equal it character for character)."""
    parts = urlsplit(issuer)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    if not secure or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput(
            f"issuer {issuer!r} must be an https URL without query or fragment "
            "(http only for localhost)"
        )
    return issuer
