"""Reading and writing rows. No SCIM rule lives here: callers pass SQL criteria."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, partial
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Executable,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from ..errors import Duplicate, UnknownOrganization
from .db import Reader, dialect_of, orm_session
from .joining import insert_joining
from .models import GroupMember, GroupRow, Organization, SeatAllocation, Token, UserRow
from .prepared import Prepared
from .types import utcnow

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


# The statements every request runs are built once per process, with bound parameters:
# building a statement and computing its cache key cost more CPU than SQLite takes to run
# it, and a statement object that is reused keeps its cache key.


@cache
def _by_id(row: Any, for_update: bool) -> Executable:
    query = select(row).where(row.org_pk == bindparam("org_pk"), row.id == bindparam("id"))
    return query.with_for_update() if for_update else query


@cache
def _page(row: Any) -> Select[Any]:
    table = cast(Table, row.__table__)
    return select(table).where(table.c.org_pk == bindparam("org_pk"))


@cache
def _page_equal(row: Any, column: str) -> Prepared:
    """A page of the rows whose column equals a value, in creation order (the order a
    list without sortBy has), on the driver: the lookup IdPs send before each write."""
    table = cast(Table, row.__table__)
    return Prepared(
        _page(row)
        .where(table.c[column] == bindparam("value"))
        .order_by(table.c.created, table.c.pk)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@cache
def _read(row: Any) -> Select[Any]:
    return _page(row).where(row.__table__.c.id == bindparam("id"))


@cache
def _read_prepared(row: Any, for_update: bool) -> Prepared:
    """One row by id, on the driver: a GET by id, and every group PATCH before it writes."""
    statement = _read(row)
    return Prepared(statement.with_for_update() if for_update else statement)


@cache
def _update(row: Any, columns: tuple[str, ...]) -> Prepared:
    """UPDATE one row by key, setting `columns` (a group PATCH sets version and
    last_modified): one statement per set of columns the code writes, on the driver."""
    table = cast(Table, row.__table__)
    return Prepared(update(table).where(table.c.pk == bindparam("b_pk")), columns)


@cache
def _insert_returning(row: Any) -> tuple[Prepared, tuple[tuple[str, Callable[[], Any]], ...]]:
    """The INSERT of a new row, returning its key, and each other column's default.

    Every value is sent, so only the generated key comes back: the row object already
    holds the rest, and reading all columns back costs more than the INSERT itself.
    """
    table = cast(Table, row.__table__)
    defaults = tuple((c.key, _default(c)) for c in table.c if not c.primary_key)
    statement = insert(table).returning(*table.primary_key.columns)
    return Prepared(statement, [key for key, _ in defaults]), defaults


def _default(column: Column[Any]) -> Callable[[], Any]:
    """A column's Python-side default as a function of nothing (SQLAlchemy's take a context)."""
    default = column.default
    if default is None:
        if column.server_default is not None:
            raise TypeError(f"{column}: a server default alone would be overwritten with NULL")
        return lambda: None
    if default.is_callable:
        return partial(default.arg, None)  # type: ignore[attr-defined]
    if default.is_scalar:
        return partial(_same, default.arg)  # type: ignore[attr-defined]
    raise TypeError(f"{column}: only scalar and callable defaults are supported")


def _same(value: Any) -> Any:
    return value


@cache
def _count(row: Any) -> Select[Any]:
    table = cast(Table, row.__table__)
    return select(func.count()).select_from(table).where(table.c.org_pk == bindparam("org_pk"))


# Reads of columns run on the tables, not the mapped classes: no ORM objects are loaded, and
# SQLAlchemy takes its shorter core path.
_USERS = cast(Table, UserRow.__table__)
_GROUPS = cast(Table, GroupRow.__table__)
_MEMBERS = cast(Table, GroupMember.__table__)


_pk_by_id = Prepared(
    select(_USERS.c.id, _USERS.c.pk).where(
        _USERS.c.org_pk == bindparam("org_pk"), _USERS.c.id == bindparam("id")
    )
)


@cache
def _pks_by_id() -> Executable:
    return select(_USERS.c.id, _USERS.c.pk).where(
        _USERS.c.org_pk == bindparam("org_pk"), _USERS.c.id.in_(bindparam("ids", expanding=True))
    )


@cache
def _groups_of() -> Executable:
    return (
        select(_MEMBERS.c.user_pk, _GROUPS.c.id, _GROUPS.c.display_name)
        .join(_GROUPS, _GROUPS.c.pk == _MEMBERS.c.group_pk)
        .where(_MEMBERS.c.user_pk.in_(bindparam("user_pks", expanding=True)))
        .order_by(_GROUPS.c.pk)
    )


@cache
def _users_equal_with_groups(column: str) -> Prepared:
    """`_page_equal` of users, with each one's (group id, displayName) pairs in group order,
    as groups_of() reads them, in a JSON array (PostgreSQL)."""
    pair = func.json_build_array(_GROUPS.c.id, _GROUPS.c.display_name)
    groups = (
        select(func.coalesce(func.json_agg(aggregate_order_by(pair, _GROUPS.c.pk)), text("'[]'")))
        .select_from(_MEMBERS.join(_GROUPS, _GROUPS.c.pk == _MEMBERS.c.group_pk))
        .where(_MEMBERS.c.user_pk == _USERS.c.pk)
        .scalar_subquery()
    )
    page = cast(Any, _page_equal(UserRow, column).statement)
    return Prepared(page.add_columns(groups.label("relations")))


_groups_of_one = Prepared(
    select(_MEMBERS.c.user_pk, _GROUPS.c.id, _GROUPS.c.display_name)
    .join(_GROUPS, _GROUPS.c.pk == _MEMBERS.c.group_pk)
    .where(_MEMBERS.c.user_pk == bindparam("user_pk"))
    .order_by(_GROUPS.c.pk)
)


@cache
def _members_of() -> Executable:
    display = func.coalesce(_MEMBERS.c.display, _USERS.c.display_name, _USERS.c.user_name)
    return (
        select(_MEMBERS.c.group_pk, _USERS.c.id, display)
        .join(_USERS, _USERS.c.pk == _MEMBERS.c.user_pk)
        .where(_MEMBERS.c.group_pk.in_(bindparam("group_pks", expanding=True)))
        .order_by(_MEMBERS.c.group_pk, _USERS.c.pk)
    )


@cache
def _add_members(dialect: str) -> Executable:
    """INSERT ... ON CONFLICT DO NOTHING, run once per row (executemany).

    SQLAlchemy sends the rows as one multi-row INSERT ("insertmanyvalues"); a statement
    holding the rows itself would be compiled again for every request.
    """
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(_MEMBERS).on_conflict_do_nothing().returning(_MEMBERS.c.user_pk)


@cache
def _add_member(dialect: str) -> Prepared:
    """`_add_members` for one row, on the driver."""
    statement = cast(Any, _add_members(dialect))
    return Prepared(statement, ["group_pk", "user_pk", "display"])


_REMOVE_MEMBER = Prepared(
    delete(_MEMBERS).where(
        _MEMBERS.c.group_pk == bindparam("group_pk"), _MEMBERS.c.user_pk == bindparam("user_pk")
    )
)


@cache
def _remove_members(some: bool) -> Executable:
    statement = delete(_MEMBERS).where(_MEMBERS.c.group_pk == bindparam("group_pk"))
    if some:
        statement = statement.where(_MEMBERS.c.user_pk.in_(bindparam("user_pks", expanding=True)))
    return statement


_TOKENS, _ORGS = cast(Table, Token.__table__), cast(Table, Organization.__table__)
_SEATS = cast(Table, SeatAllocation.__table__)
_CREDENTIALS = Prepared(
    select(
        _TOKENS.c.pk,
        _TOKENS.c.org_pk,
        _TOKENS.c.kind,
        _TOKENS.c.token_hash,
        _TOKENS.c.member_pk,
        _TOKENS.c.revoked_at,
        _TOKENS.c.last_used_at,
        _ORGS.c.slug,
        _ORGS.c.plan,
        _ORGS.c.term_end,
        _USERS.c.id.label("member_id"),
        _USERS.c.role.label("member_role"),
        _USERS.c.active.label("member_active"),
    )
    .join(_ORGS, _ORGS.c.pk == _TOKENS.c.org_pk)
    .outerjoin(_USERS, _USERS.c.pk == _TOKENS.c.member_pk)
    .where(_TOKENS.c.prefix == bindparam("prefix"))
)


@cache
def _credentials_with_allocation() -> Prepared:
    """_CREDENTIALS, with the organization's seat counters as a JSON array of
    [seat_type, purchased, assigned] (PostgreSQL)."""
    counters = func.json_build_array(_SEATS.c.seat_type, _SEATS.c.purchased, _SEATS.c.assigned)
    allocation = (
        select(func.json_agg(counters)).where(_SEATS.c.org_pk == _TOKENS.c.org_pk).scalar_subquery()
    )
    statement = cast(Any, _CREDENTIALS.statement)
    return Prepared(statement.add_columns(allocation.label("allocation")))


def token_credentials(connection: Connection, prefix: str, with_allocation: bool = False) -> Any:
    """What authenticating needs of a token and its organization: one SELECT, no objects.
    The term's end comes along, so that a term that has ended is started (services/terms.py)
    at no cost to the requests of a term that runs; and a personal token's member as they
    are now (role, active), which the admin API checks on every request.

    Every request runs it (Database.reading), on the driver (prepared.py); the
    Organization itself would also load its seat allocations.

    With `with_allocation`, on PostgreSQL, the organization's seat counters come along as
    `allocation`: a SCIM create decides its seat on them, without a round trip of its own
    (services/users.py). SQLite's statements cost no round trip: it reads them later.
    """
    if with_allocation and connection.dialect.name == "postgresql":
        return _credentials_with_allocation().first(connection, {"prefix": prefix})
    return _CREDENTIALS.first(connection, {"prefix": prefix})


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
        """The organization an operator names; UnknownOrganization when there is none."""
        org = self.by_slug(slug)
        if org is None:
            raise UnknownOrganization(f"no organization {slug!r}")
        return org

    def by_pk(self, pk: int) -> Organization | None:
        return self.session.get(Organization, pk)

    def all(self) -> list[Organization]:
        return list(self.session.scalars(select(Organization).order_by(Organization.slug)))

    def add(self, org: Organization) -> Organization:
        self.session.add(org)
        flush_unique(self.session, f"organization {org.slug!r}")
        return org


class _ResourceRepository:
    """A tenant's users or groups: reads as core rows, writes through the unit of work."""

    row: Any

    def __init__(self, session: Reader, org_pk: int) -> None:
        self.session = session
        self.org_pk = org_pk

    def unit(self) -> Session:
        """The unit of work's session: ORM loads and writes need one, not a connection."""
        return orm_session(self.session)

    def get(self, resource_id: str, for_update: bool = False) -> Any:
        """The mapped object, to change it in this unit of work."""
        return self.unit().scalar(
            _by_id(self.row, for_update), {"org_pk": self.org_pk, "id": resource_id}
        )

    def read(self, resource_id: str, for_update: bool = False) -> Any:
        """The core row, to answer with it (attribute access as on the mapped class).

        `for_update` locks it for this unit of work, whose changes `update` then writes:
        no ORM object is loaded and flushed, which costs more than the two statements.
        """
        session = self.unit() if for_update else self.session
        params = {"org_pk": self.org_pk, "id": resource_id}
        return _read_prepared(self.row, for_update).first(session, params)

    def update(self, pk: int, values: Mapping[str, Any]) -> None:
        """Set columns of one row by key, in the unit of work (a session or a connection)."""
        _update(self.row, tuple(sorted(values))).count(self.session, {"b_pk": pk, **values})

    def count(self, criteria: ColumnElement[bool] | None) -> int:
        query = _count(self.row)
        if criteria is not None:
            query = query.where(criteria)
        return self.session.execute(query, {"org_pk": self.org_pk}).scalar() or 0

    def page(
        self,
        criteria: ColumnElement[bool] | None,
        order: Sequence[ColumnElement[Any]],
        offset: int,
        limit: int,
    ) -> list[Any]:
        """Core rows (read-only, attribute access as on the mapped class): lists never write
        what they read, and loading ORM objects costs more than the query."""
        query = _page(self.row)
        if criteria is not None:
            query = query.where(criteria)
        query = query.order_by(*order).offset(offset).limit(limit)
        return list(self.session.execute(query, {"org_pk": self.org_pk}))

    def page_equal(
        self, column: str, value: Any, offset: int, limit: int, with_relations: bool = False
    ) -> list[Any]:
        """`page` of the rows whose column equals the value, in creation order. With
        `with_relations`, a repository may bring each row's relations along, as its
        `relations` (see UserRepository)."""
        params = {"org_pk": self.org_pk, "value": value, "offset": offset, "limit": limit}
        return _page_equal(self.row, column).rows(self.session, params)

    def add(self, row: Any, what: str) -> Any:
        """Insert a new mapped row; it stays the session's object, as a flush would leave it.

        One core INSERT ... RETURNING instead of the ORM's flush machinery, which costs more
        CPU than the INSERT itself on every create.
        """
        session = self.unit()
        self.insert(row, what)
        make_transient_to_detached(row)
        session.add(row)
        return row

    def insert(self, row: Any, what: str) -> Any:
        """Insert a new row from any object's attributes; its missing columns get their
        defaults and its key is set. On a session or a `Database.writing()` connection."""
        statement, _ = _insert_returning(self.row)
        values = self._values(row)
        try:
            stored = statement.first(self.session, values)
        except IntegrityError as exc:
            self.session.rollback()
            raise Duplicate(f"{what} already exists") from exc
        for key, value in stored._asdict().items():
            setattr(row, key, value)
        return row

    def _values(self, row: Any) -> dict[str, Any]:
        """Every column but the key, from the row's attributes; missing ones get their
        defaults, set on the row too."""
        row.org_pk = self.org_pk
        given = vars(row)
        values = {}
        for key, default in _insert_returning(self.row)[1]:
            if key not in given:
                setattr(row, key, default())
            values[key] = given[key]
        return values

    def save(self, row: Any, what: str) -> Any:
        flush_unique(self.unit(), what)
        return row

    def delete(self, row: Any) -> None:
        self.unit().delete(row)
        self.unit().flush()


class UserRepository(_ResourceRepository):
    row = UserRow

    def insert_joining(
        self, row: Any, what: str, seat_type: str | None, event: Mapping[str, Any]
    ) -> None:
        """`insert`, the seat of `seat_type` taken (None: none) and the audit event appended,
        in one statement (joining.py; PostgreSQL, in autocommit). SeatGone, with nothing
        written, when the seat was taken meanwhile."""
        values = self._values(row)
        event = {**event, "org_pk": self.org_pk, "at": utcnow()}
        try:
            row.pk = insert_joining(
                cast(Connection, self.session), values, seat_type, self.org_pk, event
            )
        except IntegrityError as exc:
            raise Duplicate(f"{what} already exists") from exc

    def pks_by_id(self, ids: Iterable[str]) -> dict[str, int]:
        """The row keys of the named users of this tenant; unknown ids are absent."""
        wanted = set(ids)
        if not wanted:
            return {}
        if len(wanted) == 1:  # the member a PATCH adds or removes: on the driver
            (user_id,) = wanted
            row = _pk_by_id.first(self.session, {"org_pk": self.org_pk, "id": user_id})
            return {user_id: row.pk} if row is not None else {}
        found: dict[str, int] = {}
        for batch in chunks(wanted):
            rows = self.session.execute(_pks_by_id(), {"org_pk": self.org_pk, "ids": batch})
            found.update({user_id: pk for user_id, pk in rows})
        return found

    def page_equal(
        self, column: str, value: Any, offset: int, limit: int, with_relations: bool = False
    ) -> list[Any]:
        """On PostgreSQL, with relations, each user's groups come in the same statement,
        as `relations`: the lookup an IdP sends before each write is then one round trip,
        not two (issue 21). SQLite's statements cost no round trip: `groups_of` follows."""
        if not with_relations or dialect_of(self.session) != "postgresql":
            return super().page_equal(column, value, offset, limit)
        params = {"org_pk": self.org_pk, "value": value, "offset": offset, "limit": limit}
        return _users_equal_with_groups(column).rows(self.session, params)

    def groups_of(self, user_pks: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """(group id, displayName) of each user's groups, in one query for a page."""
        result: dict[int, list[tuple[str, str]]] = {pk: [] for pk in user_pks}
        if not user_pks:
            return result
        rows: Iterable[Any]
        if len(user_pks) == 1:  # one user's read or lookup: on the driver
            rows = _groups_of_one.rows(self.session, {"user_pk": user_pks[0]})
        else:
            rows = self.session.execute(_groups_of(), {"user_pks": list(user_pks)})
        for user_pk, group_id, display in rows:
            result[user_pk].append((group_id, display))
        return result


class GroupRepository(_ResourceRepository):
    row = GroupRow

    def members_of(self, group_pks: Sequence[int]) -> dict[int, list[tuple[str, str | None]]]:
        """(user id, display) of each group's members, in one query for a page."""
        result: dict[int, list[tuple[str, str | None]]] = {pk: [] for pk in group_pks}
        if not group_pks:
            return result
        rows = self.session.execute(_members_of(), {"group_pks": list(group_pks)})
        for group_pk, user_id, name in rows:
            result[group_pk].append((user_id, name))
        return result

    def add_members(self, group_pk: int, members: Mapping[int, str | None]) -> int:
        """Insert memberships (user pk -> display), ignoring those that exist; how many were new."""
        if not members:
            return 0
        unit = self.unit()
        dialect = dialect_of(unit)
        if len(members) == 1:  # a PATCH's one member: on the driver
            ((user_pk, display),) = members.items()
            values = {"group_pk": group_pk, "user_pk": user_pk, "display": display}
            return len(_add_member(dialect).rows(unit, values))
        statement = _add_members(dialect)
        added = 0
        for batch in chunks(members):
            rows = [{"group_pk": group_pk, "user_pk": pk, "display": members[pk]} for pk in batch]
            # RETURNING counts what was inserted: psycopg reports rowcount -1 for this form.
            added += len(unit.execute(statement, rows).all())
        return added

    def remove_members(self, group_pk: int, user_pks: Iterable[int] | None = None) -> int:
        """Delete the named memberships, or all of them when none are named."""
        if user_pks is None:
            result = self.unit().execute(_remove_members(False), {"group_pk": group_pk})
            return result.rowcount or 0  # type: ignore[attr-defined]
        wanted = set(user_pks)
        if len(wanted) == 1:  # a PATCH's one member: on the driver
            params = {"group_pk": group_pk, "user_pk": next(iter(wanted))}
            return _REMOVE_MEMBER.count(self.unit(), params)
        removed = 0
        for batch in chunks(wanted):
            result = self.unit().execute(
                _remove_members(True), {"group_pk": group_pk, "user_pks": batch}
            )
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
