"""Who acts: a member, through the admin API (a personal token) or the console (a session).

Both channels build their `Acting` with `acting_as`, from the member as the database holds
them at this request: a member deactivated, removed or demoted loses what they lose at
their next request, whichever way they came in (SEATS.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import roles
from ..domain.plans import CATALOG, Plan
from ..domain.roles import Role
from ..errors import Unauthorized
from ..persistence.db import Database
from ..persistence.models import UserRow
from . import tokens
from .audit import Actor


@dataclass(frozen=True)
class Acting:
    """The member a request acts as, with the role read from the database for this request."""

    org_pk: int
    org_slug: str
    plan: Plan
    member_pk: int
    member_id: str
    role: Role
    # The channel the audit log records (SEATS.md §8): admin_api or console.
    source: str = "admin_api"

    @property
    def actor(self) -> Actor:
        return Actor("member", self.member_id, self.source)

    def may(self, action: str) -> bool:
        return roles.may(self.role, action)

    def require(self, *actions: str) -> None:
        """Any one of `actions` suffices; otherwise NotPermitted names the least role needed."""
        if not any(self.may(action) for action in actions):
            roles.require(self.role, min(actions, key=lambda a: roles.PERMISSIONS[a]))


def identify(db: Database, presented: str | None, touch_seconds: int) -> Acting:
    """The token's member, as they are now: a role change or deactivation applies at once."""
    caller = tokens.authenticate(db, presented, "api", touch_seconds)
    # The member comes with the token, read in the same statement (token_credentials).
    return acting_as(caller.member, caller.org_pk, caller.org_slug, caller.plan, "admin_api")


def acting_as(
    member: UserRow | tokens.TokenMember | None, org_pk: int, org_slug: str, plan: str, source: str
) -> Acting:
    """The member a request acts as, or Unauthorized: removed and deactivated members act
    no more, and the role is the one read now."""
    if member is None or not member.active:
        raise Unauthorized("a valid bearer token is required")
    return Acting(
        org_pk, org_slug, CATALOG[plan], member.pk, member.id, roles.parse(member.role), source
    )
