"""/api/v1: the admin API (JSON) over the services. HTTP concerns only.

A personal API token acts as its member, with that member's role as it is now
(SEATS.md §3). Each view checks the least role its endpoint needs before it reads
the body, so a caller without the role learns nothing from validation errors.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import wraps
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, current_app, g, request
from marshmallow import Schema

from ..domain.billing import Review
from ..errors import (
    HANDLED_ERRORS,
    DomainError,
    Forbidden,
    NoSeat,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    ReductionRefused,
    Unauthorized,
    UnsupportedMediaType,
    VersionMismatch,
    api_error_body,
    translate,
)
from ..inputs import read_json
from ..mappings_file import MappingErrors, MappingSchema, decode
from ..services import access, audit_log, billing, group_mappings, members, oidc_settings
from ..services.access import Acting
from . import schemas
from .operations import Operation, Text
from .spreadsheets import text_cell

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


def endpoint(
    *actions: str,
    query: type[Schema] | None = None,
    body: type[Schema] | Text | None = None,
    answer: type[Schema] | None = None,
    alternatives: Text | None = None,
    errors: tuple[type[DomainError], ...] = (),
    request_headers: Mapping[str, str] | None = None,
    answer_headers: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """An endpoint, declared once (api/operations.py): its least role (any of `actions`),
    checked before anything is read; its query and JSON body loaded through their schemas
    and handed to the view as `query` and `body`; what the view returns dumped through
    `answer` (a Response is sent as it is; a (payload, headers) pair adds headers).
    api/openapi.py documents the same declaration."""
    operation = Operation(
        actions, query, body, answer, alternatives, errors,
        request_headers or {}, answer_headers or {},
    )  # fmt: skip

    def decorate(view: Callable[..., Any]) -> Callable[..., Response]:
        @wraps(view)
        def run(**arguments: Any) -> Response:
            acting().require(*actions)
            if query is not None:
                arguments["query"] = schemas.load(query(), request.args.to_dict())
            if isinstance(body, type):
                arguments["body"] = schemas.load(body(), json_body())
            result = view(**arguments)
            if isinstance(result, Response):
                return result
            payload, headers = result if isinstance(result, tuple) else (result, {})
            assert answer is not None, f"{view.__name__} declares no answer"
            response = json_response(answer().dump(payload))
            response.headers.update(headers)
            return response

        run.operation = operation  # type: ignore[attr-defined]
        return run

    return decorate


def json_body() -> Any:
    """The request's JSON, whatever its Content-Type says (curl -d sends a form type)."""
    return read_json(request.get_data(cache=True))


def json_response(payload: Any, status: int = 200) -> Response:
    return current_app.response_class(
        json.dumps(payload), status=status, mimetype="application/json"
    )


# --- organization and members -----------------------------------------------------------------


@blueprint.get("/me")
@endpoint("read_own_seat", answer=schemas.MeOut)
def me() -> members.Me:
    """Who the token acts as: their member, seat and access, and their organization."""
    return members.me(db(), acting())


@blueprint.get("/organization")
@endpoint("read_organization", answer=schemas.OrganizationOut)
def organization() -> billing.OrganizationState:
    """The organization: its plan, term, seat types and allocation, who waits for a seat."""
    return billing.organization_state(db(), acting())


@blueprint.get("/members")
@endpoint("read_members", query=schemas.MemberQuery, answer=schemas.MemberPageOut)
def list_members(query: dict[str, Any]) -> members.MemberPage:
    """Members in userName order, searched and filtered, a page at a time (cursors)."""
    status = query.get("status")
    wanted = members.search_filter(
        query.get("q"),
        query.get("email"),
        query.get("not_seen_days"),
        seat_type=query.get("seat_type"),
        role=query.get("role"),
        active=None if status is None else status == "active",
        waiting=query.get("waiting"),
    )
    return members.listing(
        db(), acting(), wanted, query["per_page"], query.get("after"), query.get("before")
    )


# A member's id is their SCIM User id, a UUID (RFC 9562): the router says so, so that
# /members/seat-assignments is never taken for a member (a GET on it is 405, not 404).
@blueprint.get("/members/<uuid:member_id>")
@endpoint("read_own_seat", answer=schemas.MemberOut, errors=(Forbidden,))
def member(member_id: UUID) -> members.Member:
    """A member: an admin reads anyone's, a member their own (SEATS.md §3)."""
    return members.get(db(), acting(), str(member_id))


@blueprint.patch("/members/<uuid:member_id>")
@endpoint(
    "reassign_seats", "change_roles",
    body=schemas.MemberPatch, answer=schemas.MemberOut, errors=(NoSeat,),
)  # fmt: skip
def update_member(member_id: UUID, body: dict[str, Any]) -> members.Member:
    """Reassign a member's seat type ("auto": back to the automatic rules), change their
    role, or both; a refused seat undoes the role change."""
    return members.update(db(), acting(), str(member_id), **body)


@blueprint.post("/members/seat-assignments")
@endpoint(
    "reassign_seats", body=schemas.SeatAssignments, answer=schemas.MembersOut, errors=(NoSeat,)
)
def assign_seats(body: dict[str, Any]) -> dict[str, Any]:
    """Reassign many members at once, all or nothing, judged on the final state (SEATS.md §4)."""
    pairs = [(a["member"], a["seat_type"]) for a in body["assignments"]]
    return {"members": members.assign_batch(db(), acting(), pairs)}


@blueprint.post("/ownership/transfer")
@endpoint(
    "transfer_primary_ownership",
    body=schemas.OwnershipTransfer, answer=schemas.TransferOut, errors=(NotFound,),
)  # fmt: skip
def transfer_ownership(body: dict[str, Any]) -> dict[str, Any]:
    """Make another member the primary owner; the caller becomes an owner."""
    new, previous = members.transfer_ownership(db(), acting(), body["member"])
    return {"primary_owner": new, "previous_primary_owner": previous}


# --- billing (owners only, SEATS.md §3) -------------------------------------------------------


@blueprint.get("/billing/seats")
@endpoint("read_billing", answer=schemas.BillingSeatsOut)
def billing_seats() -> billing.OrganizationState:
    """The allocation and what seats cost: the plan's prices, its minimum, extra usage."""
    return billing.billing_state(db(), acting())


@blueprint.post("/billing/seats/review")
@endpoint(
    "buy_seats", body=schemas.SeatCounts, answer=schemas.ReviewOut, errors=(ReductionRefused,)
)
def review_seats(body: dict[str, Any]) -> Review:
    """Step one of buying seats: what the new counts add and cost; changes nothing."""
    return billing.review(db(), acting(), body["seats"])


@blueprint.put("/billing/seats")
@endpoint(
    "buy_seats", body=schemas.SeatCounts, answer=schemas.PurchaseOut, errors=(ReductionRefused,)
)
def buy_seats(body: dict[str, Any]) -> billing.Purchase:
    """Step two ("Upgrade"): buy seats up to the new counts; the waiting line is served."""
    return billing.purchase(db(), acting(), body["seats"])


@blueprint.put("/billing/extra-usage")
@endpoint("change_extra_usage", body=schemas.ExtraUsage, answer=schemas.ExtraUsageOut)
def extra_usage(body: dict[str, Any]) -> dict[str, bool]:
    """Let members work past their seat's usage limits (legacy plans, SEATS.md §7)."""
    return {"extra_usage": billing.set_extra_usage(db(), acting(), body["enabled"])}


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
MAPPING_FILE = Text(
    tuple(MAPPING_TYPES),
    "The mapping file itself, at most 256 KiB of UTF-8 (SEATS.md §5, "
    "mappings/enterprise.example.yaml): YAML, or the same as JSON.",
    json=MappingSchema,
)
MAPPING_AS_SENT = Text(
    tuple(MAPPING_ANSWERS[1:]),
    "The file exactly as it was sent (a mapping sent as JSON is YAML too), "
    "so that its lines are those the rules name.",
)


@blueprint.get("/group-mappings")
@endpoint(
    "edit_mappings",
    answer=schemas.GroupMappingOut,
    alternatives=MAPPING_AS_SENT,
    errors=(NotFound, NotAcceptable),
    answer_headers={"ETag": 'The stored version, e.g. "3": If-Match of a PUT names it.'},
)
def group_mapping() -> Any:
    """The stored group mapping, as JSON or (Accept: application/yaml) as it was sent."""
    answer = negotiated(MAPPING_ANSWERS)
    stored = group_mappings.stored(db(), acting())
    if stored is None:
        raise NotFound(
            "no group mapping is stored for this organization; PUT one to /api/v1/group-mappings"
        )
    etag = {"ETag": f'"{stored.version}"'}
    if answer == "application/json":
        return stored, etag
    return current_app.response_class(
        stored.source, content_type=f"{answer}; charset=utf-8", headers=etag
    )


IF_MATCH = (
    'Replace only this version: the ETag of a GET, "0" when none is stored yet, '
    'or "*" for whatever is stored.'
)


@blueprint.put("/group-mappings")
@endpoint(
    "edit_mappings",
    body=MAPPING_FILE,
    answer=schemas.MappingReportOut,
    errors=(MappingErrors, VersionMismatch),
    request_headers={"If-Match": IF_MATCH},
)
def replace_group_mapping() -> dict[str, Any]:
    """Store the mapping as a new version and re-evaluate every member not pinned, in one
    transaction: the report of what was done."""
    text, media_type = mapping_body()
    return group_mappings.apply(db(), acting(), text, media_type, if_version()).as_json()


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
@endpoint(
    "edit_mappings", body=MAPPING_FILE, answer=schemas.MappingReportOut, errors=(MappingErrors,)
)
def plan_group_mapping() -> dict[str, Any]:
    """What PUT would do with this mapping (`applied: false`); writes nothing."""
    text, _ = mapping_body()
    return group_mappings.preview(db(), acting(), text).as_json()


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
    as_yaml = "send YAML as Content-Type: application/yaml"
    return decode(raw, media_type, as_yaml), media_type


# --- sign-in through OIDC (SEATS.md §6) -------------------------------------------------------


@blueprint.get("/oidc")
@endpoint("read_oidc", answer=schemas.OidcOut, errors=(NotFound,))
def oidc() -> dict[str, Any]:
    """The organization's OIDC settings, never the client secret; an operator sets them."""
    return oidc_settings.read(db(), acting())


# --- the audit log (SEATS.md §8) ----------------------------------------------------------------


EXPORTS = Text(
    ("application/x-ndjson", "text/csv"),
    "With format=jsonl or csv, every matching event from `after` on, as a download: one "
    "event (as in `events`) per line, or a header row then one row per event, before and "
    "after as JSON text.",
)


@blueprint.get("/audit-events")
@endpoint(
    "read_audit", query=schemas.AuditEventQuery, answer=schemas.EventPageOut, alternatives=EXPORTS
)
def audit_events(query: dict[str, Any]) -> Any:
    """The audit log, a page at a time, or exported whole (SEATS.md §8)."""
    wanted = audit_log.AuditQuery(
        action=query.get("action"),
        subject_id=query.get("member"),
        source=query.get("source"),
        since=query.get("since"),
        until=query.get("until"),
        after_pk=query["after"],
    )
    if query["format"] == "json":
        return audit_log.page(db(), acting(), wanted, query["limit"])
    events = audit_log.export(db(), acting(), wanted)
    if query["format"] == "jsonl":
        return download(jsonl(events), "application/x-ndjson", "audit-events.jsonl")
    return download(csv_rows(events), "text/csv", "audit-events.csv")


def download(chunks: Iterable[str], mimetype: str, filename: str) -> Response:
    response = current_app.response_class(chunks, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def jsonl(events: Iterable[audit_log.Entry]) -> Iterator[str]:
    schema = schemas.EventOut()
    for event in events:
        yield json.dumps(schema.dump(event)) + "\n"


def csv_rows(events: Iterable[audit_log.Entry]) -> Iterator[str]:
    """A header row, then one row per event; before and after as JSON text, and no cell
    a spreadsheet would run as a formula (spreadsheets.py)."""
    schema, buffer = schemas.EventOut(), io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS)
    writer.writeheader()
    for event in events:
        row = schema.dump(event)
        row |= {"before": cell(row["before"]), "after": cell(row["after"])}
        writer.writerow({k: text_cell(v) if isinstance(v, str) else v for k, v in row.items()})
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
