"""SCIM Users: create, replace, patch, list, delete, for one organization."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from scim2_models import Context
from sqlalchemy.orm import Session

from ..domain.seats import UNASSIGNED
from ..persistence.db import Reader
from ..persistence.joining import SeatGone
from ..persistence.models import UserRow
from ..persistence.repositories import UserRepository
from ..scim import patch as scim_patch
from ..scim.requests import normalize_user_payload, validate, validate_patch
from ..scim.resources import seat_request, user_columns, user_model, user_payload
from ..scim.schema import UserModel
from .resources import ResourceService, check_version, stamp, touch
from .seats import SeatDesk

# A new member's seat columns before SeatDesk.provision decides (the table's defaults).
NO_SEAT = {
    "seat_type": UNASSIGNED,
    "seat_source": None,
    "pinned_seat_type": None,
    "waiting_since": None,
}


class UserService(ResourceService):
    resource_type = "User"
    endpoint = "Users"
    repository_class = UserRepository

    def create(self, body: Any) -> dict[str, Any]:
        model = self._validate(body, Context.RESOURCE_CREATION_REQUEST)
        columns = user_columns(model)
        what = f"a user with userName {model.user_name!r}"
        requested = seat_request(model)  # SEATS.md §4: an explicit seatType fails loudly
        # No ORM object: the row is written and answered from its values, on a connection.
        # On PostgreSQL the member, its seat and the audit event are one statement.
        with self.db.one_statement() as connection:
            if connection is not None:
                row: Any = stamp(SimpleNamespace(**columns, **NO_SEAT))
                users = self.repository(connection)
                try:
                    self.desk(connection).provision(
                        row,
                        lambda: users.insert(row, what),
                        requested,
                        together=lambda seat_type, event: users.insert_joining(
                            row, what, seat_type, event
                        ),
                        allocation=self.tenant.allocation,
                    )
                    return self.payloads(connection, [row], False)[0]
                except SeatGone:
                    pass  # another request took that seat since: decide again, below
        with self.db.writing() as connection:
            row = stamp(SimpleNamespace(**columns, **NO_SEAT))
            users = self.repository(connection)
            self.desk(connection).provision(row, lambda: users.insert(row, what), requested)
            # A user just created belongs to no group yet (`groups` is readOnly, RFC 7643
            # §4.1.2), so there are no memberships to look up.
            return self.payloads(connection, [row], False)[0]

    def replace(self, user_id: str, body: Any, if_match: str | None = None) -> dict[str, Any]:
        model = self._validate(body, Context.RESOURCE_REPLACEMENT_REQUEST)
        columns = user_columns(model)
        with self.db.unit_of_work(write=True) as session:
            row = self.load(session, user_id, for_update=True)
            check_version(row, if_match)
            was_active = row.active
            self._write(session, row, columns, model.user_name)
            self._settle_seat(session, row, was_active, seat_request(model))
            return self.payloads(session, [row], True)[0]

    def patch(self, user_id: str, body: Any, if_match: str | None = None) -> dict[str, Any]:
        operations = validate_patch(UserModel, body)
        with self.db.unit_of_work(write=True) as session:
            row = self.load(session, user_id, for_update=True)
            check_version(row, if_match)
            current = self.payloads(session, [row], True)[0]
            model = user_model(current)
            held = seat_request(model)
            if not scim_patch.apply(operations, model):
                return current
            was_active = row.active
            self._write(session, row, user_columns(model), model.user_name)
            # A PATCH that removes seatType takes the seat away (schema.SeatUser).
            wanted = seat_request(model)
            requested = (wanted or UNASSIGNED) if wanted != held else None
            self._settle_seat(session, row, was_active, requested)
            return self.payloads(session, [row], True)[0]

    def delete(self, resource_id: str, if_match: str | None = None) -> None:
        """Removing a member frees their seat for the waiting line (SEATS.md §4)."""
        with self.db.unit_of_work(write=True) as session:
            row = self.load(session, resource_id, for_update=True)
            check_version(row, if_match)
            self.desk(session).release(row, "removed from the organization")
            self.repository(session).delete(row)

    def desk(self, session: Reader) -> SeatDesk:
        return SeatDesk(session, self.org_pk, self.tenant.plan, self.tenant.actor)

    def _settle_seat(
        self, session: Session, row: UserRow, was_active: bool, requested: str | None
    ) -> None:
        """Deactivation frees the seat, reactivation resolves it, an explicit type is asked."""
        desk = self.desk(session)
        if was_active and not row.active:
            desk.release(row, "deactivated")
        elif row.active and not was_active:
            desk.reactivate(row)
        if requested is not None and requested != row.seat_type:
            desk.assign(row, requested, pin=True)

    def payloads(
        self, session: Reader, rows: list[Any], with_relations: bool
    ) -> list[dict[str, Any]]:
        groups: dict[int, Any] = {}
        if with_relations and rows and hasattr(rows[0], "relations"):  # read with the rows
            groups = {r.pk: r.relations for r in rows}
        elif with_relations:
            groups = self.repository(session).groups_of([r.pk for r in rows])
        plan = self.tenant.plan
        return [user_payload(r, groups.get(r.pk), self.locate, plan) for r in rows]

    def _validate(self, body: Any, context: Context) -> Any:
        return validate(UserModel, normalize_user_payload(body), context)

    def _write(self, session: Session, row: UserRow, columns: dict[str, Any], name: str) -> None:
        for key, value in columns.items():
            setattr(row, key, value)
        touch(row)
        self.repository(session).save(row, f"a user with userName {name!r}")
