"""The admin API's boundary: marshmallow schemas for requests (validation) and responses (shape).

Nothing past this module sees marshmallow: the services take plain values and return
dataclasses or rows, which the response schemas turn into the documented JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from marshmallow import (
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from ..domain.plans import MAX_SEATS
from ..domain.roles import Role
from ..domain.seats import Allocation
from ..errors import InvalidInput

ROLES = [role.name for role in Role]
# Bounds that keep every value inside the database's column types, so that no input can
# turn into a driver error (a 500): seat counts are 32-bit (plans.MAX_SEATS), keys 64-bit.
MAX_KEY = 2**63 - 1


def text(**kwargs: Any) -> fields.String:
    """A name or an id. Its characters were checked where it was decoded (inputs.py)."""
    return fields.String(validate=validate.Length(min=1, max=255), **kwargs)


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validated input, or a 422 whose `fields` map each dotted field path to its messages."""
    try:
        return dict(schema.load(data))
    except ValidationError as exc:
        raise InvalidInput("the request is not valid", fields=flatten(exc.messages)) from exc


def flatten(messages: Any, path: str = "") -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        return {path or "_schema": [str(item) for item in items]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        # marshmallow nests a Dict entry's errors under "value": the entry is the field.
        name = path if key == "value" and path else ".".join(p for p in (path, str(key)) if p)
        flat.update(flatten(value, name))
    return flat


# --- requests -------------------------------------------------------------------------------


class MemberQuery(Schema):
    q = fields.String(validate=validate.Length(min=1, max=255))
    email = text()
    seat_type = text()
    role = fields.String(validate=validate.OneOf(ROLES))
    status = fields.String(validate=validate.OneOf(["active", "inactive"]))
    waiting = fields.Boolean(truthy={"true"}, falsy={"false"})
    # Members who have not signed in for this many days, or never: idle seats to reclaim.
    not_seen_days = fields.Integer(validate=validate.Range(min=1, max=36500))
    after = text()
    before = text()
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))

    @validates_schema
    def _one_cursor(self, data: dict[str, Any], **_: Any) -> None:
        if "after" in data and "before" in data:
            raise ValidationError("name one cursor: after or before", field_name="before")


class MemberPatch(Schema):
    seat_type = text()
    role = fields.String(validate=validate.OneOf(ROLES))

    @validates_schema
    def _names_something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("name a seat_type, a role, or both")


class Assignment(Schema):
    member = text(required=True)
    seat_type = text(required=True)


class SeatAssignments(Schema):
    assignments = fields.List(
        fields.Nested(Assignment), required=True, validate=validate.Length(min=1, max=1000)
    )


class SeatCounts(Schema):
    seats = fields.Dict(
        keys=text(),
        values=fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_SEATS)),
        required=True,
        validate=validate.Length(min=1),
    )


class JsonBoolean(fields.Boolean):
    """JSON true or false, nothing else. Boolean(truthy={True}) is not enough: 1 == True in
    Python, so 1 is in {True}, and 0 in {False}."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ExtraUsage(Schema):
    # "yes" or 1 are not a decision an owner made.
    enabled = JsonBoolean(required=True)


class OwnershipTransfer(Schema):
    member = text(required=True)


class AuditEventQuery(Schema):
    action = text()
    member = text()
    source = text()
    since = fields.DateTime()
    until = fields.DateTime()
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_KEY))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "jsonl", "csv"]))

    @post_load
    def _utc(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        for key in ("since", "until"):
            if key in data:
                data[key] = as_utc(data[key], key)
        return data


def as_utc(value: datetime, field: str) -> datetime:
    """ISO 8601 without an offset is read as UTC, the log's own zone."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, say: before any event
        raise ValidationError("is out of range", field_name=field) from None


# --- responses ------------------------------------------------------------------------------


class Out(Schema):
    """A response body. Every field is in every answer, so the OpenAPI document marks each
    required (api/openapi.py): a client may rely on a key being there, null or not."""


class Computed(fields.Field):
    """A value computed from the whole object, dumped (and documented) as `shape` says."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, compute: Callable[[Any], Any], shape: fields.Field, **kwargs: Any):
        super().__init__(dump_only=True, **kwargs)
        self.compute, self.shape = compute, shape

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return self.shape._serialize(self.compute(obj), attr, obj, **kwargs)


def per_seat_type(values: fields.Field) -> fields.Dict:
    """A map keyed by seat type id."""
    return fields.Dict(keys=fields.String(), values=values)


class SeatCountOut(Out):
    purchased = fields.Integer()
    assigned = fields.Integer()
    available = fields.Integer()


def allocation_map(allocation: Allocation) -> dict[str, dict[str, int]]:
    return {
        seat_type: {
            "purchased": purchased,
            "assigned": allocation.assigned.get(seat_type, 0),
            "available": allocation.available(seat_type),
        }
        for seat_type, purchased in allocation.purchased.items()
    }


def allocation_of(get: Callable[[Any], Allocation]) -> Computed:
    return Computed(
        lambda obj: allocation_map(get(obj)), per_seat_type(fields.Nested(SeatCountOut))
    )


class MemberOut(Out):
    id = fields.String()
    user_name = fields.String()
    display_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    seat_type = fields.String()
    seat_source = fields.String(allow_none=True)
    pinned = fields.Boolean()
    pinned_seat_type = fields.String(allow_none=True)
    waiting = fields.Boolean()
    entitlements = fields.List(fields.String())
    last_sign_in_at = fields.DateTime(allow_none=True)  # null: never signed in (OIDC, console)


class MemberPageOut(Out):
    members = fields.List(fields.Nested(MemberOut))
    total = fields.Integer()
    total_exact = fields.Boolean()
    after = fields.String(allow_none=True)
    before = fields.String(allow_none=True)


class MembersOut(Out):
    members = fields.List(fields.Nested(MemberOut))


class OrganizationRefOut(Out):
    slug = fields.String()
    name = fields.String()


class MeOut(Out):
    """The caller: the member their token acts as, and their organization."""

    member = fields.Nested(MemberOut)
    organization = fields.Nested(OrganizationRefOut)


class TransferOut(Out):
    primary_owner = fields.Nested(MemberOut)
    previous_primary_owner = fields.Nested(MemberOut)


class SeatTypeOut(Out):
    id = fields.String()
    name = fields.String()
    rank = fields.Integer()
    entitlements = Computed(
        lambda seat_type: sorted(seat_type.entitlements), fields.List(fields.String())
    )


class RenewalOut(Out):
    """The next term and its counts, agreed at renewal; they take effect when it starts."""

    term_start = fields.DateTime(attribute="term.start")
    term_end = fields.DateTime(attribute="term.end")
    seats = per_seat_type(fields.Integer())


class OrganizationOut(Out):
    slug = fields.String()
    name = fields.String()
    plan = fields.String(attribute="plan.id")
    billing_model = fields.String(attribute="plan.billing")
    term_start = fields.DateTime()
    term_end = fields.DateTime()
    renewal = fields.Nested(RenewalOut, allow_none=True)
    extra_usage = fields.Boolean()
    seat_types = fields.List(fields.Nested(SeatTypeOut), attribute="plan.seat_types")
    allocation = allocation_of(lambda state: state.allocation)
    unassigned = fields.Integer()
    waiting = fields.Integer()


class BillingSeatsOut(Out):
    plan = fields.String(attribute="plan.id")
    billing_model = fields.String(attribute="plan.billing")
    currency = fields.String(attribute="plan.currency")
    term_start = fields.DateTime()
    term_end = fields.DateTime()
    renewal = fields.Nested(RenewalOut, allow_none=True)
    allocation = allocation_of(lambda state: state.allocation)
    monthly_price_cents = Computed(
        lambda state: {s.id: s.monthly_price_cents for s in state.plan.seat_types},
        per_seat_type(fields.Integer()),
    )
    minimum_seats = fields.Integer(attribute="plan.minimum_seats")
    extra_usage = fields.Boolean()
    extra_usage_available = fields.Boolean(attribute="plan.extra_usage_available")


class ReviewLineOut(Out):
    current = fields.Integer()
    requested = fields.Integer()
    added = fields.Integer()
    cost_cents = fields.Integer()


class ReviewOut(Out):
    seats = Computed(
        lambda review: {line.seat_type: line for line in review.lines},
        per_seat_type(fields.Nested(ReviewLineOut)),
    )
    total_cents = fields.Integer()
    currency = fields.String()
    days_remaining = fields.Integer()
    term_end = fields.DateTime()
    changes_anything = fields.Boolean()


class PurchaseOut(Out):
    allocation = allocation_of(lambda purchase: purchase.allocation)
    served_from_waiting_line = fields.Integer(attribute="served")


class ExtraUsageOut(Out):
    extra_usage = fields.Boolean()


class OidcOut(Out):
    """An organization's OIDC provider as an admin sees it: never the client secret."""

    issuer = fields.String()
    client_id = fields.String()
    client_secret_set = fields.Boolean()
    groups_claim = fields.String()
    allowed_domains = fields.List(fields.String())
    login_path = fields.String()
    redirect_path = fields.String()
    updated_at = fields.String(metadata={"format": "date-time"})


class MappingRuleOut(Out):
    group = fields.String()
    seat_type = fields.String()
    priority = fields.Integer(allow_none=True)
    line = fields.Integer(allow_none=True)


class GroupMappingOut(Out):
    """A stored group mapping (SEATS.md §5): its rules as validated, and the file as sent."""

    version = fields.Integer()
    updated_at = fields.DateTime()
    updated_by = fields.String(allow_none=True)
    updated_by_user_name = fields.String(allow_none=True)
    updated_by_display_name = fields.String(allow_none=True)
    media_type = fields.String()
    plan = fields.String(attribute="mapping.plan")
    rules = fields.List(fields.Nested(MappingRuleOut), attribute="mapping.rules")
    source = fields.String()


# A mapping's report (services.group_mappings.Preview.as_json), for a plan and for a PUT.


class RuleRefOut(Out):
    group = fields.String()
    seat_type = fields.String()
    line = fields.Integer(allow_none=True)


class ReportedOut(Out):
    """Whom a line of the report is about, and why (Preview._who)."""

    member = fields.String()
    userName = fields.String(allow_none=True)  # the report says userName, as SCIM does
    reason = fields.String()


class MoveOut(ReportedOut):
    from_ = fields.String(attribute="from", data_key="from")
    to = fields.String()
    rule = fields.Nested(RuleRefOut, allow_none=True)


class BlockedOut(ReportedOut):
    seat_type = fields.String()
    wanted = fields.String()
    rule = fields.Nested(RuleRefOut, allow_none=True)


class ReleasedOut(ReportedOut):
    seat_type = fields.String()


class ShortfallOut(Out):
    seat_type = fields.String()
    missing = fields.Integer()


class MappingReportOut(Out):
    """What applying a mapping does (`applied: false`, a plan) or did (a PUT)."""

    applied = fields.Boolean()
    sufficient = fields.Boolean()
    moves = fields.List(fields.Nested(MoveOut))
    blocked = fields.List(fields.Nested(BlockedOut))
    released = fields.List(fields.Nested(ReleasedOut))
    held = per_seat_type(fields.Integer())
    purchased = per_seat_type(fields.Integer())
    shortfalls = fields.List(fields.Nested(ShortfallOut))


class EventOut(Out):
    """An audit event (SEATS.md §8), with the names of the members it names beside their ids
    (null for anyone else, and for a member removed since)."""

    id = fields.Integer(attribute="event.pk")
    at = fields.DateTime(attribute="event.at")
    actor_kind = fields.String(attribute="event.actor_kind")
    actor = fields.String(attribute="event.actor", allow_none=True)
    actor_user_name = fields.String(allow_none=True)
    actor_display_name = fields.String(allow_none=True)
    source = fields.String(attribute="event.source")
    action = fields.String(attribute="event.action")
    subject_kind = fields.String(attribute="event.subject_kind")
    subject_id = fields.String(attribute="event.subject_id", allow_none=True)
    subject_user_name = fields.String(allow_none=True)
    subject_display_name = fields.String(allow_none=True)
    before = fields.Raw(attribute="event.before", allow_none=True)
    after = fields.Raw(attribute="event.after", allow_none=True)
    reason = fields.String(attribute="event.reason", allow_none=True)


class EventPageOut(Out):
    events = fields.List(fields.Nested(EventOut))
    next = fields.Integer(allow_none=True)


class ErrorDetailOut(Out):
    """`code` and `message`, and the details each error adds (docs/admin-api.md, Errors)."""

    class Meta:
        unknown = INCLUDE

    code = fields.String()
    message = fields.String()


class ErrorOut(Out):
    """Every error of the admin API (errors.api_error_body)."""

    error = fields.Nested(ErrorDetailOut)
