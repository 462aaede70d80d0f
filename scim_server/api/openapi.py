"""GET /api/v1/openapi.json: the admin API's OpenAPI 3.1 document, generated, never written.

Every view of api/admin.py declares, once, its least role, its query, its body and its
answer (api/operations.py), and runs on that declaration: the marshmallow schemas it loads
and dumps with become the document's schemas (apispec's marshmallow plugin). The errors an
operation answers follow from the same declaration (`failures`) plus the few it names, each
with the status and code of its class in errors.py.

The document is served without a token: it describes the API, the same on every deployment
and for every organization, and holds no data; integrators' tools (code generators,
schemathesis) read it before they have a token.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_instance
from flask import Blueprint, Flask, Response, current_app
from marshmallow import fields
from werkzeug.routing import Rule

from ..domain.roles import PERMISSIONS, Role
from ..errors import (
    DomainError,
    Forbidden,
    ForbiddenCharacter,
    InvalidInput,
    MalformedBody,
    NestingTooDeep,
    NotFound,
    PayloadTooLarge,
    RequestLineTooLong,
    Unauthorized,
    UnsupportedMediaType,
)
from . import admin, schemas
from .operations import Operation, Text, operation_of

blueprint = Blueprint("openapi", __name__, url_prefix=admin.blueprint.url_prefix)

TOKEN = (
    "A personal API token (`scim-server api-token create`), acting as its member with the "
    "member's role at each request."
)


@blueprint.get("/openapi.json")
def openapi_json() -> Response:
    text = current_app.extensions.get("openapi")
    if text is None:  # built once per process, at the first request for it
        text = current_app.extensions["openapi"] = json.dumps(document(current_app))
    return current_app.response_class(text, mimetype="application/json")


def document(app: Flask) -> dict[str, Any]:
    """The admin API's operations as the app routes them, from their declarations."""
    spec = APISpec(
        title="scim-server admin API",
        version=version("scim-server"),
        openapi_version="3.1.0",
        plugins=[Plugin()],
        info={"description": "Seats, members, billing, group mappings and the audit log of "
              "one organization (docs/admin-api.md)."},
        servers=[{"url": admin.blueprint.url_prefix}],
        security=[{"bearer": []}],
    )  # fmt: skip
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": TOKEN}
    )
    spec.components.schema("Error", schema=schemas.ErrorOut)
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view = app.view_functions[rule.endpoint]
        operation = operation_of(view)
        if not rule.endpoint.startswith(f"{admin.blueprint.name}.") or operation is None:
            continue
        path = path_template(rule)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        spec.path(
            path=path,
            operations={m.lower(): describe(view, operation, rule, path) for m in methods},
        )
    return spec.to_dict()


# A route's <converter(arguments):name> or <name>, and what each converter admits.
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
PATH_TYPES = {"default": {"type": "string"}, "uuid": {"type": "string", "format": "uuid"}}


def path_template(rule: Rule) -> str:
    """/api/v1/members/<uuid:member_id> as the document's /members/{member_id}."""
    path = rule.rule.removeprefix(admin.blueprint.url_prefix or "")
    return ARGUMENT.sub(r"{\g<name>}", path)


def describe(
    view: Callable[..., Any], operation: Operation, rule: Rule, path: str
) -> dict[str, Any]:
    summary, _, more = (inspect.getdoc(view) or "").partition("\n\n")
    least = min(PERMISSIONS[action] for action in operation.actions)
    described: dict[str, Any] = {
        "operationId": view.__name__,
        "summary": " ".join(summary.split()),
        "description": f"{more}\n\nNeeds the {least.name} role or higher.".strip(),
        "tags": [path.split("/")[1]],
        "parameters": parameters(operation, rule),
        "responses": {"200": answer(operation), **error_responses(failures(operation, rule))},
    }
    if operation.body is not None:
        described["requestBody"] = request_body(operation.body)
    return described


def parameters(operation: Operation, rule: Rule) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {
            "in": "path",
            "name": argument["name"],
            "required": True,
            "schema": PATH_TYPES[argument["converter"] or "default"],
        }
        for argument in ARGUMENT.finditer(rule.rule)
    ]
    if operation.query is not None:
        found.append({"in": "query", "schema": operation.query})
    found += [
        {"in": "header", "name": name, "description": what, "schema": {"type": "string"}}
        for name, what in operation.request_headers.items()
    ]
    return found


def request_body(body: type[schemas.Schema] | Text) -> dict[str, Any]:
    if not isinstance(body, Text):
        return {"required": True, "content": {"application/json": {"schema": body}}}
    content = {
        media_type: {
            "schema": body.json if body.json and media_type == "application/json" else TEXT
        }
        for media_type in body.media_types
    }
    return {"required": True, "description": body.description, "content": content}


TEXT: dict[str, Any] = {"type": "string"}


def answer(operation: Operation) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": operation.answer}}
    description = "OK"
    if operation.alternatives is not None:
        content.update({t: {"schema": TEXT} for t in operation.alternatives.media_types})
        description = f"OK. {operation.alternatives.description}"
    headers = {
        name: {"description": what, "schema": TEXT}
        for name, what in operation.answer_headers.items()
    }
    return {
        "description": description,
        "content": content,
        **({"headers": headers} if headers else {}),
    }


def failures(operation: Operation, rule: Rule) -> list[type[DomainError]]:
    """Every error the operation may answer: those its declaration implies, then its own."""
    found: list[type[DomainError]] = [Unauthorized]  # admin.authenticate, before any view
    if min(PERMISSIONS[action] for action in operation.actions) > Role.member:
        found.append(Forbidden)
    if rule.arguments:
        found.append(NotFound)
    if operation.query is not None:  # app._check_url, the schema; serving's request line
        found += [ForbiddenCharacter, InvalidInput, RequestLineTooLong]
    if isinstance(operation.body, Text):
        found += [UnsupportedMediaType, PayloadTooLarge]
    elif operation.body is not None:  # inputs.read_json, then the schema; Flask's body limit
        found += [MalformedBody, NestingTooDeep, ForbiddenCharacter, InvalidInput]
        found.append(PayloadTooLarge)
    found += operation.errors
    return list(dict.fromkeys(found))


def error_responses(errors: list[type[DomainError]]) -> dict[str, Any]:
    """One response per status, its codes listed (the body's `error.code` is one of them)."""
    by_status: dict[int, list[type[DomainError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    return {
        str(status): {
            "description": "; ".join(f"`{e.code}`: {first_line(e)}" for e in classes),
            "content": {"application/json": {"schema": error_schema(classes)}},
        }
        for status, classes in sorted(by_status.items())
    }


def error_schema(classes: list[type[DomainError]]) -> dict[str, Any]:
    codes = sorted({error.code for error in classes})
    return {
        "allOf": [
            {"$ref": "#/components/schemas/Error"},
            {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
        ]
    }


def first_line(error: type[DomainError]) -> str:
    """The class's own docstring's first sentence (not one it inherits)."""
    doc = error.__dict__.get("__doc__") or error.__name__
    return " ".join(doc.split("\n\n")[0].split()).rstrip(".")


class Plugin(MarshmallowPlugin):
    """apispec's marshmallow plugin, knowing two things of api/schemas.py: a response's
    fields are all in every answer (schemas.Out), and a Computed field is its shape."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        assert self.converter is not None
        self.converter.add_attribute_function(computed_property)

    # MarshmallowPlugin's own signature, which apispec's BasePlugin does not declare.
    def schema_helper(  # type: ignore[override]
        self, name: str, _: Any, schema: Any = None, **kwargs: Any
    ) -> dict[str, Any] | None:
        json_schema: dict[str, Any] | None = super().schema_helper(name, _, schema, **kwargs)
        if json_schema is not None and isinstance(resolve_schema_instance(schema), schemas.Out):
            json_schema["required"] = sorted(json_schema["properties"])
        return json_schema


def computed_property(converter: Any, field: fields.Field, **_: Any) -> dict[str, Any]:
    if not isinstance(field, schemas.Computed):
        return {}
    return dict(converter.field2property(field.shape))
