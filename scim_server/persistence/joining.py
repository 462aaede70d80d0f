"""A member who joins, the seat they take and its audit event: one statement on PostgreSQL.

A SCIM create writes three rows (SEATS.md §4 and §8): the member, the allocation's counter,
the audit event. On PostgreSQL each statement is a round trip, and BEGIN and COMMIT are two
more; written as one statement of data-modifying CTEs, run in autocommit, the create is
one round trip after its reads, and the statement is its own transaction: all of it is
written or none.

The order of the locks stays the one every seat change takes, the member's row and then
the allocation's: the seat's UPDATE names the member's INSERT (`EXISTS (SELECT FROM
member)`), so PostgreSQL inserts the member, and holds its unique keys, before it locks
the counter. The take is still conditional (`assigned < purchased`). When another request
took the last seat since the decision was read, the statement fails on purpose (a division
by the number of seats taken, zero) and nothing is written: the caller decides again, in
a transaction (services/users.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, func, insert, literal_column, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from .models import AuditEvent, SeatAllocation, UserRow
from .prepared import Prepared

_USERS = cast(Table, UserRow.__table__)
_SEATS = cast(Table, SeatAllocation.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)
_EVENT_KEYS = tuple(c.key for c in _EVENTS.c if not c.primary_key)

# PostgreSQL's division_by_zero: the statement's own signal that the seat was gone.
_SEAT_GONE = "22012"


class SeatGone(Exception):
    """The seat decided on was taken meanwhile by another request: nothing was written."""


@cache
def _statement(taking: bool) -> Prepared:
    """INSERT the member (m_*), maybe take a seat (s_*), append the event (e_*)."""
    member = (
        insert(_USERS)
        .values(
            {c.key: bindparam(f"m_{c.key}", type_=c.type) for c in _USERS.c if not c.primary_key}
        )
        .returning(_USERS.c.pk)
        .cte("member")
    )
    event = select(*(bindparam(f"e_{key}", type_=_EVENTS.c[key].type) for key in _EVENT_KEYS))
    answer = select(member.c.pk)
    if taking:
        take = (
            update(_SEATS)
            .where(
                _SEATS.c.org_pk == bindparam("s_org_pk"),
                _SEATS.c.seat_type == bindparam("s_seat_type"),
                _SEATS.c.assigned < _SEATS.c.purchased,
                exists(select(member.c.pk)),  # the member's row first: see the docstring
            )
            .values(assigned=_SEATS.c.assigned + 1)
            .returning(_SEATS.c.seat_type)
            .cte("take")
        )
        event = event.where(exists(select(take.c.seat_type)))
        taken = select(func.count()).select_from(take).scalar_subquery()
        answer = select(member.c.pk, (literal_column("1") / taken).label("seat_taken"))
    events = insert(_EVENTS).from_select(list(_EVENT_KEYS), event).cte("event")
    return Prepared(answer.add_cte(events))


def insert_joining(
    connection: Connection,
    member: Mapping[str, Any],
    seat_type: str | None,
    org_pk: int,
    event: Mapping[str, Any],
) -> int:
    """Write the member's row (all its columns but the key), take a seat of `seat_type`
    (None: no seat to take) and append the audit event (all its columns but the key), in
    one statement; the member's new key. SeatGone when no seat of the type was left."""
    params = {f"m_{key}": value for key, value in member.items()}
    params |= {f"e_{key}": value for key, value in event.items()}
    params |= {"s_org_pk": org_pk, "s_seat_type": seat_type}
    try:
        row = _statement(seat_type is not None).first(connection, params)
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == _SEAT_GONE:
            raise SeatGone(seat_type) from error
        raise
    return int(row.pk)
