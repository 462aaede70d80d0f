"""The admin console (issue 19): server-rendered pages under /console/<org>/.

views.py      the blueprint: hooks, sign-in and sign-out, the pages
billing.py    the Billing pages: seats, review, Upgrade, extra usage (owners)
nav.py        the pages and the least action of each: the sidebar and the gate
sessions.py   the signed session cookie and its CSRF secret
render.py     pages, error pages and the security headers
charts.py     SVG geometry for the Overview
organization.py  the Organization page: members, their seats and roles, the CSV export
spreadsheet.py   that export's rows
"""

from __future__ import annotations

# Each module of pages registers its views on the blueprint when imported.
from . import billing, organization  # noqa: F401
from .render import status_page
from .views import blueprint

__all__ = ["blueprint", "status_page"]
