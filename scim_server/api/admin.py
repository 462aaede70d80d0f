"""/api/v1: the admin API (JSON) over the services. HTTP concerns only.

A personal API token acts as its member, with that member's role as it is now
(SEATS.md §3). Each view checks the least role its endpoint needs before it reads
the body, so a caller without the role learns nothing from validation errors.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from marshmallow import Schema

from ..errors import (
    HANDLED_ERRORS,
    NoSeat,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    VersionMismatch,
    api_error_body,
    translate,
)
from ..inputs import read_json
from ..mappings_file import decode
from ..services import access, audit_log, billing, group_mappings, members, oidc_settings
from ..services.access import Acting
from . import schemas

blueprint = Blueprint("admin", __name__, url_prefix="/api/v1")

PURCHASE_HREF = "/api/v1/billing/seats"
CSV_COLUMNS = [name for name in schemas.EventOut().fields]


@blueprint.before_request
def authenticate() -> None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    config = current_app.config
    g.acting = access.identify(db(), presented.strip(), config["TOKEN_TOUCH_SECONDS"])
    g.log_org = g.acting.org_slug


def db() -> Any:
    return current_app.extensions["scim_db"]


def acting() -> Acting:
    acting: Acting = g.acting
    return acting


def requires(*actions: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """The least role of the endpoint (any of `actions`), checked before the body is read."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            acting().require(*actions)
            return view(*args, **kwargs)

        return checked

    return decorate


def body() -> Any:
    """The request's JSON, whatever its Content-Type says (curl -d sends a form type)."""
    return read_json(request.get_data(cache=True))


def respond(schema: Schema, payload: Any) -> Response:
    return json_response(schema.dump(payload))


def json_response(payload: Any, status: int = 200) -> Response:
    return current_app.response_class(
        json.dumps(payload), status=status, mimetype="application/json"
    )


# --- organization and members -----------------------------------------------------------------


@blueprint.get("/organization")
@requires("read_organization")
def organization() -> Response:
    return respond(schemas.OrganizationOut(), billing.organization_state(db(), acting()))


@blueprint.get("/members")
@requires("read_members")
def list_members() -> Response:
    query = schemas.load(schemas.MemberQuery(), request.args.to_dict())
    status = query.get("status")
    wanted = members.search_filter(
        query.get("q"),
        query.get("email"),
        seat_type=query.get("seat_type"),
        role=query.get("role"),
        active=None if status is None else status == "active",
        waiting=query.get("waiting"),
    )
    page = members.listing(
        db(), acting(), wanted, query["per_page"], query.get("after"), query.get("before")
    )
    return respond(schemas.MemberPageOut(), page)


@blueprint.get("/members/<member_id>")
@requires("read_own_seat")
def member(member_id: str) -> Response:
    return respond(schemas.MemberOut(), members.get(db(), acting(), member_id))


@blueprint.patch("/members/<member_id>")
@requires("reassign_seats", "change_roles")
def update_member(member_id: str) -> Response:
    change = schemas.load(schemas.MemberPatch(), body())
    return respond(schemas.MemberOut(), members.update(db(), acting(), member_id, **change))


@blueprint.post("/members/seat-assignments")
@requires("reassign_seats")
def assign_seats() -> Response:
    request_body = schemas.load(schemas.SeatAssignments(), body())
    pairs = [(a["member"], a["seat_type"]) for a in request_body["assignments"]]
    changed = members.assign_batch(db(), acting(), pairs)
    return respond(schemas.MembersOut(), {"members": changed})


@blueprint.post("/ownership/transfer")
@requires("transfer_primary_ownership")
def transfer_ownership() -> Response:
    target = schemas.load(schemas.OwnershipTransfer(), body())["member"]
    new, previous = members.transfer_ownership(db(), acting(), target)
    return respond(
        schemas.TransferOut(), {"primary_owner": new, "previous_primary_owner": previous}
    )


# --- billing (owners only, SEATS.md §3) -------------------------------------------------------


@blueprint.get("/billing/seats")
@requires("read_billing")
def billing_seats() -> Response:
    return respond(schemas.BillingSeatsOut(), billing.billing_state(db(), acting()))


@blueprint.post("/billing/seats/review")
@requires("buy_seats")
def review_seats() -> Response:
    seats = schemas.load(schemas.SeatCounts(), body())["seats"]
    return respond(schemas.ReviewOut(), billing.review(db(), acting(), seats))


@blueprint.put("/billing/seats")
@requires("buy_seats")
def buy_seats() -> Response:
    seats = schemas.load(schemas.SeatCounts(), body())["seats"]
    return respond(schemas.PurchaseOut(), billing.purchase(db(), acting(), seats))


@blueprint.put("/billing/extra-usage")
@requires("change_extra_usage")
def extra_usage() -> Response:
    enabled = schemas.load(schemas.ExtraUsage(), body())["enabled"]
    return json_response({"extra_usage": billing.set_extra_usage(db(), acting(), enabled)})


# --- group mappings (SEATS.md §5) ---------------------------------------------------------------

# A mapping file is a page of rules: a quarter of a MiB is far beyond any real one.
MAX_MAPPING_BYTES = 256 * 1024
# Each Content-Type a mapping may be sent as, and the type its source is stored as.
MAPPING_TYPES = {
    "application/yaml": "application/yaml",
    "application/x-yaml": "application/yaml",
    "text/yaml": "application/yaml",
    "application/json": "application/json",
}
# What GET answers in; JSON first, the answer to a caller with no preference.
MAPPING_ANSWERS = ["application/json", "application/yaml", "text/yaml", "application/x-yaml"]


@blueprint.get("/group-mappings")
@requires("edit_mappings")
def group_mapping() -> Response:
    answer = negotiated(MAPPING_ANSWERS)
    stored = group_mappings.stored(db(), acting())
    if stored is None:
        raise NotFound(
            "no group mapping is stored for this organization; PUT one to /api/v1/group-mappings"
        )
    if answer == "application/json":
        response = respond(schemas.GroupMappingOut(), stored)
    else:
        # The file exactly as it was sent, so that its lines are those the rules name;
        # a mapping sent as JSON is valid YAML as it is.
        response = current_app.response_class(
            stored.source, content_type=f"{answer}; charset=utf-8"
        )
    response.headers["ETag"] = f'"{stored.version}"'
    return response


@blueprint.put("/group-mappings")
@requires("edit_mappings")
def replace_group_mapping() -> Response:
    text, media_type = mapping_body()
    applied = group_mappings.apply(db(), acting(), text, media_type, if_version())
    return json_response(applied.as_json())


def if_version() -> int | None:
    """If-Match of PUT /group-mappings: the ETag of a GET ("3", W/"3"); "0" when none is stored.

    "*" asks only that a mapping exist (RFC 9110 §13.1.1); anything else matches nothing.
    """
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    if tag == "*":
        stored = group_mappings.stored(db(), acting())
        if stored is None:
            raise VersionMismatch("If-Match: * but no group mapping is stored")
        return stored.version
    if not tag.isdigit():
        raise VersionMismatch(f"If-Match {raw!r} names no version of the group mapping")
    return int(tag)


@blueprint.post("/group-mappings/plan")
@requires("edit_mappings")
def plan_group_mapping() -> Response:
    text, _ = mapping_body()
    return json_response(group_mappings.preview(db(), acting(), text).as_json())


def negotiated(offered: list[str]) -> str:
    """The type to answer in: the first offered without an Accept header, else the best match."""
    if not request.accept_mimetypes:
        return offered[0]
    best = request.accept_mimetypes.best_match(offered)
    if best is None:
        raise NotAcceptable(
            f"this endpoint answers in {', '.join(offered)}; the Accept header names none of them",
            offered=offered,
        )
    return str(best)


def mapping_body() -> tuple[str, str]:
    """A mapping file sent as the body: its text, and the media type to store it as."""
    media_type = MAPPING_TYPES.get(request.mimetype)
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if media_type is None or charset not in ("utf-8", "utf8"):
        sent = request.content_type or "no Content-Type"
        raise UnsupportedMediaType(
            f"send the mapping as UTF-8 YAML (Content-Type: application/yaml) or JSON "
            f"(application/json), not {sent}",
            accepted=list(MAPPING_TYPES),
        )
    too_large = PayloadTooLarge(
        f"a mapping file may be at most {MAX_MAPPING_BYTES // 1024} KiB",
        limit=MAX_MAPPING_BYTES,
    )
    if (request.content_length or 0) > MAX_MAPPING_BYTES:
        raise too_large
    raw = request.get_data(cache=True)
    if len(raw) > MAX_MAPPING_BYTES:  # a chunked body, whose length was not announced
        raise too_large
    return decode(raw, media_type), media_type


# --- sign-in through OIDC (SEATS.md §6) -------------------------------------------------------


@blueprint.get("/oidc")
@requires("read_oidc")
def oidc() -> Response:
    """The organization's OIDC settings, never the client secret; an operator sets them."""
    return json_response(oidc_settings.read(db(), acting()))


# --- the audit log (SEATS.md §8) ----------------------------------------------------------------


@blueprint.get("/audit-events")
@requires("read_audit")
def audit_events() -> Response:
    query = schemas.load(schemas.AuditEventQuery(), request.args.to_dict())
    wanted = audit_log.AuditQuery(
        action=query.get("action"),
        subject_id=query.get("member"),
        source=query.get("source"),
        since=query.get("since"),
        until=query.get("until"),
        after_pk=query["after"],
    )
    if query["format"] == "json":
        return respond(
            schemas.EventPageOut(), audit_log.page(db(), acting(), wanted, query["limit"])
        )
    events = audit_log.export(db(), acting(), wanted)
    if query["format"] == "jsonl":
        return download(jsonl(events), "application/x-ndjson", "audit-events.jsonl")
    return download(csv_rows(events), "text/csv", "audit-events.csv")


def download(chunks: Iterable[str], mimetype: str, filename: str) -> Response:
    response = current_app.response_class(chunks, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def jsonl(events: Iterable[audit_log.AuditEvent]) -> Iterator[str]:
    schema = schemas.EventOut()
    for event in events:
        yield json.dumps(schema.dump(event)) + "\n"


def csv_rows(events: Iterable[audit_log.AuditEvent]) -> Iterator[str]:
    """A header row, then one row per event; before and after as JSON text."""
    schema, buffer = schemas.EventOut(), io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS)
    writer.writeheader()
    for event in events:
        row = schema.dump(event)
        writer.writerow({**row, "before": cell(row["before"]), "after": cell(row["after"])})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()  # the header alone, when nothing matched


def cell(value: Any) -> str:
    return "" if value is None else json.dumps(value)


# --- errors --------------------------------------------------------------------------------------


def handle_error(exc: Exception) -> Response:
    error = translate(exc)
    payload, status = api_error_body(error)
    if isinstance(error, NoSeat):
        payload["error"]["purchase"] = purchase_offer()
    response = json_response(payload, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


for _handled in HANDLED_ERRORS:
    blueprint.register_error_handler(_handled, handle_error)


def purchase_offer() -> dict[str, Any]:
    """SEATS.md §4: to an owner, a way to buy; to an admin, that an owner must buy."""
    caller = g.get("acting")
    return {"allowed": bool(caller and caller.may("buy_seats")), "href": PURCHASE_HREF}
