"""Members as the admin API reads them: by id, in batches, and filtered pages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, TextClause, and_, func, not_, or_, select, text
from sqlalchemy.orm import Session

from .models import INACTIVE, STAFF, WAITING, UserRow
from .repositories import chunks

# A page of members is found one of two ways (MemberRepository.page). When one criterion
# admits at most this many members, their keys are read from its index and the page is
# sorted from those rows; otherwise the page walks the userName order and skips the rows
# the criteria refuse, which finds a page quickly exactly because the criteria admit many.
CANDIDATES = 2000


@dataclass(frozen=True)
class MemberFilter:
    seat_type: str | None = None
    role: str | None = None
    active: bool | None = None
    waiting: bool | None = None
    # The start of a userName, email, displayName or family name, as a search key.
    search: str | None = None
    # An email, exactly, as a search key (the userName's key when no email key is kept).
    email: str | None = None
    # Not signed in since then, or never: the idle seats an owner may reclaim.
    not_seen_since: datetime | None = None


@dataclass(frozen=True)
class MemberName:
    """How people read a member: their userName and display name (the id stays in URLs)."""

    user_name: str
    display_name: str | None


@dataclass(frozen=True)
class MemberSlice:
    rows: list[UserRow]
    more: bool  # more rows lie beyond the page in its direction
    total: int  # the members the criteria admit; at least this many when not exact
    exact: bool


class MemberRepository:
    def __init__(self, session: Session, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def by_pk(self, pk: int, for_update: bool = False) -> UserRow | None:
        return self.session.scalar(self._one(UserRow.pk == pk, for_update))

    def by_id(self, member_id: str, for_update: bool = False) -> UserRow | None:
        return self.session.scalar(self._one(UserRow.id == member_id, for_update))

    def by_ids(self, ids: Iterable[str], for_update: bool = False) -> dict[str, UserRow]:
        """The named members of this organization, locked in key order (no deadlocks)."""
        found: dict[str, UserRow] = {}
        for batch in chunks(sorted(set(ids))):
            query = self._one(UserRow.id.in_(batch), for_update).order_by(UserRow.pk)
            found.update({row.id: row for row in self.session.scalars(query)})
        return found

    def names(self, ids: Iterable[str | None]) -> dict[str, MemberName]:
        """The names of the members of this organization among `ids` (unknown ids: absent)."""
        wanted = sorted({i for i in ids if i is not None and "\x00" not in i})
        found: dict[str, MemberName] = {}
        for batch in chunks(wanted):
            query = select(UserRow.id, UserRow.user_name, UserRow.display_name).where(
                UserRow.org_pk == self.org_pk, UserRow.id.in_(batch)
            )
            found.update({i: MemberName(u, d) for i, u, d in self.session.execute(query)})
        return found

    def key_of(self, member_id: str) -> str | None:
        """The userName key a page cursor names (pages are in userName order)."""
        if "\x00" in member_id:
            return None
        query = select(UserRow.user_name_key).where(
            UserRow.org_pk == self.org_pk, UserRow.id == member_id
        )
        return self.session.scalar(query)

    def with_roles(self, roles: Iterable[str], limit: int) -> list[UserRow]:
        """Active members holding one of `roles` (none of them `member`: read through the
        staff roles' partial index), the earliest first, at most `limit`."""
        query = self._one(UserRow.role.in_(list(roles)), for_update=False).where(
            text(STAFF), UserRow.active.is_(True)
        )
        return list(self.session.scalars(query.order_by(UserRow.pk).limit(limit)))

    def page(
        self,
        wanted: MemberFilter,
        limit: int,
        after: str | None = None,
        before: str | None = None,
        counted: bool = True,
    ) -> MemberSlice:
        """`limit` members in userName order, after (or before) a userName key, and how many
        the criteria admit (unless not `counted`: then at least the page's). Never more than
        CANDIDATES + `limit` rows read (CANDIDATES)."""
        criteria = self._criteria(wanted)
        candidates = self._candidates(wanted)
        if candidates == []:
            return MemberSlice([], False, 0, True)
        if candidates is not None:
            # The keys came from this organization's rows; naming its org_pk again would
            # let the planner walk an org_pk index instead of fetching these rows by key.
            criteria = [UserRow.pk.in_(candidates), *criteria]
        else:
            criteria = [UserRow.org_pk == self.org_pk, *criteria]
        rows = self._rows(criteria, limit, after, before)
        more = len(rows) > limit
        rows = rows[:limit]
        if before is not None:
            rows.reverse()
        if not counted:
            return MemberSlice(rows, more, len(rows), False)
        total, exact = self._total(criteria, wanted, candidates is not None)
        return MemberSlice(rows, more, total, exact)

    def _rows(
        self, criteria: list[ColumnElement[bool]], limit: int, after: str | None, before: str | None
    ) -> list[UserRow]:
        key = UserRow.user_name_key
        query = select(UserRow).where(*criteria)
        if before is not None:
            query = query.where(key < before).order_by(key.desc())
        else:
            query = query.where(key > after) if after is not None else query
            query = query.order_by(key)
        return list(self.session.scalars(query.limit(limit + 1)))

    def _total(
        self, criteria: list[ColumnElement[bool]], wanted: MemberFilter, narrowed: bool
    ) -> tuple[int, bool]:
        if not narrowed and (wanted.search is not None or wanted.email is not None):
            # Counting every match of a common prefix reads them all: say "more than".
            return CANDIDATES, False
        query = select(func.count()).select_from(UserRow).where(*criteria)
        return self.session.scalar(query) or 0, True

    def _candidates(self, wanted: MemberFilter) -> list[int] | None:
        """The keys of the members the rarest criterion admits, if it admits CANDIDATES or
        fewer; each criterion's keys come from its own index (covering: no row is read)."""
        for selects in self._narrowing(wanted):
            found: set[int] = set()
            for query in selects:
                found.update(self.session.scalars(query.limit(CANDIDATES + 1)))
                if len(found) > CANDIDATES:
                    break
            if len(found) <= CANDIDATES:
                return sorted(found)
        return None

    def _narrowing(self, wanted: MemberFilter) -> Iterator[list[Select[Any]]]:
        """Per indexed criterion, the statements that list the keys it admits."""

        def keys(*criteria: ColumnElement[bool] | TextClause) -> Select[Any]:
            return select(UserRow.pk).where(UserRow.org_pk == self.org_pk, *criteria)

        if wanted.email is not None:
            yield [
                keys(UserRow.user_name_key == wanted.email),
                keys(UserRow.email_key == wanted.email),
            ]
        if wanted.search is not None:
            yield [keys(*prefix(column, wanted.search)) for column in SEARCHED]
        if wanted.waiting:
            yield [keys(text(WAITING))]
        if wanted.role is not None and wanted.role != "member":
            yield [keys(UserRow.role == wanted.role, text(STAFF))]
        if wanted.active is False:
            yield [keys(text(INACTIVE))]
        if wanted.not_seen_since is not None:
            # Two ranges of (org_pk, last_sign_in_at): never (NULL), and before the date.
            yield [
                keys(UserRow.last_sign_in_at.is_(None)),
                keys(UserRow.last_sign_in_at < wanted.not_seen_since),
            ]
        if wanted.seat_type is not None:
            yield [keys(UserRow.seat_type == wanted.seat_type)]

    @staticmethod
    def _criteria(wanted: MemberFilter) -> list[ColumnElement[bool]]:
        criteria: list[ColumnElement[bool]] = []
        if wanted.seat_type is not None:
            criteria.append(UserRow.seat_type == wanted.seat_type)
        if wanted.role is not None:
            criteria.append(UserRow.role == wanted.role)
        if wanted.active is not None:
            criteria.append(UserRow.active.is_(wanted.active))
        if wanted.waiting is not None:
            waiting = UserRow.waiting_since.is_not(None)
            criteria.append(waiting if wanted.waiting else not_(waiting))
        if wanted.not_seen_since is not None:
            seen = UserRow.last_sign_in_at
            criteria.append(or_(seen.is_(None), seen < wanted.not_seen_since))
        if wanted.email is not None:
            criteria.append(
                or_(
                    UserRow.email_key == wanted.email,
                    and_(UserRow.email_key.is_(None), UserRow.user_name_key == wanted.email),
                )
            )
        if wanted.search is not None:
            criteria.append(or_(*(and_(*prefix(c, wanted.search)) for c in SEARCHED)))
        return criteria

    def _one(self, criterion: ColumnElement[bool], for_update: bool) -> Select[UserRow]:
        query = select(UserRow).where(UserRow.org_pk == self.org_pk, criterion)
        return query.with_for_update() if for_update else query


# A search finds a member by the start of any of these (each has an index with org_pk).
SEARCHED = (
    UserRow.user_name_key,
    UserRow.email_key,
    UserRow.display_name_key,
    UserRow.family_name_key,
)


def prefix(column: Any, start: str) -> tuple[ColumnElement[bool], ...]:
    """The values that begin with `start`, as a range of the column's index: the key
    columns compare by code point on both databases (models.Key)."""
    end = next_string(start)
    if end is None:
        return (column >= start,)
    return (column >= start, column < end)


def next_string(start: str) -> str | None:
    """The least string greater than every string that begins with `start`, or None."""
    while start:
        last = ord(start[-1]) + 1
        if last == 0xD800:  # surrogates are not characters: skip past them
            last = 0xE000
        if last <= 0x10FFFF:
            return start[:-1] + chr(last)
        start = start[:-1]
    return None
