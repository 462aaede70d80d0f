"""The admin API's boundary: marshmallow schemas for requests (validation) and responses (shape).

Nothing past this module sees marshmallow: the services take plain values and return
dataclasses or rows, which the response schemas turn into the documented JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

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


class ExtraUsage(Schema):
    # JSON true or false only: "yes" or 1 are not a decision an owner made.
    enabled = fields.Boolean(required=True, truthy={True}, falsy={False})


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


def allocation_map(allocation: Allocation) -> dict[str, dict[str, int]]:
    return {
        seat_type: {
            "purchased": purchased,
            "assigned": allocation.assigned.get(seat_type, 0),
            "available": allocation.available(seat_type),
        }
        for seat_type, purchased in allocation.purchased.items()
    }


class MemberOut(Schema):
    id = fields.String()
    user_name = fields.String()
    display_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    role = fields.String()
    active = fields.Boolean()
    seat_type = fields.String()
    seat_source = fields.String(allow_none=True)
    pinned = fields.Boolean()
    pinned_seat_type = fields.String(allow_none=True)
    waiting = fields.Boolean()
    entitlements = fields.List(fields.String())


class MemberPageOut(Schema):
    members = fields.List(fields.Nested(MemberOut))
    total = fields.Integer()
    total_exact = fields.Boolean()
    after = fields.String(allow_none=True)
    before = fields.String(allow_none=True)


class MembersOut(Schema):
    members = fields.List(fields.Nested(MemberOut))


class TransferOut(Schema):
    primary_owner = fields.Nested(MemberOut)
    previous_primary_owner = fields.Nested(MemberOut)


class SeatTypeOut(Schema):
    id = fields.String()
    name = fields.String()
    rank = fields.Integer()
    entitlements = fields.Function(lambda seat_type: sorted(seat_type.entitlements))


class RenewalOut(Schema):
    """The next term and its counts, agreed at renewal; they take effect when it starts."""

    term_start = fields.DateTime(attribute="term.start")
    term_end = fields.DateTime(attribute="term.end")
    seats = fields.Dict(keys=fields.String(), values=fields.Integer())


class OrganizationOut(Schema):
    slug = fields.String()
    name = fields.String()
    plan = fields.Function(lambda state: state.plan.id)
    billing_model = fields.Function(lambda state: state.plan.billing)
    term_start = fields.DateTime()
    term_end = fields.DateTime()
    renewal = fields.Nested(RenewalOut, allow_none=True)
    extra_usage = fields.Boolean()
    seat_types = fields.Function(lambda state: SeatTypeOut(many=True).dump(state.plan.seat_types))
    allocation = fields.Function(lambda state: allocation_map(state.allocation))
    unassigned = fields.Integer()
    waiting = fields.Integer()


class BillingSeatsOut(Schema):
    plan = fields.Function(lambda state: state.plan.id)
    billing_model = fields.Function(lambda state: state.plan.billing)
    currency = fields.Function(lambda state: state.plan.currency)
    term_start = fields.DateTime()
    term_end = fields.DateTime()
    renewal = fields.Nested(RenewalOut, allow_none=True)
    allocation = fields.Function(lambda state: allocation_map(state.allocation))
    monthly_price_cents = fields.Function(
        lambda state: {s.id: s.monthly_price_cents for s in state.plan.seat_types}
    )
    minimum_seats = fields.Function(lambda state: state.plan.minimum_seats)
    extra_usage = fields.Boolean()
    extra_usage_available = fields.Function(lambda state: state.plan.extra_usage_available)


class ReviewOut(Schema):
    seats = fields.Function(
        lambda review: {
            line.seat_type: {
                "current": line.current,
                "requested": line.requested,
                "added": line.added,
                "cost_cents": line.cost_cents,
            }
            for line in review.lines
        }
    )
    total_cents = fields.Integer()
    currency = fields.String()
    days_remaining = fields.Integer()
    term_end = fields.DateTime()
    changes_anything = fields.Boolean()


class PurchaseOut(Schema):
    allocation = fields.Function(lambda purchase: allocation_map(purchase.allocation))
    served_from_waiting_line = fields.Integer(attribute="served")


class MappingRuleOut(Schema):
    group = fields.String()
    seat_type = fields.String()
    priority = fields.Integer(allow_none=True)
    line = fields.Integer(allow_none=True)


class GroupMappingOut(Schema):
    """A stored group mapping (SEATS.md §5): its rules as validated, and the file as sent."""

    version = fields.Integer()
    updated_at = fields.DateTime()
    updated_by = fields.String(allow_none=True)
    media_type = fields.String()
    plan = fields.Function(lambda stored: stored.mapping.plan)
    rules = fields.Function(lambda stored: MappingRuleOut(many=True).dump(stored.mapping.rules))
    source = fields.String()


class EventOut(Schema):
    id = fields.Integer(attribute="pk")
    at = fields.DateTime()
    actor_kind = fields.String()
    actor = fields.String(allow_none=True)
    source = fields.String()
    action = fields.String()
    subject_kind = fields.String()
    subject_id = fields.String(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    reason = fields.String(allow_none=True)


class EventPageOut(Schema):
    events = fields.List(fields.Nested(EventOut))
    next = fields.Integer(allow_none=True)
