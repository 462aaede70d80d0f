"""/console/<org>/organization: find members, change their seats and roles (issue 19).

Views only (docs/console.md): each reads or changes through services/members.py, as the
admin API does, and renders its result or the service's refusal. Every form works
without JavaScript (POST, then a redirect back to the same list); with htmx a seat or a
role changes in place, and the search runs as one types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import g, redirect, request, url_for
from marshmallow import fields, validate
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from ...domain import labels
from ...domain.roles import NotPermitted
from ...domain.seats import UNASSIGNED, SeatUnavailable
from ...errors import DomainError, InvalidInput, NoSeat, translate
from ...persistence.members import MemberFilter
from ...services import members
from .. import schemas
from ..admin import download
from . import render, spreadsheet
from .nav import gate
from .views import acting, blueprint, db

PER_PAGE = 50
# The list's parameters: kept in its links, and carried through a change and back.
LIST_PARAMETERS = (
    "q", "seat_type", "role", "status", "waiting", "not_seen", "per_page", "after", "before",
)  # fmt: skip
# Those that choose a page of the list rather than which members it holds.
PAGING = ("per_page", "after", "before")
# The control each parameter's error points to, in the error summary.
FILTER_FIELDS = {
    "q": "search",
    "seat_type": "filter-seat-type",
    "role": "filter-role",
    "status": "filter-status",
    "waiting": "filter-waiting",
    "not_seen": "filter-not-seen",
}
BULK_FIELD = "bulk-seat-type"
# The errors a change may meet, shown beside the list or the row (anything else is a page).
REFUSALS = (SeatUnavailable, NotPermitted, InvalidInput)


class ListQuery(schemas.MemberQuery):
    """The admin API's query of members (GET /api/v1/members), and "not seen for N days"."""

    per_page = fields.Integer(load_default=PER_PAGE, validate=validate.Range(min=1, max=200))
    not_seen = fields.Integer(validate=validate.Range(min=1, max=36500))


@dataclass
class Listing:
    """A list as asked for: its parameters as given, and the criteria they make."""

    args: dict[str, str]
    wanted: MemberFilter | None = None  # None when a parameter is refused
    per_page: int = PER_PAGE
    after: str | None = None
    before: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def filtered(self) -> bool:
        return any(name not in PAGING for name in self.args)

    def url(self, **changes: str | None) -> str:
        """This list's URL with some parameters changed (None drops one)."""
        args = {**self.args, **changes}
        return with_query(url_for(".organization"), {k: v for k, v in args.items() if v})

    def export_url(self) -> str:
        args = {k: v for k, v in self.args.items() if k not in PAGING}
        return with_query(url_for(".organization_csv"), args)

    @property
    def back(self) -> str:
        """The list's query, which a form carries so that its answer comes back here."""
        return urlencode(self.args)


@dataclass(frozen=True)
class Refusal:
    """No seat of a type is free (SEATS.md §4): the type, its counts, and how to get one."""

    field_id: str
    seat_type: str  # its display name
    purchased: int
    assigned: int
    buy_href: str | None  # an owner's way to the Billing review; None for an admin
    # A batch: the seats its final state needs of the type, and how many that lacks.
    needed: int | None = None
    short: int = 1

    @property
    def message(self) -> str:
        counts = f"{self.purchased} purchased, {self.assigned} assigned"
        if self.needed is not None:
            counts += f"; these changes need {self.needed}, {self.short} more"
        return f"No {self.seat_type} seat is free: {counts}"

    @property
    def to_buy(self) -> str:
        """What an owner is offered to buy: a seat, or as many as the batch lacks."""
        if self.short == 1:
            return f"a {self.seat_type} seat"
        return f"{self.short} {self.seat_type} seats"


# --- the page ------------------------------------------------------------------------------


@blueprint.get("/organization")
@gate("organization")
def organization() -> Response:
    found = listing_of(request.args)
    return show(found, 422 if found.errors else 200)


@blueprint.get("/organization/members.csv")
@gate("organization")
def organization_csv() -> Response:
    """Every member the filters admit, streamed a page at a time (docs/console.md)."""
    found = listing_of(request.args)
    if found.wanted is None:
        return show(found, 422)
    chosen = members.every(db(), acting(), found.wanted)
    rows = spreadsheet.members(chosen, acting().plan)
    return download(rows, "text/csv", f"{g.org}-members.csv")


def show(
    found: Listing,
    http_status: int = 200,
    errors: Iterable[tuple[str, str]] = (),
    refusal: Refusal | None = None,
    submitted: MultiDict[str, str] | None = None,
) -> Response:
    """The page: filters, the list's page of members, and any error at the top."""
    shown = [*found.errors, *errors]
    page = None
    if found.wanted is not None:
        try:
            page = members.listing(
                db(), acting(), found.wanted, found.per_page, found.after, found.before
            )
        except InvalidInput as exc:  # a seat type the plan does not have
            shown += field_errors(exc, FILTER_FIELDS)
            http_status = 422
    g.htmx_ready = True  # the live search swaps this page's results in
    response = render.page(
        "organization.html", http_status, listing=found, page=page,
        **row_context(shown, refusal, submitted),
    )  # fmt: skip
    if htmx() and request.method == "GET":
        # The address bar gets the list's own URL, without the form's empty fields.
        response.headers["HX-Push-Url"] = found.url()
    return response


def listing_of(args: MultiDict[str, str]) -> Listing:
    """The list's parameters, checked as the admin API checks them (empty ones dropped)."""
    given = {name: value for name in LIST_PARAMETERS if (value := args.get(name, "").strip())}
    found = Listing(given)
    try:
        query = schemas.load(ListQuery(), given)
    except InvalidInput as exc:
        found.errors = field_errors(exc, FILTER_FIELDS)
        return found
    status = query.get("status")
    found.wanted = members.search_filter(
        query.get("q"),
        not_seen_days=query.get("not_seen"),
        seat_type=query.get("seat_type"),
        role=query.get("role"),
        active=None if status is None else status == "active",
        waiting=query.get("waiting"),
    )
    found.per_page = query["per_page"]
    found.after, found.before = query.get("after"), query.get("before")
    return found


def returning() -> Listing:
    """The list a form was sent from (its `back` field)."""
    return listing_of(MultiDict(parse_qsl(request.form.get("back", ""))))


def field_errors(
    error: DomainError, ids: dict[str, str], default: str = "search"
) -> list[tuple[str, str]]:
    """The service's messages, each pointing at the control its field names."""
    problems: dict[str, list[str]] = error.details.get("fields") or {}
    found = [(ids.get(name, default), m) for name, ms in problems.items() for m in ms]
    return found or [(default, error.message)]


def row_context(
    errors: list[tuple[str, str]],
    refusal: Refusal | None,
    submitted: MultiDict[str, str] | None = None,
) -> dict[str, Any]:
    """What the rows show beside each member: the plan's seat types, Unassigned and
    Automatic; the roles the service lets this visitor give; each control's error; and
    what a refused form asked for (kept, as GOV.UK forms keep it)."""
    plan = acting().plan
    seat_choices = [(s.id, s.name) for s in plan.seat_types]
    seat_choices += [(UNASSIGNED, labels.seat_type(plan, UNASSIGNED)), (members.AUTO, "Automatic")]
    inline = dict(errors)
    if refusal is not None:
        inline[refusal.field_id] = refusal.message
    return {
        "plan": plan,
        "seat_choices": seat_choices,
        "batch_choices": seat_choices[:-1],  # a batch names seat types (assign_batch)
        "role_choices": role_choices,
        "errors": errors,
        "refusal": refusal,
        "inline": inline,
        "submitted": submitted or MultiDict(),
    }


def role_choices(member: members.Member) -> list[tuple[str, str]]:
    return [(r, labels.role(r)) for r in members.roles_offered(acting(), member)]


# --- changing one member -------------------------------------------------------------------


@blueprint.post("/organization/members/<member_id>/seat")
@gate("organization")
def organization_seat(member_id: str) -> Response:
    wanted = request.form.get(f"seat.{member_id}", "")
    return change(
        member_id,
        f"seat-{member_id}",
        partial(members.update, db(), acting(), member_id, seat_type=wanted),
        seat_changed,
    )


@blueprint.post("/organization/members/<member_id>/role")
@gate("organization")
def organization_role(member_id: str) -> Response:
    wanted = request.form.get(f"role.{member_id}", "")
    return change(
        member_id,
        f"role-{member_id}",
        partial(members.update, db(), acting(), member_id, role=wanted),
        lambda m: f"The role of {person_text(m)} is now {labels.role(m.role)}",
    )


def change(
    member_id: str,
    field_id: str,
    apply: Callable[[], members.Member],
    said: Callable[[members.Member], str],
) -> Response:
    """One member's change: with htmx their row again, else the list again; with what was
    done in the status region, or the service's refusal at the top."""
    try:
        changed = apply()
    except REFUSALS as exc:
        error = translate(exc)
        if htmx():
            member = members.get(db(), acting(), member_id)
            return row(member, http_status=error.status, **refusal(error, field_id))
        return show(returning(), error.status, **refusal(error, field_id))
    if htmx():
        return row(changed, status=said(changed) + ".")
    g.console.flash(said(changed) + ".")
    return redirect(returning().url(), 303)


def seat_changed(member: members.Member) -> str:
    name = labels.seat_type(acting().plan, member.seat_type)
    how = "" if member.pinned else ", assigned automatically"
    return f"The seat type of {person_text(member)} is now {name}{how}"


def row(
    member: members.Member,
    status: str | None = None,
    errors: list[tuple[str, str]] | None = None,
    refusal: Refusal | None = None,
    http_status: int = 200,
) -> Response:
    """A member's row for htmx to put in place; the page's messages out of band."""
    g.htmx_ready = True
    return render.page(
        "organization_row.html", http_status, member=member, status=status,
        **row_context(errors or [], refusal),
    )  # fmt: skip


# --- a batch -------------------------------------------------------------------------------


@blueprint.post("/organization/seats")
@gate("organization")
def organization_batch() -> Response:
    """Selected members' seat types as one all-or-nothing batch (members.assign_batch):
    each to the type chosen for all, or else to the type chosen in their own row, so the
    article's swap is one step (docs/console.md)."""
    form = request.form
    chosen = list(dict.fromkeys(form.getlist("selected")))
    for_all = form.get("bulk_seat_type", "")
    if not chosen:
        unselected = [(BULK_FIELD, "Select the members whose seat types to change")]
        return show(returning(), 422, unselected, submitted=form)
    targets = [(member, for_all or form.get(f"seat.{member}", "")) for member in chosen]
    controls = [BULK_FIELD if for_all else f"seat-{member}" for member, _ in targets]
    try:
        changed = members.assign_batch(db(), acting(), targets)
    except REFUSALS as exc:
        error = translate(exc)
        at = controls[0]
        if isinstance(error, NoSeat):  # the first row asking for the full type
            full = error.details["seat_type"]
            at = next((c for c, (_, t) in zip(controls, targets, strict=True) if t == full), at)
        fields_at = {f"assignments.{i}.seat_type": c for i, c in enumerate(controls)}
        return show(returning(), error.status, submitted=form, **refusal(error, at, fields_at))
    names = "; ".join(person_text(m) for m in changed)
    count = f"{len(changed)} member" + ("" if len(changed) == 1 else "s")
    g.console.flash(f"Seat types changed together for {count}: {names}.")
    return redirect(returning().url(), 303)


# --- refusals ------------------------------------------------------------------------------


def refusal(
    error: DomainError, field_id: str, fields_at: dict[str, str] | None = None
) -> dict[str, Any]:
    """The refusal as the page shows it: no seat free (with the way to get one), or the
    service's messages pointing at the controls."""
    if isinstance(error, NoSeat):
        return {"refusal": no_seat(error, field_id)}
    return {"errors": field_errors(error, fields_at or {}, field_id)}


def no_seat(error: NoSeat, field_id: str) -> Refusal:
    seat_type = str(error.details["seat_type"])
    purchased, short = int(error.details["purchased"]), int(error.details.get("short", 1))
    # SEATS.md §4: to an owner, a way to buy; to an admin, that an owner must buy.
    offer = buy_href(seat_type, purchased + short) if acting().may("buy_seats") else None
    name = labels.seat_type(acting().plan, seat_type)
    assigned, needed = int(error.details["assigned"]), error.details.get("needed")
    return Refusal(field_id, name, purchased, assigned, offer, needed, short)


def buy_href(seat_type: str, total: int) -> str:
    """The Billing review with one more seat of the type (the Billing page's contract: one
    parameter per seat type, its new total; the others keep theirs)."""
    return with_query(url_for(".billing_review"), {seat_type: str(total)})


def with_query(path: str, args: dict[str, str]) -> str:
    return f"{path}?{urlencode(args)}" if args else path


def htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def person_text(member: members.Member) -> str:
    """A person in a sentence: their name and email (never their id)."""
    email = member.email or member.user_name
    return f"{member.display_name} ({email})" if member.display_name else email
