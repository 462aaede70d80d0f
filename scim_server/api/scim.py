"""/scim/v2: the SCIM 2.0 protocol (RFC 7644) over the services. HTTP concerns only."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from scim2_models import InvalidSyntaxException, InvalidValueException, SCIMException

from ..domain.plans import CATALOG
from ..errors import HANDLED_ERRORS, DomainError, scim_error, scim_error_body
from ..inputs import read_json
from ..scim import discovery, projection
from ..services import bulk as bulk_service
from ..services import tokens
from ..services.audit import Actor
from ..services.groups import GroupService
from ..services.resources import ListQuery, ResourceService, Tenant
from ..services.users import UserService

blueprint = Blueprint("scim", __name__, url_prefix="/scim/v2")

SCIM_JSON = "application/scim+json"
ACCEPTED_TYPES = {"application/scim+json", "application/json"}
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SERVICES: dict[str, type[ResourceService]] = {"Users": UserService, "Groups": GroupService}


def scim_response(payload: Any, status: int = 200, version: str | None = None) -> Response:
    response = current_app.response_class(json.dumps(payload), status=status, mimetype=SCIM_JSON)
    if version:
        response.headers["ETag"] = version
    return response


def error_response(exc: Exception) -> Response:
    body, status = scim_error_body(exc)
    response = scim_response(body, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


@blueprint.before_request
def hold_connection() -> None:
    """A request's token check, reads and writes run on one connection (holding())."""
    reads = request.method in ("GET", "HEAD") or request.path.endswith("/.search")
    g.held = ExitStack()
    g.held.enter_context(db().holding(writes=not reads))


@blueprint.before_request
def authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise tokens.Unauthorized("a bearer token is required")
        # A create decides its seat on the counters, which then come with the token.
        creates = request.method == "POST" and request.path.rstrip("/").endswith("/Users")
        g.caller = tokens.authenticate(
            db(), presented.strip(), "scim", current_app.config["TOKEN_TOUCH_SECONDS"], creates
        )
    except DomainError as exc:
        return error_response(exc)
    g.log_org = g.caller.org_slug
    return None


@blueprint.teardown_request
def release_connection(_exc: BaseException | None) -> None:
    held = g.pop("held", None)
    if held is not None:
        held.close()


def db() -> Any:
    return current_app.extensions["scim_db"]


def tenant() -> Tenant:
    caller = g.caller
    return Tenant(
        caller.org_pk,
        CATALOG[caller.plan],
        Actor("scim_token", caller.token_prefix, "scim"),
        caller.allocation,
    )


def service(endpoint: str) -> ResourceService:
    return SERVICES[endpoint](db(), tenant(), locate)


def locate(endpoint: str, resource_id: str) -> str:
    return f"{base_url()}/{endpoint}/{resource_id}"


def body() -> Any:
    """The request's JSON: application/scim+json, application/json, or no Content-Type."""
    mimetype = request.mimetype
    if mimetype and mimetype not in ACCEPTED_TYPES:
        raise InvalidSyntaxException(
            detail=f"unsupported Content-Type {mimetype!r}; send application/scim+json"
        )
    return read_json(request.get_data(cache=True))


# --- attribute selection and paging parameters (RFC 7644 §3.4.2.4, §3.9) -----------------


def selection(source: Any) -> tuple[list[projection.Path], list[projection.Path]]:
    return (
        projection.parse_list(source.get("attributes")),
        projection.parse_list(source.get("excludedAttributes")),
    )


def wants(relation: str, attributes: list[Any], excluded: list[Any]) -> bool:
    """Whether a selection returns a relationship (members, groups): if not, it is not loaded."""
    if attributes:
        return any(path[0] == relation for path in attributes)
    return not any(path == (relation,) for path in excluded)


def integer(source: Any, name: str, default: int) -> int:
    """startIndex or count: a JSON integer in a body, decimal digits in a query string."""
    raw = source.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:  # not digits, or more than Python reads (sys.get_int_max_str_digits)
            pass
    shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:40] + "…"
    raise InvalidValueException(detail=f"{name} must be an integer, not {shown}")


# RFC 7644 §3.4.2.4 reads a startIndex below 1 as 1. One past the largest 32-bit integer is
# past every result of any organization, and past what a database offset may hold: it reads
# as that integer, an empty page.
MAX_START_INDEX = 2**31 - 1


def list_query(source: Any, relation: str) -> tuple[ListQuery, Any]:
    attributes, excluded = selection(source)
    config = current_app.config
    # RFC 7644 §3.4.2.4: count below 0 is 0; above maxResults it is capped.
    start = min(max(1, integer(source, "startIndex", 1)), MAX_START_INDEX)
    count = min(
        max(0, integer(source, "count", config["DEFAULT_PAGE_SIZE"])), config["MAX_RESULTS"]
    )
    query = ListQuery(
        filter=source.get("filter") or None,
        sort_by=source.get("sortBy") or None,
        sort_order=source.get("sortOrder") or None,
        start_index=start,
        count=count,
        with_relations=wants(relation, attributes, excluded),
    )
    if query.filter is not None and not isinstance(query.filter, str):
        raise InvalidValueException(detail="filter must be a string")
    return query, (attributes, excluded)


def list_response(total: int, start: int, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def relation_of(endpoint: str) -> str:
    return "members" if endpoint == "Groups" else "groups"


def search(endpoint: str, source: Any) -> Response:
    query, (attributes, excluded) = list_query(source, relation_of(endpoint))
    page = service(endpoint).search(query)
    resources = [projection.project(r, attributes, excluded) for r in page.resources]
    return scim_response(list_response(page.total, page.start_index, resources))


# RFC 7644 §3.4.3: the members of a SearchRequest, with their JSON types. The attribute
# lists are also read as one comma-separated string, as in a query string.
SEARCH_MEMBERS: dict[str, tuple[tuple[type, ...], str]] = {
    "schemas": ((list,), "a list of URIs"),
    "attributes": ((list, str), "a list of attribute names"),
    "excludedAttributes": ((list, str), "a list of attribute names"),
    "filter": ((str,), "a string"),
    "sortBy": ((str,), "a string"),
    "sortOrder": ((str,), "a string"),
    "startIndex": ((int,), "an integer"),
    "count": ((int,), "an integer"),
}


def search_body() -> Any:
    payload = body()
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="a search request must be a JSON object")
    for member, (types, what) in SEARCH_MEMBERS.items():
        value = payload.get(member)
        if value is not None and not _of_type(value, types):
            raise InvalidValueException(detail=f"a search request's {member} must be {what}")
    if SEARCH_REQUEST not in (payload.get("schemas") or []):
        raise InvalidValueException(detail=f"a search request must declare {SEARCH_REQUEST}")
    return payload


def _of_type(value: Any, types: tuple[type, ...]) -> bool:
    """JSON's types: a boolean is no integer, and a list holds strings."""
    if isinstance(value, bool) or not isinstance(value, types):
        return False
    return not isinstance(value, list) or all(isinstance(item, str) for item in value)


# --- resources ---------------------------------------------------------------------------


@blueprint.route("/<any(Users, Groups):endpoint>", methods=["GET"])
def list_resources(endpoint: str) -> Response:
    return search(endpoint, request.args)


@blueprint.route("/<any(Users, Groups):endpoint>/.search", methods=["POST"])
def search_resources(endpoint: str) -> Response:
    return search(endpoint, search_body())


@blueprint.route("/<any(Users, Groups):endpoint>", methods=["POST"])
def create(endpoint: str) -> Response:
    payload = service(endpoint).create(body())
    response = respond(payload, 201, endpoint)
    response.headers["Location"] = payload["meta"]["location"]
    return response


@blueprint.route("/<any(Users, Groups):endpoint>/<resource_id>", methods=["GET"])
def resource(endpoint: str, resource_id: str) -> Response:
    attributes, excluded = selection(request.args)
    with_relations = wants(relation_of(endpoint), attributes, excluded)
    payload = service(endpoint).get(resource_id, with_relations=with_relations)
    version = payload["meta"]["version"]
    if version in _tags(request.headers.get("If-None-Match")):
        # RFC 7644 §3.14: the client's copy is current.
        response = current_app.response_class(status=304)
        response.headers["ETag"] = version
        return response
    return respond(payload, 200, endpoint)


@blueprint.route("/<any(Users, Groups):endpoint>/<resource_id>", methods=["PUT"])
def replace(endpoint: str, resource_id: str) -> Response:
    payload = service(endpoint).replace(resource_id, body(), request.headers.get("If-Match"))
    return respond(payload, 200, endpoint)


@blueprint.route("/<any(Users, Groups):endpoint>/<resource_id>", methods=["PATCH"])
def patch(endpoint: str, resource_id: str) -> Response:
    if_match = request.headers.get("If-Match")
    if endpoint == "Users":
        return respond(service(endpoint).patch(resource_id, body(), if_match), 200, endpoint)
    return patch_group(resource_id, if_match)


def patch_group(group_id: str, if_match: str | None) -> Response:
    """RFC 7644 §3.5.2: 204 unless the client selects attributes, as Okta and Entra expect.

    Answering with the whole group would cost the group's size on every membership
    change; with `attributes` or `excludedAttributes` the client gets 200 and a body.
    """
    attributes, excluded = selection(request.args)
    selected = bool(attributes or excluded)
    with_members = selected and wants("members", attributes, excluded)
    groups = GroupService(db(), tenant(), locate)
    payload = groups.patch(group_id, body(), if_match, with_members=with_members)
    if not selected:
        response = current_app.response_class(status=204)
        response.headers["ETag"] = payload["meta"]["version"]
        return response
    return respond(payload, 200, "Groups")


@blueprint.route("/<any(Users, Groups):endpoint>/<resource_id>", methods=["DELETE"])
def delete(endpoint: str, resource_id: str) -> Response:
    service(endpoint).delete(resource_id, request.headers.get("If-Match"))
    return current_app.response_class(status=204)


def respond(payload: dict[str, Any], status: int, endpoint: str) -> Response:
    attributes, excluded = selection(request.args)
    projected = projection.project(payload, attributes, excluded)
    return scim_response(projected, status, payload["meta"]["version"])


def _tags(header: str | None) -> set[str]:
    return {tag.strip() for tag in (header or "").split(",") if tag.strip()}


# --- root search and bulk ----------------------------------------------------------------


@blueprint.route("/.search", methods=["POST"])
def search_all() -> Response:
    """RFC 7644 §3.4.3: a search across Users then Groups, paged as one list."""
    source = search_body()
    query, (attributes, excluded) = list_query(source, "members")
    users, groups = service("Users"), service("Groups")
    total, resources = bulk_service.search_across([users, groups], query)
    resources = [projection.project(r, attributes, excluded) for r in resources]
    return scim_response(list_response(total, query.start_index, resources))


@blueprint.route("/Bulk", methods=["POST"])
def bulk() -> Response:
    config = current_app.config
    if (request.content_length or 0) > config["BULK_MAX_PAYLOAD_SIZE"]:
        raise_payload_too_large(config["BULK_MAX_PAYLOAD_SIZE"])
    runner = bulk_service.BulkRunner(
        {name: service(name) for name in SERVICES}, config["BULK_MAX_OPERATIONS"]
    )
    return scim_response(runner.run(body()))


def raise_payload_too_large(limit: int) -> None:
    from scim2_models import PayloadTooLargeException

    raise PayloadTooLargeException(
        detail=f"the bulk request is larger than maxPayloadSize ({limit} bytes)"
    )


# --- discovery (RFC 7644 §4) ---------------------------------------------------------------


def provider() -> Any:
    config = current_app.config
    return discovery.provider(
        config["MAX_RESULTS"], config["BULK_MAX_OPERATIONS"], config["BULK_MAX_PAYLOAD_SIZE"]
    )


def base_url() -> str:
    """This service's root as the client reached it (RFC 7644 §3.1 meta.location).

    Built from the scheme and Host, not `request.host_url`, which turns the URL into an
    IRI on every request (a punycode host would come back in Unicode; a URI stays ASCII).
    """
    if "scim_base" not in g:
        g.scim_base = f"{request.scheme}://{request.host}{blueprint.url_prefix}"
    return str(g.scim_base)


@blueprint.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    return scim_response(discovery.service_provider_config(provider(), base_url()))


@blueprint.get("/Schemas")
def schemas() -> Response:
    items = discovery.schemas(provider(), base_url(), CATALOG[g.caller.plan])
    return scim_response(list_response(len(items), 1, items))


@blueprint.get("/Schemas/<path:schema_id>")
def schema(schema_id: str) -> Response:
    return one_of(
        discovery.schemas(provider(), base_url(), CATALOG[g.caller.plan]), schema_id, "schema"
    )


@blueprint.get("/ResourceTypes")
def resource_types() -> Response:
    items = discovery.resource_types(provider(), base_url())
    return scim_response(list_response(len(items), 1, items))


@blueprint.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    return one_of(discovery.resource_types(provider(), base_url()), name, "resource type")


def one_of(items: list[dict[str, Any]], wanted: str, what: str) -> Response:
    for item in items:
        if item["id"] == wanted:
            return scim_response(item)
    return scim_response(scim_error(404, f"no {what} {wanted!r}"), 404)


def handle_error(exc: Exception) -> Response:
    return error_response(exc)


_SCIM_ERRORS: tuple[type[Exception], ...] = (SCIMException, *HANDLED_ERRORS)
for _handled in _SCIM_ERRORS:
    blueprint.register_error_handler(_handled, handle_error)
