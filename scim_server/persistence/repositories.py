"""Reading and writing rows. No SCIM rule lives here: callers pass SQL criteria."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Duplicate, NotFound
from .models import GroupMember, GroupRow, Organization, Token, UserRow

# Statements name at most this many rows: PostgreSQL caps bind parameters at 65,535 per
# statement and SQLite at 32,766, and a 50,000-member group must still be writable.
CHUNK = 1000


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def flush_unique(session: Session, what: str) -> None:
    """Flush, turning a uniqueness violation into the domain's Duplicate: the one place."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Duplicate(f"{what} already exists") from exc


class OrganizationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_slug(self, slug: str) -> Organization | None:
        return self.session.scalar(select(Organization).where(Organization.slug == slug))

    def named(self, slug: str) -> Organization:
        """The organization an operator or a caller names; NotFound when there is none."""
        org = self.by_slug(slug)
        if org is None:
            raise NotFound(f"no organization {slug!r}")
        return org

    def by_pk(self, pk: int) -> Organization | None:
        return self.session.get(Organization, pk)

    def add(self, org: Organization) -> Organization:
        self.session.add(org)
        flush_unique(self.session, f"organization {org.slug!r}")
        return org


class _ResourceRepository:
    """Shared reads for a tenant's users or groups."""

    row: Any

    def __init__(self, session: Session, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def get(self, resource_id: str, for_update: bool = False) -> Any:
        query = select(self.row).where(self.row.org_pk == self.org_pk, self.row.id == resource_id)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def count(self, criteria: ColumnElement[bool] | None) -> int:
        query = select(func.count()).select_from(self.row).where(self.row.org_pk == self.org_pk)
        if criteria is not None:
            query = query.where(criteria)
        return self.session.scalar(query) or 0

    def page(
        self,
        criteria: ColumnElement[bool] | None,
        order: Sequence[ColumnElement[Any]],
        offset: int,
        limit: int,
    ) -> list[Any]:
        query = select(self.row).where(self.row.org_pk == self.org_pk)
        if criteria is not None:
            query = query.where(criteria)
        query = query.order_by(*order).offset(offset).limit(limit)
        return list(self.session.scalars(query))

    def add(self, row: Any, what: str) -> Any:
        row.org_pk = self.org_pk
        self.session.add(row)
        flush_unique(self.session, what)
        return row

    def save(self, row: Any, what: str) -> Any:
        flush_unique(self.session, what)
        return row

    def delete(self, row: Any) -> None:
        self.session.delete(row)
        self.session.flush()


class UserRepository(_ResourceRepository):
    row = UserRow

    def pks_by_id(self, ids: Iterable[str]) -> dict[str, int]:
        """The row keys of the named users of this tenant; unknown ids are absent."""
        wanted = set(ids)
        if not wanted:
            return {}
        found: dict[str, int] = {}
        for batch in chunks(wanted):
            query = select(UserRow.id, UserRow.pk).where(
                UserRow.org_pk == self.org_pk, UserRow.id.in_(batch)
            )
            found.update({user_id: pk for user_id, pk in self.session.execute(query)})
        return found

    def groups_of(self, user_pks: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """(group id, displayName) of each user's groups, in one query for a page."""
        result: dict[int, list[tuple[str, str]]] = {pk: [] for pk in user_pks}
        if not user_pks:
            return result
        query = (
            select(GroupMember.user_pk, GroupRow.id, GroupRow.display_name)
            .join(GroupRow, GroupRow.pk == GroupMember.group_pk)
            .where(GroupMember.user_pk.in_(user_pks))
            .order_by(GroupRow.pk)
        )
        for user_pk, group_id, display in self.session.execute(query):
            result[user_pk].append((group_id, display))
        return result


class GroupRepository(_ResourceRepository):
    row = GroupRow

    def members_of(self, group_pks: Sequence[int]) -> dict[int, list[tuple[str, str | None]]]:
        """(user id, display) of each group's members, in one query for a page."""
        result: dict[int, list[tuple[str, str | None]]] = {pk: [] for pk in group_pks}
        if not group_pks:
            return result
        display = func.coalesce(GroupMember.display, UserRow.display_name, UserRow.user_name)
        query = (
            select(GroupMember.group_pk, UserRow.id, display)
            .join(UserRow, UserRow.pk == GroupMember.user_pk)
            .where(GroupMember.group_pk.in_(group_pks))
            .order_by(GroupMember.group_pk, UserRow.pk)
        )
        for group_pk, user_id, name in self.session.execute(query):
            result[group_pk].append((user_id, name))
        return result

    def add_members(self, group_pk: int, members: Mapping[int, str | None]) -> int:
        """Insert memberships (user pk -> display), ignoring those that exist; how many were new."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        added = 0
        for batch in chunks(members):
            rows = [{"group_pk": group_pk, "user_pk": pk, "display": members[pk]} for pk in batch]
            # RETURNING counts what was inserted: psycopg reports rowcount -1 for this form.
            statement = (
                insert(GroupMember)
                .values(rows)
                .on_conflict_do_nothing()
                .returning(GroupMember.user_pk)
            )
            added += len(self.session.execute(statement).all())
        return added

    def remove_members(self, group_pk: int, user_pks: Iterable[int] | None = None) -> int:
        """Delete the named memberships, or all of them when none are named."""
        statement = delete(GroupMember).where(GroupMember.group_pk == group_pk)
        if user_pks is None:
            return self.session.execute(statement).rowcount or 0  # type: ignore[attr-defined]
        removed = 0
        for batch in chunks(set(user_pks)):
            result = self.session.execute(statement.where(GroupMember.user_pk.in_(batch)))
            removed += result.rowcount or 0  # type: ignore[attr-defined]
        return removed

    def member_pks(self, group_pk: int) -> set[int]:
        query = select(GroupMember.user_pk).where(GroupMember.group_pk == group_pk)
        return set(self.session.scalars(query))


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_prefix(self, prefix: str) -> Token | None:
        return self.session.scalar(select(Token).where(Token.prefix == prefix))

    def by_prefix_with_org(self, prefix: str) -> tuple[Token, str, str] | None:
        """A token with its organization's slug and plan in one query: every request authenticates.

        (Loading the Organization would also load its seat allocations, a second query.)
        """
        query = (
            select(Token, Organization.slug, Organization.plan)
            .join(Organization, Organization.pk == Token.org_pk)
            .where(Token.prefix == prefix)
        )
        row = self.session.execute(query).first()
        return (row[0], row[1], row[2]) if row is not None else None

    def of_org(self, org_pk: int, kind: str) -> list[Token]:
        query = (
            select(Token)
            .where(Token.org_pk == org_pk, Token.kind == kind)
            .order_by(Token.created_at, Token.pk)
        )
        return list(self.session.scalars(query))

    def add(self, token: Token) -> Token:
        self.session.add(token)
        flush_unique(self.session, "token")
        return token
