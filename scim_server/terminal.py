"""What `scim-server` prints for people: tables, times, and progress on a terminal.

--json prints what the admin API answers instead (cli.py); nothing here is parsed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TextIO

# A line rewritten in place: back to its start, then erase it.
_REWRITE = "\r\x1b[K"


class TerminalProgress:
    """A progress listener (progress.py): one line on the stream, rewritten in place at
    most ten times a second (a new stage and the last step at once), erased at the end."""

    INTERVAL = 0.1

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.stage: str | None = None
        self.shown_at = 0.0

    def __call__(self, stage: str, done: int | None, total: int | None) -> None:
        now = time.monotonic()
        fresh = stage != self.stage or (done is not None and done == total)
        if not fresh and now - self.shown_at < self.INTERVAL:
            return
        self.stage, self.shown_at = stage, now
        line = stage if done is None else f"{stage}: {done:,}"
        if done is not None and total:
            line += f" of {total:,}"
        self.stream.write(_REWRITE + line)
        self.stream.flush()

    def clear(self) -> None:
        if self.stage is not None:
            self.stream.write(_REWRITE)
            self.stream.flush()
            self.stage = None


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    """Columns as wide as their widest cell, indented two spaces; nothing when no rows."""
    rows = list(rows)
    if not rows:
        return []
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def when(moment: datetime | None) -> str:
    """A time to the minute, in UTC, as people read it ("never" for none)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def counts(seats: Mapping[str, int]) -> str:
    """ "chat 40, chat_code 25"."""
    return ", ".join(f"{seat_type} {n}" for seat_type, n in seats.items())


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# --- organizations, tokens, members --------------------------------------------------------


def organizations(states: list[Any]) -> str:
    """`org list`: a line per organization."""
    rows = [
        [s.slug, s.name, s.plan.id, when(s.term_end), _held(s.allocation), str(s.waiting),
         counts(s.renewal.seats) if s.renewal else "-"]
        for s in states
    ]  # fmt: skip
    header = ["slug", "name", "plan", "term ends", "seats held", "waiting", "renewal"]
    return "\n".join(table(header, rows)) or "no organizations yet: 'scim-server org create'"


def _held(allocation: Any) -> str:
    return f"{sum(allocation.assigned.values())} of {sum(allocation.purchased.values())}"


def overview(state: Any, tokens: Mapping[str, Mapping[str, int]]) -> str:
    """`org show`: plan, term, renewal, seats per type, who has none, tokens."""
    allocation, renewed = state.allocation, state.renewal
    header = ["seat type", "purchased", "assigned", "available"]
    rows = [
        [t, str(n), str(allocation.assigned.get(t, 0)), str(allocation.available(t))]
        for t, n in allocation.purchased.items()
    ]
    if renewed is not None:
        header.append(f"from {renewed.term.start:%Y-%m-%d}")
        rows = [[*row, str(renewed.seats.get(row[0], 0))] for row in rows]
    next_term = (
        f"from {when(renewed.term.start)} to {when(renewed.term.end)}: {counts(renewed.seats)}"
        if renewed
        else "none set: the next term keeps the counts this one ends with"
    )
    issued = [f"{count(n['active'], kind.upper() + ' token')} ({n['revoked']} revoked)"
              for kind, n in tokens.items()]  # fmt: skip
    return "\n".join(
        [
            f"{state.name} ({state.slug}): plan {state.plan.id} ({state.plan.name})",
            f"term: {when(state.term_start)} to {when(state.term_end)}",
            f"renewal: {next_term}",
            "seats:",
            *table(header, rows),
            f"unassigned: {state.unassigned} active members hold no seat; "
            f"waiting for a seat: {state.waiting}",
            "tokens: " + ", ".join(issued),
        ]
    )


def renewal(renewed: Any) -> str:
    """`org renew`: this term's counts, those in use, and the next term's."""
    ends = when(renewed.term.end)
    if renewed.renewal is None:
        lines = [f"{renewed.slug}: no renewal set; on {ends} the term renews with its counts then"]
    else:
        following, next_counts = renewed.renewal.term, renewed.renewal.seats
        rows = [
            [t, str(n), str(renewed.in_use.get(t, 0)), str(next_counts.get(t, 0))]
            for t, n in renewed.seats.items()
        ]
        lines = [
            f"{renewed.slug} renews when its term ends ({ends}):",
            *table(["seat type", "this term", "in use", "next term"], rows),
            f"next term: {when(following.start)} to {when(following.end)}",
        ]
    if renewed.replaced is not None:
        lines.append(f"(replaces the renewal set before: {counts(renewed.replaced)})")
    return "\n".join(lines)


def tokens(rows: list[dict[str, Any]]) -> str:
    """`token list`, with a header: prefix, name, state, created, last used."""
    listed = [
        [row["prefix"], row["name"], "revoked" if row["revoked_at"] else "active",
         _day(row["created_at"]), _day(row["last_used_at"])]
        for row in rows
    ]  # fmt: skip
    return "\n".join(table(["prefix", "name", "state", "created", "last used"], listed))


def _day(iso: str | None) -> str:
    return when(datetime.fromisoformat(iso) if iso else None)


def members(listed: list[Any]) -> str:
    """`members list`: userName, name, seat type (pinned or not), source, role, status."""
    rows = [
        [m.user_name, m.display_name or "", m.seat_type + (" (pinned)" if m.pinned else ""),
         m.seat_source or "", m.role, _status(m)]
        for m in listed
    ]  # fmt: skip
    return "\n".join(table(["userName", "name", "seat type", "source", "role", "status"], rows))


def _status(member: Any) -> str:
    if not member.active:
        return "deactivated"
    return "waiting for a seat" if member.waiting else "active"


# --- group mappings: a plan or an apply (SEATS.md §5) ------------------------------------------


def preview(report: dict[str, Any]) -> str:
    """A plan or an apply as tables: moves, blocked members, seats per type, the verdict."""
    moves, blocked = report["moves"], report["blocked"]
    done = "moved" if report["applied"] else "would move"
    lines = [f"{count(len(moves), 'member')} {done}" + (":" if moves else ".")]
    lines += table(
        ["member", "from", "to", "rule", "why"],
        [[m["userName"], m["from"], m["to"], _rule(m["rule"]), m["reason"]] for m in moves],
    )
    if blocked:
        lines += ["", f"{count(len(blocked), 'member')} blocked:"]
        lines += table(
            ["member", "holds", "wants", "rule", "why"],
            [[b["userName"], b["seat_type"], b["wanted"], _rule(b["rule"]), b["reason"]]
             for b in blocked],
        )  # fmt: skip
    if released := report.get("released"):
        # Their seat came from a rule that no longer matches them: it stays, now automatic.
        lines += ["", f"{count(len(released), 'member')} back to the automatic rules:"]
        lines += table(
            ["member", "holds", "why"],
            [[r["userName"], r["seat_type"], r["reason"]] for r in released],
        )
    after = "after the moves" if report["applied"] else "if applied"
    return "\n".join([*lines, "", f"seats {after}:", *_seats(report), "", _verdict(report)])


def _seats(report: dict[str, Any]) -> list[str]:
    missing = {s["seat_type"]: s["missing"] for s in report["shortfalls"]}
    purchased = report["purchased"]
    return table(
        ["seat type", "held", "purchased", "short"],
        [[seat_type, str(held), str(purchased.get(seat_type, 0)), str(missing.get(seat_type, ""))]
         for seat_type, held in report["held"].items()],
    )  # fmt: skip


def _verdict(report: dict[str, Any]) -> str:
    if report["sufficient"]:
        return "the allocation suffices"
    buy = ", ".join(count(s["missing"], f"{s['seat_type']} seat") for s in report["shortfalls"])
    return f"the allocation does not suffice: buy {buy} for every mapped member to get their type"


def _rule(rule: dict[str, Any] | None) -> str:
    if rule is None:
        return "none: automatic rules"
    line = f" (line {rule['line']})" if rule.get("line") else ""
    return f"{rule['group']} -> {rule['seat_type']}{line}"
