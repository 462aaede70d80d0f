"""The Organization page's CSV export: display names, no ids, no formulas.

A spreadsheet runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
as a formula (OWASP, "CSV Injection"): such a cell is written with a leading apostrophe,
which the spreadsheet shows as text. Names and emails come from identity providers and
SCIM clients, so any of them may begin so.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from ...domain import labels
from ...domain.plans import Plan
from ...services.members import Member

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "Name", "Email", "User name", "Role", "Seat type", "Source", "Pinned", "Status",
    "Waiting since", "Last sign-in",
)  # fmt: skip


def members(chosen: Iterable[Member], plan: Plan) -> Iterator[str]:
    """A header row, then one row per member, a row at a time (an export is streamed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for member in chosen:
        writer.writerow([cell(value) for value in row(member, plan)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()  # the header alone, when nobody matched


def row(member: Member, plan: Plan) -> list[str]:
    return [
        member.display_name or "",
        member.email or "",
        member.user_name,
        labels.role(member.role),
        labels.seat_type(plan, member.seat_type),
        labels.seat_source(member.seat_source),
        "Yes" if member.pinned else "No",
        "Active" if member.active else "Deactivated",
        instant(member.waiting_since),
        instant(member.last_sign_in_at),
    ]


def cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def instant(value: datetime | None) -> str:
    """ISO 8601 in UTC, which spreadsheets read as a date; empty for none."""
    return value.isoformat(timespec="seconds") if value is not None else ""
