"""SCIM Users: create, replace, patch, list, delete, for one organization."""

from __future__ import annotations

from typing import Any

from scim2_models import Context
from sqlalchemy.orm import Session

from ..persistence.models import UserRow
from ..persistence.repositories import UserRepository
from ..scim import patch as scim_patch
from ..scim.requests import normalize_user_payload, validate, validate_patch
from ..scim.resources import user_columns, user_model, user_payload
from ..scim.schema import UserModel
from .resources import ResourceService, check_version, stamp, touch


class UserService(ResourceService):
    resource_type = "User"
    endpoint = "Users"
    repository_class = UserRepository

    def create(self, body: Any) -> dict[str, Any]:
        model = self._validate(body, Context.RESOURCE_CREATION_REQUEST)
        columns = user_columns(model)
        with self.db.unit_of_work(write=True) as session:
            row = stamp(UserRow(**columns))
            self.repository(session).add(row, f"a user with userName {model.user_name!r}")
            # A user just created belongs to no group yet (`groups` is readOnly, RFC 7643
            # §4.1.2), so there are no memberships to look up.
            return self.payloads(session, [row], False)[0]

    def replace(self, user_id: str, body: Any, if_match: str | None = None) -> dict[str, Any]:
        model = self._validate(body, Context.RESOURCE_REPLACEMENT_REQUEST)
        columns = user_columns(model)
        with self.db.unit_of_work(write=True) as session:
            row = self.load(session, user_id, for_update=True)
            check_version(row, if_match)
            self._write(session, row, columns, model.user_name)
            return self.payloads(session, [row], True)[0]

    def patch(self, user_id: str, body: Any, if_match: str | None = None) -> dict[str, Any]:
        operations = validate_patch(UserModel, body)
        with self.db.unit_of_work(write=True) as session:
            row = self.load(session, user_id, for_update=True)
            check_version(row, if_match)
            current = self.payloads(session, [row], True)[0]
            model = user_model(current)
            if not scim_patch.apply(operations, model):
                return current
            self._write(session, row, user_columns(model), model.user_name)
            return self.payloads(session, [row], True)[0]

    def payloads(
        self, session: Session, rows: list[Any], with_relations: bool
    ) -> list[dict[str, Any]]:
        groups = self.repository(session).groups_of([r.pk for r in rows]) if with_relations else {}
        return [user_payload(r, groups.get(r.pk), self.locate) for r in rows]

    def _validate(self, body: Any, context: Context) -> Any:
        return validate(UserModel, normalize_user_payload(body), context)

    def _write(self, session: Session, row: UserRow, columns: dict[str, Any], name: str) -> None:
        for key, value in columns.items():
            setattr(row, key, value)
        touch(row)
        self.repository(session).save(row, f"a user with userName {name!r}")
