"""`attributes` and `excludedAttributes` (RFC 7644 §3.9) applied to a resource's JSON.

Projection works on the stored document rather than on a re-validated model, so a
page of 100 resources costs a dictionary walk each. Attribute names compare
case-insensitively (RFC 7643 §2.1). `id` and `schemas` are returned always;
`password` is never stored, so it can never be returned.
"""

from __future__ import annotations

from typing import Any

from scim2_models import InvalidValueException

from .schema import EXTENSION_URNS, SEAT_URN

# RFC 7643 §7 `returned: request`: only when named in `attributes` (schema.SeatUser).
REQUEST_ONLY = {(SEAT_URN.lower(), "seatsource"), (SEAT_URN.lower(), "entitlements")}

CORE_URNS = (
    "urn:ietf:params:scim:schemas:core:2.0:user",
    "urn:ietf:params:scim:schemas:core:2.0:group",
)
ALWAYS = {"id", "schemas"}

Path = tuple[str, ...]


def parse_list(raw: str | list[str] | None) -> list[Path]:
    """A comma-separated query parameter (or a JSON list) as lower-cased key paths."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    paths = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidValueException(detail="attribute names must be strings")
        if item.strip():
            paths.append(_key_path(item.strip()))
    return paths


def _key_path(text: str) -> Path:
    lowered = text.lower()
    for core in CORE_URNS:
        if lowered.startswith(core + ":"):
            lowered = lowered[len(core) + 1 :]
            break
    else:
        if lowered.startswith("urn:"):
            return _extension_path(lowered)
    return tuple(lowered.split(".", 1))


def _extension_path(lowered: str) -> Path:
    """`urn:...:User:manager.value` -> (urn, manager, value); a bare URN -> (urn,)."""
    for urn in EXTENSION_URNS:
        if lowered == urn.lower():
            return (lowered,)
        if lowered.startswith(urn.lower() + ":"):
            return (urn.lower(), *lowered[len(urn) + 1 :].split(".", 1))
    return (lowered,)


def project(
    payload: dict[str, Any], attributes: list[Path], excluded: list[Path]
) -> dict[str, Any]:
    named = {path[:2] for path in attributes}
    hidden = [path for path in REQUEST_ONLY if path not in named]
    if attributes:
        result = _include(payload, attributes)
    else:
        result = _exclude(payload, [*excluded, *hidden])
    for path in hidden:
        _remove(result, path)
    _drop_empty_extensions(result)
    result["schemas"] = [s for s in payload["schemas"] if _schema_kept(s, result)]
    return result


def _drop_empty_extensions(result: dict[str, Any]) -> None:
    for key in [k for k in result if k.startswith("urn:") and result[k] == {}]:
        del result[key]


def _schema_kept(schema: str, result: dict[str, Any]) -> bool:
    return schema.lower() in CORE_URNS or schema in result


def _include(payload: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    result = {key: value for key, value in payload.items() if key.lower() in ALWAYS}
    for path in paths:
        _copy(payload, result, path)
    return result


def _copy(source: dict[str, Any], target: dict[str, Any], path: Path) -> None:
    key = _find(source, path[0])
    if key is None:
        return
    value = source[key]
    if len(path) == 1:
        target[key] = value
    elif isinstance(value, dict):
        _copy(value, target.setdefault(key, {}), path[1:])
    elif isinstance(value, list):
        target[key] = _copy_each(value, target.get(key), path[1:])


def _copy_each(items: list[Any], existing: Any, path: Path) -> list[Any]:
    merged = existing if isinstance(existing, list) else [{} for _ in items]
    for item, out in zip(items, merged, strict=False):
        if isinstance(item, dict):
            _copy(item, out, path)
    return [out for out in merged if out]


def _exclude(payload: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    """The payload without `paths`; only the attributes a path reaches into are copied.

    The payload itself is never changed (the caller still reads its meta). Copying every
    resource whole cost more than the rest of a page's projection.
    """
    result = dict(payload)
    for path in paths:
        key = _find(result, path[0]) if path[0] not in ALWAYS else None
        if key is None:
            continue
        if len(path) > 1 and result[key] is payload[key]:
            result[key] = _deep_copy(payload[key])
        _remove(result, path)
    return result


def _remove(target: dict[str, Any], path: Path) -> None:
    key = _find(target, path[0])
    if key is None:
        return
    if len(path) == 1:
        del target[key]
        return
    value = target[key]
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict):
            _remove(item, path[1:])


def _find(mapping: dict[str, Any], lowered: str) -> str | None:
    for key in mapping:
        if key.lower() == lowered:
            return key
    return None


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _deep_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep_copy(item) for item in value]
    return value
