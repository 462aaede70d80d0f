"""Every organization's seats at once, for the operator's metrics (scim_server/metrics.py)."""

from __future__ import annotations

from ..persistence.db import Database
from ..persistence.seats import OrganizationSeats
from ..persistence.seats import census as read_census

__all__ = ["OrganizationSeats", "census"]


def census(db: Database) -> list[OrganizationSeats]:
    """Purchased and assigned seats per type, and the waiting line, of every organization."""
    with db.reading() as connection:
        return read_census(connection)
