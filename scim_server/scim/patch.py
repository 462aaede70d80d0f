"""PATCH (RFC 7644 §3.5.2) for groups: membership as row changes, the rest by scim2-models.

A group's membership is never loaded to apply a PATCH: operations on `members`
become inserts and deletes of the members they name, so their cost follows the
request, not the group's size (Okta and Entra both push large groups this way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scim2_models import (
    Context,
    InvalidFilterException,
    InvalidValueException,
    PatchOp,
)
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    LogicalExpr,
    LogicalOperator,
    ValuePath,
)

from .requests import get_ci, operation_value, operations_of, removed_by_value, validate_patch
from .schema import IDP_POLICY, GroupModel


@dataclass(frozen=True)
class MemberChange:
    """add / remove / replace of the user ids named; `ids=None` with remove means all.

    `displays` pairs the ids with the `display` the client gave them, kept with a new
    membership (RFC 7643 §2.4 makes `display` immutable).
    """

    action: str
    ids: tuple[str, ...] | None
    displays: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GroupPatch:
    member_changes: list[MemberChange]
    other: Any  # a PatchOp[Group] of the remaining operations, or None


def parse_group_patch(payload: Any, group_id: str) -> GroupPatch:
    changes: list[MemberChange] = []
    rest: list[Any] = []
    for part, removed_ids in _parts(payload):
        part_changes, part_rest = _split(validate_patch(GroupModel, part), group_id)
        if removed_ids is not None:  # validated on its first value: it removes them all
            part_changes = [MemberChange("remove", removed_ids)]
        changes += part_changes
        rest += part_rest
    return GroupPatch(changes, _rebuild(rest))


def _parts(payload: Any) -> list[tuple[Any, tuple[str, ...] | None]]:
    """The PATCH as it is; or, when it removes members by value (Entra's form), in parts.

    IDP_POLICY reads such a remove as a filter of one term per member, which scim2-models
    builds and parses: 45 s for the 70,000 members a 4 MB body names. Membership is rows
    here, so the ids are read as they are: each such remove is validated with its first
    value only, and removes all the ids it names; the other operations, in runs between
    them, are validated as PATCHes of their own. Member changes keep their order.
    """
    operations = operations_of(payload)
    if not any(_removes_members_by_value(operation) for operation in operations):
        return [(payload, None)]
    envelope = {key: value for key, value in payload.items() if key.lower() != "operations"}
    parts: list[tuple[Any, tuple[str, ...] | None]] = []
    run: list[dict[str, Any]] = []
    for operation in operations:
        if not _removes_members_by_value(operation):
            run.append(operation)
            continue
        if run:
            parts.append(({**envelope, "Operations": run}, None))
            run = []
        values = operation_value(operation)
        first = {k: v for k, v in operation.items() if k.lower() != "value"} | {"value": values[:1]}
        parts.append(({**envelope, "Operations": [first]}, _ids_by_value(values)))
    if run:
        parts.append(({**envelope, "Operations": run}, None))
    return parts


def _removes_members_by_value(operation: dict[str, Any]) -> bool:
    path = get_ci(operation, "path")
    return removed_by_value(operation) and isinstance(path, str) and _is_members(path.strip())


def _ids_by_value(values: list[Any]) -> tuple[str, ...]:
    """[{"value": id}, …], as `members[value eq "id" or …]` would name them; Entra adds
    "$ref": null, which names nothing."""
    named = [
        {key: item for key, item in value.items() if item is not None}
        for value in values
        if isinstance(value, dict)
    ]
    if len(named) < len(values) or any([k.lower() for k in v] != ["value"] for v in named):
        raise InvalidFilterException(detail=_BY_VALUE_ONLY)
    return _ids(named)


def _split(patch: Any, group_id: str) -> tuple[list[MemberChange], list[Any]]:
    """A validated PATCH's member changes, and its other operations."""
    changes: list[MemberChange] = []
    rest: list[Any] = []
    for operation in patch.operations:
        if operation.path is None:
            value = dict(operation.value or {})
            members = _pop_members(value)
            _drop_own_id(value, group_id)
            if members is not None:
                changes.append(MemberChange(_action(operation), _ids(members), displays(members)))
            if value:
                rest.append({"op": str(operation.op), "value": value})
        elif _targets_members(operation.path.ast):
            changes.append(_member_change(operation))
        else:
            rest.append(operation)
    return changes, rest


def apply(patch: Any, model: Any) -> bool:
    """Apply scim2-models operations to an in-memory resource; True when it changed."""
    with IDP_POLICY:
        return bool(patch.patch(model))


def _rebuild(operations: list[Any]) -> Any:
    if not operations:
        return None
    payload = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            op if isinstance(op, dict) else op.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST)
            for op in operations
        ],
    }
    with IDP_POLICY:
        return PatchOp[GroupModel].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST)


def _action(operation: Any) -> str:
    return str(operation.op)


def _pop_members(value: dict[str, Any]) -> Any:
    for key in list(value):
        if _is_members(key):
            return value.pop(key) or []
    return None


def _drop_own_id(value: dict[str, Any], group_id: str) -> None:
    """Okta's rename carries the group's own id in the value: readOnly, so it is ignored."""
    for key in list(value):
        if key.lower() == "id" and value[key] == group_id:
            del value[key]


def _targets_members(ast: Any) -> bool:
    attr_path = ast.attr_path if isinstance(ast, ValuePath) else ast
    return isinstance(attr_path, AttrPath) and attr_path.attr.lower() == "members"


def _is_members(path: str) -> bool:
    return path.lower() in {"members", "urn:ietf:params:scim:schemas:core:2.0:group:members"}


def _member_change(operation: Any) -> MemberChange:
    action = _action(operation)
    ast = operation.path.ast
    if isinstance(ast, ValuePath):
        if action != "remove":
            raise InvalidFilterException(
                detail="a filtered members path is only supported for remove operations"
            )
        return MemberChange("remove", _ids_in_filter(ast.val_filter))
    if ast.sub_attr is not None:
        raise InvalidValueException(detail=f"cannot {action} members.{ast.sub_attr}")
    if action == "remove" and not operation.value:
        return MemberChange("remove", None)
    return MemberChange(action, _ids(operation.value or []), displays(operation.value or []))


def displays(members: Any) -> tuple[tuple[str, str], ...]:
    """(id, display) of the members given with both, as dicts or scim2-models objects."""
    items = [members] if isinstance(members, dict) else members or []
    pairs = ((_sub(member, "value"), _sub(member, "display")) for member in items)
    return tuple((i, d) for i, d in pairs if isinstance(i, str) and i and isinstance(d, str) and d)


def _sub(member: Any, name: str) -> Any:
    return member.get(name) if isinstance(member, dict) else getattr(member, name, None)


def _ids(members: Any) -> tuple[str, ...]:
    if isinstance(members, dict):
        members = [members]
    if not isinstance(members, list):
        raise InvalidValueException(detail="members must be a list of {'value': id} objects")
    ids = []
    for member in members:
        value = _sub(member, "value")
        if not isinstance(value, str) or not value:
            raise InvalidValueException(detail="every member needs a 'value' holding a user id")
        ids.append(value)
    return tuple(ids)


def _ids_in_filter(node: Any) -> tuple[str, ...]:
    """`members[value eq "a" or value eq "b"]`: the ids named; any other filter is refused."""
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        return tuple(i for term in node.terms for i in _ids_in_filter(term))
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.attr.lower() == "value"
        and node.attr_path.sub_attr is None
        and isinstance(node.value, str)
    ):
        return (node.value,)
    raise InvalidFilterException(detail=_BY_VALUE_ONLY)


_BY_VALUE_ONLY = 'members can be removed by a filter of the form members[value eq "id"] only'
