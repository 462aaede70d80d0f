"""Who calls the admin API: a personal API token acting as its member (SEATS.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import roles
from ..domain.plans import CATALOG, Plan
from ..domain.roles import Role
from ..errors import Unauthorized
from ..persistence.db import Database
from ..persistence.members import MemberRepository
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

    @property
    def actor(self) -> Actor:
        return Actor("member", self.member_id, "admin_api")

    def may(self, action: str) -> bool:
        return roles.may(self.role, action)

    def require(self, *actions: str) -> None:
        """Any one of `actions` suffices; otherwise NotPermitted names the least role needed."""
        if not any(self.may(action) for action in actions):
            roles.require(self.role, min(actions, key=lambda a: roles.PERMISSIONS[a]))


def identify(db: Database, presented: str | None, touch_seconds: int) -> Acting:
    """The token's member, as they are now: a role change or deactivation applies at once."""
    caller = tokens.authenticate(db, presented, "api", touch_seconds)
    with db.unit_of_work() as session:
        member = (
            MemberRepository(session, caller.org_pk).by_pk(caller.member_pk)
            if caller.member_pk is not None
            else None
        )
        if member is None or not member.active:
            raise Unauthorized("a valid bearer token is required")
        return Acting(
            caller.org_pk,
            caller.org_slug,
            CATALOG[caller.plan],
            member.pk,
            member.id,
            roles.parse(member.role),
        )
