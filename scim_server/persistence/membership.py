"""One member added to or removed from a group in one statement, on PostgreSQL.

The PATCH an identity provider sends when one person joins or leaves a group is the most
frequent write after a create. In a transaction it costs six statements and BEGIN and
COMMIT, each a round trip on PostgreSQL: the group locked, the mapping read, the member's
key, the membership, the group's new version. As one statement of CTEs, in autocommit, it
is one round trip, and it is its own transaction.

It is taken only where a membership decides nothing else: when the organization stores no
group mapping (SEATS.md §5; with one, the statement changes nothing and says so, and the
caller runs the full PATCH, which re-evaluates the member). The group's row is locked
first (FOR UPDATE), as the full PATCH does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from .models import GroupMappingRow, GroupMember, GroupRow, UserRow
from .prepared import Prepared

_GROUPS = cast(Table, GroupRow.__table__)
_MEMBERS = cast(Table, GroupMember.__table__)
_USERS = cast(Table, UserRow.__table__)
_MAPPINGS = cast(Table, GroupMappingRow.__table__)


@dataclass(frozen=True)
class OneMember:
    """What the statement found and did."""

    group: Any  # the group's row as it was read (None: no such group)
    user_found: bool
    mapped: bool  # the organization stores a mapping: nothing was written
    changed: bool  # the membership changed, and the group has a new version


@cache
def _statement(adding: bool) -> Prepared:
    group = (
        select(_GROUPS)
        .where(_GROUPS.c.org_pk == bindparam("org_pk"), _GROUPS.c.id == bindparam("group_id"))
        .with_for_update()
        .cte("locked")
    )
    user = (
        select(_USERS.c.pk)
        .where(_USERS.c.org_pk == bindparam("org_pk"), _USERS.c.id == bindparam("user_id"))
        .cte("member")
    )
    mapped = exists(select(_MAPPINGS.c.org_pk).where(_MAPPINGS.c.org_pk == bindparam("org_pk")))
    change: Any
    if adding:
        change = (
            insert(_MEMBERS)
            .from_select(
                ["group_pk", "user_pk", "display"],
                select(
                    group.c.pk, user.c.pk, bindparam("display", type_=_MEMBERS.c.display.type)
                ).where(~mapped),
            )
            .on_conflict_do_nothing()
        )
    else:
        change = delete(_MEMBERS).where(
            _MEMBERS.c.group_pk == select(group.c.pk).scalar_subquery(),
            _MEMBERS.c.user_pk == select(user.c.pk).scalar_subquery(),
            ~mapped,
        )
    changed = change.returning(_MEMBERS.c.user_pk).cte("changed")
    # What touch() does to a changed resource (services/resources.py): version + 1.
    touched = (
        update(_GROUPS)
        .where(
            _GROUPS.c.pk == select(group.c.pk).scalar_subquery(),
            exists(select(changed.c.user_pk)),
        )
        .values(version=_GROUPS.c.version + 1, last_modified=bindparam("now"))
        .returning(_GROUPS.c.pk)
        .cte("touched")
    )
    answer = select(
        *group.c,
        exists(select(user.c.pk)).label("user_found"),
        mapped.label("mapped"),
        exists(select(changed.c.user_pk)).label("changed"),
    ).add_cte(touched)
    return Prepared(answer)


def change_one_member(
    connection: Connection,
    org_pk: int,
    group_id: str,
    user_id: str,
    adding: bool,
    display: str | None,
    now: datetime,
) -> OneMember:
    """Add (or remove) one member of a group, and give the group a new version if the
    membership changed, in one statement run in autocommit (see the module)."""
    params = {"org_pk": org_pk, "group_id": group_id, "user_id": user_id, "now": now}
    if adding:
        params["display"] = display
    found = _statement(adding).first(connection, params)
    if found is None:
        return OneMember(None, False, False, False)
    values = found._asdict()
    user_found, mapped, changed = (values.pop(k) for k in ("user_found", "mapped", "changed"))
    return OneMember(values, bool(user_found), bool(mapped), bool(changed))
