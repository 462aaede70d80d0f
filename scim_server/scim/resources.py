"""Rows <-> SCIM resources (scim2-models), following the storage convention of schema.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scim2_models import Context, default_comparison_key

from ..domain.plans import Plan
from ..domain.seats import UNASSIGNED
from ..inputs import refuse_too_long
from ..persistence.models import GroupRow, UserRow
from .schema import SEAT_URN, GroupModel, SeatUser, UserModel

# Builds meta.location and $ref from (resource type endpoint, id); the web layer supplies it.
Locator = Callable[[str, str], str]

# Kept out of `data`: computed (id, meta, schemas), stored as rows (groups, members), or
# never stored (password: this server signs people in through OIDC, never by password,
# so an IdP's password is accepted as RFC 7643 §4.1.1 allows and discarded).
# The seat extension is kept in columns (the seat rules and the invariant work on them).
_NOT_STORED = {"schemas", "id", "meta", "groups", "members", "password", SEAT_URN}


def etag(version: int) -> str:
    """RFC 7644 §3.14: meta.version is a weak entity tag."""
    return f'W/"{version}"'


def document(model: Any) -> dict[str, Any]:
    """What a row's `data` holds for a validated request model.

    A plain pydantic dump by alias: scim2-models' response dump (`scim_ctx`) differs
    only in leaving out `returned: never` and write-only attributes, of which the User
    and Group schemas have one, `password`, dropped here anyway; it costs twice the CPU
    on every create, replace and PATCH. tests/test_units.py pins the two as equal.
    """
    dumped = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    return {key: value for key, value in dumped.items() if key not in _NOT_STORED}


def name_key(value: str) -> str:
    """The comparison form of a case-insensitive name (userName, group displayName)."""
    return default_comparison_key(_CaseInsensitive, value)


class _CaseInsensitive:
    case_exact = False


# A search key is compared by its start (the console's search): the first 255 characters,
# what the key columns hold, are enough to find anyone.
SEARCH_KEY_LENGTH = 255


def user_columns(model: Any) -> dict[str, Any]:
    data = document(model)
    return {
        "user_name": _fits(model.user_name, _USERS["user_name"], "userName"),
        "external_id": _fits(model.external_id, _USERS["external_id"], "externalId"),
        "display_name": _fits(model.display_name, _USERS["display_name"], "displayName"),
        "active": model.active is not False,
        "data": data,
        **user_keys(model.user_name, model.display_name, data),
    }


def email_user_columns(email: str, display_name: str | None = None) -> dict[str, Any]:
    """A user known by an email alone (an organization's first owner, a JIT sign-in)."""
    data: dict[str, Any] = {
        "userName": email,
        "active": True,
        "emails": [{"value": email, "primary": True, "type": "work"}],
    }
    if display_name:
        data["displayName"] = display_name
    return {
        "user_name": email,
        "external_id": None,
        "display_name": display_name,
        "active": True,
        "data": data,
        **user_keys(email, display_name, data),
    }


def user_keys(user_name: str, display_name: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """The comparison forms a user is found by: userName (unique), and the search keys."""
    name = data.get("name")
    user_name_key = _key(user_name, _USERS["user_name_key"], "userName")
    email_key = search_key(primary_email(data))
    return {
        "user_name_key": user_name_key,
        # Most IdPs send the email as the userName: then the userName's key serves, and
        # the email's index (partial) gets no entry to write.
        "email_key": None if email_key == user_name_key else email_key,
        "display_name_key": search_key(display_name),
        "family_name_key": search_key(name.get("familyName") if isinstance(name, dict) else None),
    }


def search_key(value: Any) -> str | None:
    return name_key(value)[:SEARCH_KEY_LENGTH] if isinstance(value, str) and value else None


def primary_email(data: dict[str, Any]) -> str | None:
    """The email marked primary; else the first one (IdPs often send one, unmarked)."""
    emails = [e for e in data.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    chosen = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    return str(chosen["value"]) if chosen else None


def group_columns(model: Any) -> dict[str, Any]:
    return {
        "display_name": _fits(model.display_name, _GROUPS["display_name"], "displayName"),
        "display_name_key": _key(model.display_name, _GROUPS["display_name_key"], "displayName"),
        "external_id": _fits(model.external_id, _GROUPS["external_id"], "externalId"),
        "data": document(model),
    }


def _lengths(table: Any) -> dict[str, int]:
    return {c.name: c.type.length for c in table.c if getattr(c.type, "length", None)}


# The limits are the columns' lengths (README "Limits"), read once: through the mapped
# class (UserRow.user_name.type) each read costs microseconds, five times a create.
_USERS = _lengths(UserRow.__table__)
_GROUPS = _lengths(GroupRow.__table__)


def _fits(value: str | None, limit: int, attribute: str) -> Any:
    """`value`, refused (ValueTooLong: SCIM 400 invalidValue) when longer than its column
    holds; here, every write passes: create, replace, PATCH and Bulk."""
    refuse_too_long(value, limit, attribute)
    return value


def _key(value: str, limit: int, attribute: str) -> str:
    """A name's comparison key, which lowercasing may lengthen ("İ" becomes two characters)."""
    return str(_fits(name_key(value), limit, f"{attribute} (in lowercase)"))


def _meta(row: Any, resource_type: str, location: str) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": row.created.isoformat(),
        "lastModified": row.last_modified.isoformat(),
        "version": etag(row.version),
        "location": location,
    }


def seat_request(model: Any) -> str | None:
    """The seat type a SCIM resource names, if any.

    scim2-models keeps an extension in the field named after its class; `model[SeatUser]`
    finds the same object through path resolution, at a hundred times the CPU.
    """
    extension = getattr(model, SeatUser.__name__)
    return extension.seat_type if extension is not None else None


def seat_extension(row: Any, plan: Plan) -> dict[str, Any]:
    """The seat extension of a stored member; projection drops the `returned: request` parts."""
    extension: dict[str, Any] = {"entitlements": sorted(plan.entitlements(row.seat_type))}
    # A deactivated member holds no seat; what they are pinned to is theirs on reactivation.
    seat_type = row.seat_type if row.active else (row.pinned_seat_type or UNASSIGNED)
    if seat_type != UNASSIGNED:
        extension["seatType"] = seat_type
    if row.seat_source:
        extension["seatSource"] = row.seat_source
    return extension


def user_payload(
    row: Any, groups: list[tuple[str, str]] | None, locate: Locator, plan: Plan
) -> dict[str, Any]:
    """The full SCIM JSON of a stored user, before attribute selection."""
    payload: dict[str, Any] = {"schemas": _user_schemas(row.data), "id": row.id, **row.data}
    payload[SEAT_URN] = seat_extension(row, plan)
    # RFC 7643 §4.1.1 gives `active` no default: one never sent, or removed by PATCH
    # (RFC 7644 §3.5.2.2 "SHALL be considered unassigned"), is not returned. The column
    # still counts such a user as not deactivated.
    if "active" in row.data:
        payload["active"] = row.active
    if groups:
        payload["groups"] = [
            {"value": gid, "display": name, "$ref": locate("Groups", gid), "type": "direct"}
            for gid, name in groups
        ]
    payload["meta"] = _meta(row, "User", locate("Users", row.id))
    return payload


def group_payload(
    row: Any, members: list[tuple[str, str | None]] | None, locate: Locator
) -> dict[str, Any]:
    payload: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": row.id, **row.data}
    if members:
        # RFC 7643 §4.2: `$ref` is the member's URI, as meta.location gives it.
        payload["members"] = [
            {"value": uid, "display": name, "$ref": locate("Users", uid), "type": "User"}
            for uid, name in members
        ]
    payload["meta"] = _meta(row, "Group", locate("Groups", row.id))
    return payload


USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _user_schemas(data: dict[str, Any]) -> list[str]:
    return [USER_SCHEMA] + [key for key in data if key.startswith("urn:")] + [SEAT_URN]


def user_model(payload: dict[str, Any]) -> Any:
    """A stored user as a scim2-models object (for PATCH application and dumping)."""
    return UserModel.model_validate(payload, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def group_model(payload: dict[str, Any]) -> Any:
    return GroupModel.model_validate(payload, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
