"""RFC 7644 §3.7 /Bulk, and the root /.search of §3.4.3, over the resource services."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from scim2_models import (
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    SCIMException,
)

from ..errors import DomainError, scim_error_body
from .resources import ListQuery, ResourceService

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
BULK_REF = re.compile(r"bulkId:([^\s\"/]+)")
PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$")


class BulkRunner:
    """Runs operations in order; each is its own transaction, as §3.7 allows."""

    def __init__(self, services: dict[str, ResourceService], max_operations: int) -> None:
        self.services = services
        self.max_operations = max_operations
        self.created: dict[str, str] = {}

    def run(self, payload: Any) -> dict[str, Any]:
        operations, fail_on_errors = self._parse(payload)
        results: list[dict[str, Any]] = []
        errors = 0
        for operation in operations:
            result = self._run_one(operation)
            results.append(result)
            errors += int(result["status"]) >= 400
            if fail_on_errors and errors >= fail_on_errors:
                break
        return {"schemas": [BULK_RESPONSE], "Operations": results}

    def _parse(self, payload: Any) -> tuple[list[Any], int | None]:
        schemas = payload.get("schemas") if isinstance(payload, dict) else None
        if not isinstance(schemas, list) or BULK_REQUEST not in schemas:
            raise InvalidValueException(
                detail=f"a bulk request's schemas must be a list declaring {BULK_REQUEST}"
            )
        operations = payload.get("Operations")
        if not isinstance(operations, list):
            raise InvalidSyntaxException(detail="Operations must be a list")
        if len(operations) > self.max_operations:
            raise PayloadTooLargeException(
                detail=f"{len(operations)} operations exceed maxOperations ({self.max_operations})"
            )
        fail_on_errors = payload.get("failOnErrors")
        if fail_on_errors is not None and (
            not isinstance(fail_on_errors, int) or fail_on_errors < 1
        ):
            raise InvalidValueException(detail="failOnErrors must be a positive integer")
        return operations, fail_on_errors

    def _run_one(self, operation: Any) -> dict[str, Any]:
        if not isinstance(operation, dict):
            return _failed({}, InvalidSyntaxException(detail="an operation must be an object"))
        try:
            return self._execute(operation)
        except (SCIMException, DomainError) as exc:
            return _failed(operation, exc)

    def _execute(self, operation: dict[str, Any]) -> dict[str, Any]:
        method = str(operation.get("method", "")).upper()
        endpoint, resource_id = self._target(operation.get("path"), method)
        data = self._resolve(operation.get("data"))
        service = self.services[endpoint]
        version = operation.get("version")
        bulk_id = operation.get("bulkId")
        if method == "POST":
            if not bulk_id:
                raise InvalidValueException(detail="a POST operation needs a bulkId")
            created = service.create(data)
            self.created[str(bulk_id)] = created["id"]
            return _done(operation, "201", created)
        if method == "PUT":
            return _done(operation, "200", service.replace(resource_id, data, version))
        if method == "PATCH":
            return _done(operation, "200", service.patch(resource_id, data, version))
        if method == "DELETE":
            service.delete(resource_id, version)
            return _done(operation, "204", None, f"/{endpoint}/{resource_id}")
        raise InvalidValueException(detail=f"unsupported bulk method {method!r}")

    def _target(self, path: Any, method: str) -> tuple[str, str]:
        match = PATH.match(self._resolve(path) if isinstance(path, str) else "")
        if not match:
            raise InvalidValueException(detail=f"bad bulk path {path!r}")
        endpoint, resource_id = match.group(1), match.group(2) or ""
        if (method == "POST") == bool(resource_id):
            raise InvalidValueException(detail=f"{method} does not take the path {path!r}")
        return endpoint, resource_id

    def _resolve(self, value: Any) -> Any:
        """Replace `bulkId:x` references by the ids created earlier in this request."""
        if isinstance(value, str):
            return BULK_REF.sub(self._reference, value)
        if isinstance(value, list):
            return [self._resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: self._resolve(item) for key, item in value.items()}
        return value

    def _reference(self, match: re.Match[str]) -> str:
        bulk_id = match.group(1)
        if bulk_id not in self.created:
            # RFC 7644 §3.7.2: an unresolvable reference fails that operation (409).
            raise _Unresolved(bulk_id)
        return self.created[bulk_id]


class _Unresolved(SCIMException):
    status = 409
    scim_type = "invalidValue"

    def __init__(self, bulk_id: str) -> None:
        super().__init__(detail=f"bulkId {bulk_id!r} does not name an earlier successful POST")


def _done(
    operation: dict[str, Any],
    status: str,
    payload: dict[str, Any] | None,
    location: str | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {"method": operation.get("method"), "status": status}
    if operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
    if payload is not None:
        result["location"] = payload["meta"]["location"]
        result["version"] = payload["meta"]["version"]
    elif location:
        result["location"] = location
    return result


def _failed(operation: dict[str, Any], exc: Exception) -> dict[str, Any]:
    body, status = scim_error_body(exc)
    result: dict[str, Any] = {
        "method": operation.get("method"),
        "status": str(status),
        "response": body,
    }
    if operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
    return result


def search_across(
    services: list[ResourceService], query: ListQuery
) -> tuple[int, list[dict[str, Any]]]:
    """One list over several resource types; a filter a type cannot evaluate matches none of it."""
    counted: list[tuple[ResourceService, int]] = []
    for service in services:
        try:
            counted.append((service, service.search(replace(query, count=0)).total))
        except InvalidFilterException:
            if len(services) == 1:
                raise
    if not counted and query.filter:
        raise InvalidFilterException(detail=f"no resource type can evaluate {query.filter!r}")
    total = sum(n for _, n in counted)
    offset, remaining, resources = query.start_index - 1, query.count, []
    for service, size in counted:
        if remaining <= 0:
            break
        if offset >= size:
            offset -= size
            continue
        page = service.search(replace(query, start_index=offset + 1, count=remaining))
        resources.extend(page.resources)
        remaining -= len(page.resources)
        offset = 0
    return total, resources
