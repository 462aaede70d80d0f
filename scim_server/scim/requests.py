"""Validating request bodies with scim2-models, under the IdP leniency policy."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidPathException,
    InvalidSyntaxException,
    InvalidValueException,
    PatchOp,
    SCIMException,
)
from scim2_models.path.expressions import ValuePath

from .filters import MAX_FILTER_TERMS, MAX_PATH_LENGTH, check_filter
from .schema import ENTERPRISE_USER_URN, IDP_POLICY


def scim_exception(exc: ValidationError) -> SCIMException:
    """The first validation error, as the SCIM exception RFC 7644 §3.12 names for it."""
    errors = Error.from_validation_errors(exc)
    if not errors:
        return InvalidValueException(detail=str(exc))
    return SCIMException.from_error(errors[0])


def validate(model_class: Any, payload: Any, context: Context) -> Any:
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="the request body must be a JSON object")
    try:
        with IDP_POLICY:
            return model_class.model_validate(payload, scim_ctx=context)
    except ValidationError as exc:
        raise scim_exception(exc) from exc


# pydantic keeps parametrized models such as PatchOp[User] in a weak cache: once garbage
# collected, the next PATCH builds the class again (milliseconds). Holding them here builds
# each once per process.
_PATCH_MODELS: dict[Any, Any] = {}


def patch_model(model_class: Any) -> Any:
    """PatchOp[model_class], built once."""
    if model_class not in _PATCH_MODELS:
        _PATCH_MODELS[model_class] = PatchOp[model_class]
    return _PATCH_MODELS[model_class]


def validate_patch(model_class: Any, payload: Any) -> Any:
    """PatchOp[model_class]; each path no longer than a path may be before it is parsed,
    and the filter of a path held to what a filter parameter is, after."""
    for operation in operations_of(payload):
        path = get_ci(operation, "path")
        if isinstance(path, str) and len(path) > MAX_PATH_LENGTH:
            raise InvalidPathException(
                detail=f"a PATCH path is longer than {MAX_PATH_LENGTH:,} characters"
            )
        if removed_by_value(operation) and len(operation_value(operation)) > MAX_FILTER_TERMS:
            # IDP_POLICY reads the values as a filter of as many terms, which is parsed.
            raise InvalidValueException(
                detail=f"a remove names more than {MAX_FILTER_TERMS} values; "
                "send several operations"
            )
    patch = validate(
        patch_model(model_class), normalize_patch(payload), Context.RESOURCE_PATCH_REQUEST
    )
    for operation in patch.operations or []:
        if operation.path is not None and isinstance(operation.path.ast, ValuePath):
            check_filter(operation.path.ast.val_filter)
    return patch


def normalize_user_payload(payload: Any) -> Any:
    """Entra sends the enterprise `manager` as a bare id; RFC 7643 §4.3 makes it complex."""
    if not isinstance(payload, dict):
        return payload
    extension = get_ci(payload, ENTERPRISE_USER_URN)
    if isinstance(extension, dict):
        for key, value in extension.items():
            if key.lower() == "manager" and isinstance(value, str):
                extension[key] = {"value": value}
    return payload


def normalize_patch(payload: Any) -> Any:
    """Wrap a bare manager id in PATCH values, whatever form the operation takes."""
    for operation in operations_of(payload):
        _wrap_manager(operation)
    return payload


def removed_by_value(operation: dict[str, Any]) -> bool:
    """Entra's remove, whose value lists the values to remove (schema.IDP_POLICY)."""
    op = get_ci(operation, "op")
    return isinstance(op, str) and op.lower() == "remove" and bool(get_ci(operation, "value"))


def operation_value(operation: dict[str, Any]) -> list[Any]:
    value = get_ci(operation, "value")
    return value if isinstance(value, list) else [value]


def operations_of(payload: Any) -> list[dict[str, Any]]:
    """The operations of a PATCH that are objects; the rest is scim2-models' to refuse,
    with the member named ("Operations": 1.5, [1])."""
    operations = get_ci(payload, "Operations") if isinstance(payload, dict) else None
    return [op for op in operations if isinstance(op, dict)] if isinstance(operations, list) else []


def _wrap_manager(operation: dict[str, Any]) -> None:
    path = str(operation.get("path") or "").lower()
    value = operation.get("value")
    if path.endswith(":manager") or path == "manager":
        if isinstance(value, str):
            operation["value"] = {"value": value}
        return
    if isinstance(value, dict):
        for key in list(value):
            if key.lower().endswith(":manager") and isinstance(value[key], str):
                value[key] = {"value": value[key]}
        normalize_user_payload(value)


def get_ci(mapping: dict[str, Any], key: str) -> Any:
    for candidate, value in mapping.items():
        if candidate.lower() == key.lower():
            return value
    return None
