"""/console/<org>/billing: the allocation, adding seats, and extra usage (SEATS.md §2, §7).

The help-center article's *Admin settings > Billing*: the pencil under *Seats* opens a
form of new totals, *Review* shows what is added and its cost (GET: it changes nothing),
*Upgrade* buys (POST, then back to Billing). Owners only (SEATS.md §3, the gate), and
every step is services/billing.py, as for /api/v1/billing.

The review's URL is a contract: one query parameter per seat type id, its value the new
total (`url_for("console.billing_review", chat_code=11)`); types not named keep their count.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import g, redirect, request, url_for
from werkzeug.wrappers import Response

from ...domain import labels
from ...domain.plans import Plan
from ...errors import InvalidInput, ReductionRefused
from ...services import billing as billing_service
from ..schemas import MAX_SEATS
from . import render, sessions
from .nav import gate
from .views import acting, blueprint, db

Errors = list[tuple[str, str]]  # (field id, message), in the form's order


@blueprint.get("/billing")
@gate("billing")
def billing() -> Response:
    return billing_page()


@blueprint.get("/billing/seats")
@gate("billing")
def billing_edit() -> Response:
    """The pencil: a total per seat type, prefilled with today's, or with those sent back."""
    return edit_form(request.args)


@blueprint.get("/billing/review")
@gate("billing")
def billing_review() -> Response:
    try:
        review = billing_service.review(db(), acting(), seat_counts(request.args, acting().plan))
    except InvalidInput as refused:
        return edit_form(request.args, refused)
    return render.page("billing_review.html", review=review, plan=acting().plan, money=render.money)


@blueprint.post("/billing/upgrade")
@gate("billing")
def billing_upgrade() -> Response:
    """Totals, not additions: the same form sent twice (a double click) buys once."""
    plan = acting().plan
    try:
        bought = billing_service.purchase(db(), acting(), seat_counts(request.form, plan))
    except InvalidInput as refused:
        return edit_form(request.form, refused)
    g.console.flash(purchase_message(plan, bought))
    return redirect(url_for(".billing"), 303)


@blueprint.post("/billing/extra-usage")
@gate("billing")
def billing_extra_usage() -> Response:
    choice = request.form.get("extra_usage")
    if choice not in ("on", "off"):
        return billing_page([("extra-usage-on", "Select whether extra usage is on or off")])
    enabled = billing_service.set_extra_usage(db(), acting(), choice == "on")
    g.console.flash(f"Extra usage is {'on' if enabled else 'off'}.")
    return redirect(url_for(".billing"), 303)


def billing_page(errors: Errors | None = None) -> Response:
    state = billing_service.billing_state(db(), acting())
    return render.page(
        "billing.html", 422 if errors else 200, state=state, errors=errors or [],
        days_left=render.days_left(state.term_end), money=render.money,
    )  # fmt: skip


def edit_form(values: Mapping[str, str], refused: InvalidInput | None = None) -> Response:
    """The form of totals; after a refusal, with what was sent and each error by its field."""
    state = billing_service.billing_state(db(), acting())
    errors = field_errors(state.plan, refused) if refused else []
    summary: Errors = []  # each message once, linking to the first field it concerns
    inline: dict[str, str] = {}  # beside each field, its first message
    for field, message in errors:
        if all(message != shown for _, shown in summary):
            summary.append((field, message))
        inline.setdefault(field, message)
    return render.page(
        "billing_edit.html", 422 if refused else 200, state=state, errors=summary, inline=inline,
        values={**{t: str(n) for t, n in state.allocation.purchased.items()}, **values},
        money=render.money,
    )  # fmt: skip


def seat_counts(form: Mapping[str, str], plan: Plan) -> dict[str, int]:
    """Each field (a seat type id) as a whole number within the API's bound, or InvalidInput
    naming the field. Which types exist and what a count may be are the service's rules."""
    counts: dict[str, int] = {}
    problems: dict[str, list[str]] = {}
    for key, sent in form.items():
        if key == sessions.CSRF_FIELD:
            continue
        value = "".join(sent.split()).replace(",", "")  # "1 000" and "1,000" are 1000
        name = labels.seat_type(plan, key)
        if not value:
            problems[f"seats.{key}"] = [f"Enter the number of {name} seats"]
        elif value.startswith("-") and value[1:].isdecimal():
            problems[f"seats.{key}"] = [f"The number of {name} seats must be 0 or more"]
        elif not (value.isascii() and value.isdecimal()):
            problems[f"seats.{key}"] = [f"Enter the number of {name} seats as a whole number"]
        elif len(value) > len(str(MAX_SEATS)) or int(value) > MAX_SEATS:
            problems[f"seats.{key}"] = [
                f"The number of {name} seats must be {MAX_SEATS:,} or fewer"
            ]
        else:
            counts[key] = int(value)
    if problems:
        raise InvalidInput("the seat counts are not valid", fields=problems)
    return counts


def field_errors(plan: Plan, refused: InvalidInput) -> Errors:
    """Each message by the field it concerns; one about the whole allocation (the minimum,
    a type the plan has not) by the first field. A reduction names the types it lowered."""
    first = plan.seat_types[0].id
    if isinstance(refused, ReductionRefused):
        lowered = refused.details.get("seat_types") or [first]
        return [(field_id(t), sentence(refused.message)) for t in lowered]
    errors: Errors = []
    for path, messages in refused.details.get("fields", {"seats": [refused.message]}).items():
        seat_type = path.removeprefix("seats.")
        known = path.startswith("seats.") and plan.seat_type(seat_type) is not None
        errors += [(field_id(seat_type if known else first), sentence(m)) for m in messages]
    order = [field_id(s.id) for s in plan.seat_types]
    return sorted(errors, key=lambda error: order.index(error[0]))


def field_id(seat_type: str) -> str:
    return f"seats-{seat_type}"


def sentence(message: str) -> str:
    """A service's message (lower case, no full stop, as the API sends it) as a sentence."""
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def purchase_message(plan: Plan, bought: billing_service.Purchase) -> str:
    if not bought.added:
        return "No seats added: you already had those totals."
    added = " and ".join(f"{n} {labels.seat_type(plan, t)}" for t, n in bought.added.items())
    message = f"Seats added: {added}."
    if bought.served:
        people = "1 member" if bought.served == 1 else f"{bought.served} members"
        message += f" {people} waiting got a seat."
    return message
