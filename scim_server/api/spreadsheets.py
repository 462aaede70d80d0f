"""CSV cells a spreadsheet shows as text, never runs: both CSV exports write through here.

A spreadsheet runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
as a formula (OWASP, "CSV Injection"): such a cell is written with a leading apostrophe,
which the spreadsheet shows as text. Names, emails and reasons come from identity
providers, SCIM clients and admins, so any of them may begin so.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
