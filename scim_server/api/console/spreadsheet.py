"""The Organization page's CSV export: display names, no ids, no formulas (spreadsheets.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from ...domain import labels
from ...domain.plans import Plan
from ...services.members import Member
from ..spreadsheets import text_cell

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
        writer.writerow([text_cell(value) for value in row(member, plan)])
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


def instant(value: datetime | None) -> str:
    """ISO 8601 in UTC, which spreadsheets read as a date; empty for none."""
    return value.isoformat(timespec="seconds") if value is not None else ""
