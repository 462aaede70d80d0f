"""Operator commands: `scim-server db|org|token|api-token|console|mappings|serve`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import config as configuration
from .errors import DomainError


def database_url() -> str:
    settings = configuration.load()
    return configuration.resolve_database_url(settings["DATABASE_URL"])


def database() -> Any:
    from .persistence.db import Database

    return Database(database_url())


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    from .persistence.migrate import upgrade

    url = database_url()
    upgrade(url)
    print(f"database at head: {_redact(url)}")
    return 0


def parse_seats(raw: str) -> dict[str, int]:
    seats: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise DomainError(f"--seats takes TYPE=N,... ; {item!r} is not of that form")
        seats[name.strip()] = int(count)
    return seats


def cmd_org_create(args: argparse.Namespace) -> int:
    from .services import organizations

    created = organizations.create(
        database(), args.name, args.slug, args.plan, parse_seats(args.seats), args.owner_email
    )
    result = {
        "org": created.org,
        "scim_token": created.scim_token,
        "owner_api_token": created.owner_api_token,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"organization {created.org['slug']} created ({created.org['plan']})")
        print(f"SCIM token (shown once): {created.scim_token}")
        print(f"owner API token (shown once): {created.owner_api_token}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from .services import tokens

    issued = tokens.create(database(), args.org, "scim", args.name)
    if args.json:
        print(json.dumps({"token": issued.secret, "prefix": issued.prefix, "name": issued.name}))
    else:
        print(issued.secret)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from .services import tokens

    rows = tokens.listing(database(), args.org, "scim")
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        print(
            f"{row['prefix']}\t{row['name']}\t{state}\tlast used {row['last_used_at'] or 'never'}"
        )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from .services import tokens

    row = tokens.revoke(database(), args.org, args.prefix)
    print(json.dumps(row) if args.json else f"revoked {row['prefix']}")
    return 0


def cmd_api_token_create(args: argparse.Namespace) -> int:
    from .services import operators

    issued = operators.issue_api_token(database(), args.org, args.email)
    print(
        json.dumps({"token": issued.secret, "prefix": issued.prefix})
        if args.json
        else issued.secret
    )
    return 0


def cmd_console_link(args: argparse.Namespace) -> int:
    """A one-time console sign-in link. Its URL needs the server's public address, which
    only SCIM_SERVER_PUBLIC_URL says: this command does not know where the server listens."""
    from .services import sign_in_links

    minutes = sign_in_links.DEFAULT_MINUTES if args.minutes is None else args.minutes
    db = database()
    try:
        issued = sign_in_links.issue(db, args.org, args.email, minutes)
    finally:
        db.dispose()
    public = configuration.load()["PUBLIC_URL"]
    url = f"{public.rstrip('/')}{issued.path}" if public else None
    expires = issued.expires_at.isoformat()
    if args.json:
        print(json.dumps({"path": issued.path, "url": url, "expires_at": expires}))
    else:
        print(url or issued.path)
        print(f"(works once, until {expires})")
    return 0


def cmd_org_renew(args: argparse.Namespace) -> int:
    from datetime import datetime

    from .services import operators

    start = datetime.fromisoformat(args.term_start) if args.term_start else None
    if start is not None and start.tzinfo is None:
        raise DomainError("--term-start needs a time zone, e.g. 2027-01-01T00:00:00+00:00")
    term = operators.renew(database(), args.org, parse_seats(args.seats), start)
    print(
        json.dumps(term)
        if args.json
        else f"renewed {args.org} until {term['term_end']}: {term['seats']}"
    )
    return 0


def cmd_org_migrate(args: argparse.Namespace) -> int:
    from .services import operators

    result = operators.migrate(database(), args.org, args.to)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.org} is on {result['plan']}: {result['seats']} ({result['members_moved']} members moved)"
        )
    return 0


# --- group mappings (SEATS.md §5) -------------------------------------------------------------


def read_mapping(path: str) -> tuple[str, str]:
    """The file's text (`-` is stdin) and the media type to store it as: JSON by its suffix."""
    from .mappings_file import decode

    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise DomainError(f"cannot read {path}: {exc.strerror or exc}") from exc
    json_file = path.lower().endswith(".json")
    media_type = "application/json" if json_file else "application/yaml"
    return decode(raw, media_type), media_type


def cmd_mappings_check(args: argparse.Namespace) -> int:
    from .services import group_mappings

    text, _ = read_mapping(args.file)
    if args.org:
        mapping = group_mappings.check_for(database(), args.org, text)
    else:
        mapping = group_mappings.check(text)
    where = f" for {args.org}" if args.org else ""
    rules = _count(len(mapping.rules), "rule")
    print(f"{file_name(args.file)}: OK{where} (plan {mapping.plan}, {rules})")
    return 0


def cmd_mappings_plan(args: argparse.Namespace) -> int:
    from .services import group_mappings

    text, _ = read_mapping(args.file)
    preview = group_mappings.preview_for(database(), args.org, text)
    print(json.dumps(preview.as_json()) if args.json else render_preview(preview.as_json()))
    return 0


def cmd_mappings_apply(args: argparse.Namespace) -> int:
    from .services import group_mappings

    text, media_type = read_mapping(args.file)
    preview = group_mappings.apply_for(database(), args.org, text, media_type)
    print(json.dumps(preview.as_json()) if args.json else render_preview(preview.as_json()))
    return 0


def cmd_mappings_show(args: argparse.Namespace) -> int:
    from .services import group_mappings

    stored = group_mappings.stored_for(database(), args.org)
    if stored is None:
        print(f"no group mapping is stored for {args.org}", file=sys.stderr)
        return 1
    print(stored.source, end="" if stored.source.endswith("\n") else "\n")
    return 0


def render_preview(report: dict[str, Any]) -> str:
    """A plan or an apply as tables: moves, blocked members, seats per type, the verdict."""
    moves, blocked = report["moves"], report["blocked"]
    done = "moved" if report["applied"] else "would move"
    lines = [f"{_count(len(moves), 'member')} {done}" + (":" if moves else ".")]
    lines += _table(
        ["member", "from", "to", "rule", "why"],
        [[m["userName"], m["from"], m["to"], _rule(m["rule"]), m["reason"]] for m in moves],
    )
    if blocked:
        lines += ["", f"{_count(len(blocked), 'member')} blocked:"]
        lines += _table(
            ["member", "holds", "wants", "rule", "why"],
            [[b["userName"], b["seat_type"], b["wanted"], _rule(b["rule"]), b["reason"]]
             for b in blocked],
        )  # fmt: skip
    if released := report.get("released"):
        # Their seat came from a rule that no longer matches them: it stays, now automatic.
        lines += ["", f"{_count(len(released), 'member')} back to the automatic rules:"]
        lines += _table(
            ["member", "holds", "why"],
            [[r["userName"], r["seat_type"], r["reason"]] for r in released],
        )
    after = "after the moves" if report["applied"] else "if applied"
    return "\n".join([*lines, "", f"seats {after}:", *_seats(report), "", _verdict(report)])


def _seats(report: dict[str, Any]) -> list[str]:
    missing = {s["seat_type"]: s["missing"] for s in report["shortfalls"]}
    purchased = report["purchased"]
    return _table(
        ["seat type", "held", "purchased", "short"],
        [[seat_type, str(held), str(purchased.get(seat_type, 0)), str(missing.get(seat_type, ""))]
         for seat_type, held in report["held"].items()],
    )  # fmt: skip


def _verdict(report: dict[str, Any]) -> str:
    if report["sufficient"]:
        return "the allocation suffices"
    buy = ", ".join(_count(s["missing"], f"{s['seat_type']} seat") for s in report["shortfalls"])
    return f"the allocation does not suffice: buy {buy} for every mapped member to get their type"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def _rule(rule: dict[str, Any] | None) -> str:
    if rule is None:
        return "none: automatic rules"
    line = f" (line {rule['line']})" if rule.get("line") else ""
    return f"{rule['group']} -> {rule['seat_type']}{line}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def file_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


# The client secret never comes from argv (ps, shell history): this variable, or stdin.
CLIENT_SECRET_ENV = "SCIM_SERVER_OIDC_CLIENT_SECRET"


def oidc_client_secret(args: argparse.Namespace) -> str | None:
    from_env = os.environ.get(CLIENT_SECRET_ENV)
    if args.client_secret_stdin and from_env:
        raise DomainError(f"give the client secret on stdin or in {CLIENT_SECRET_ENV}, not both")
    if args.client_secret_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise DomainError("--client-secret-stdin: stdin held no secret")
        return secret
    return from_env or None


def cmd_org_oidc_set(args: argparse.Namespace) -> int:
    from .services import oidc_settings

    settings = configuration.load()
    stored = oidc_settings.configure(
        database(),
        settings["SECRET_KEY"],
        args.org,
        args.issuer,
        args.client_id,
        oidc_client_secret(args),
        args.groups_claim,
        args.allowed_domains.split(","),
    )
    print(json.dumps(stored) if args.json else f"OIDC sign-in set for {args.org}")
    return 0


def cmd_org_oidc_show(args: argparse.Namespace) -> int:
    from .services import oidc_settings

    shown = oidc_settings.show(database(), args.org)
    if args.json:
        print(json.dumps(shown))
    else:
        for key, value in shown.items():
            print(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
    return 0


def add_oidc_commands(org: Any) -> None:
    oidc = org.add_parser("oidc", help="sign-in through OIDC (JIT provisioning)")
    actions = oidc.add_subparsers(dest="oidc_action", required=True)
    set_ = actions.add_parser(
        "set", help=f"set the provider; the client secret from {CLIENT_SECRET_ENV} or stdin"
    )
    set_.add_argument("--org", required=True, help="organization slug")
    set_.add_argument("--issuer", required=True, help="https URL, exactly the ID tokens' iss")
    set_.add_argument("--client-id", required=True)
    set_.add_argument("--groups-claim", default="groups", help="the claim listing groups")
    set_.add_argument(
        "--allowed-domains", required=True, help="email domains that may sign in: a.com,b.com"
    )
    set_.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="read the client secret from stdin (kept as it is when given neither way)",
    )
    set_.add_argument("--json", action="store_true")
    set_.set_defaults(func=cmd_org_oidc_set)
    show = actions.add_parser("show", help="the settings, never the client secret")
    show.add_argument("--org", required=True, help="organization slug")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_org_oidc_show)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run under gunicorn; `exec` so that signals reach it directly."""
    os.execv(sys.executable, gunicorn_argv(args))
    return 0  # pragma: no cover


def gunicorn_argv(args: argparse.Namespace) -> list[str]:
    """The server's own request log (JSON, one line per request) is the log; gunicorn's
    access log only with --access-log. Without it gunicorn has none at all: pointed at
    /dev/null, it still formatted a line for every request, 6% of a create's CPU."""
    access_log = ["--access-logfile", "-"] if args.access_log else []
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", args.bind, "--workers", str(args.workers),
        *access_log, "--error-logfile", "-",
        # The workers' metrics, shared through PROMETHEUS_MULTIPROC_DIR (gunicorn_conf.py).
        "--config", "python:scim_server.gunicorn_conf",
        "scim_server.wsgi:app",
    ]  # fmt: skip


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="scim-server", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade", help="create or migrate the schema").set_defaults(func=cmd_db_upgrade)

    org = commands.add_parser("org", help="organizations").add_subparsers(
        dest="action", required=True
    )
    create = org.add_parser("create", help="create an organization with its owner and tokens")
    create.add_argument("--name", required=True)
    create.add_argument("--slug", required=True)
    create.add_argument("--plan", required=True, choices=["enterprise", "enterprise_legacy"])
    create.add_argument("--seats", required=True, help="TYPE=N,... e.g. chat=50,chat_code=20")
    create.add_argument("--owner-email", required=True)
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=cmd_org_create)

    renew = org.add_parser("renew", help="start a new annual term with new seat counts")
    renew.add_argument("--org", required=True, help="organization slug")
    renew.add_argument(
        "--seats", required=True, help="TYPE=N,... (may go down to the seats in use)"
    )
    renew.add_argument(
        "--term-start", help="ISO 8601 with a time zone; default: the end of the current term"
    )
    renew.add_argument("--json", action="store_true")
    renew.set_defaults(func=cmd_org_renew)
    migrate = org.add_parser("migrate", help="move a legacy organization to the current plan")
    migrate.add_argument("--org", required=True, help="organization slug")
    migrate.add_argument("--to", required=True, choices=["enterprise"])
    migrate.add_argument("--json", action="store_true")
    migrate.set_defaults(func=cmd_org_migrate)
    add_oidc_commands(org)

    api_token = commands.add_parser("api-token", help="personal admin-API tokens")
    api_actions = api_token.add_subparsers(dest="action", required=True)
    api_create = api_actions.add_parser(
        "create", help="a token acting as the member with this email"
    )
    api_create.add_argument("--org", required=True, help="organization slug")
    api_create.add_argument("--email", required=True)
    api_create.add_argument("--json", action="store_true")
    api_create.set_defaults(func=cmd_api_token_create)

    console = commands.add_parser("console", help="the admin console").add_subparsers(
        dest="action", required=True
    )
    link = console.add_parser("link", help="a one-time sign-in link for a member")
    link.add_argument("--org", required=True, help="organization slug")
    link.add_argument("--email", required=True, help="the member's userName or email")
    link.add_argument("--minutes", type=int, help="how long it works (default 15, at most 1440)")
    link.add_argument("--json", action="store_true", help='print {"path", "url", "expires_at"}')
    link.set_defaults(func=cmd_console_link)

    token = commands.add_parser("token", help="SCIM tokens").add_subparsers(
        dest="action", required=True
    )
    for action, func in (
        ("create", cmd_token_create),
        ("list", cmd_token_list),
        ("revoke", cmd_token_revoke),
    ):
        sub = token.add_parser(action)
        sub.add_argument("--org", required=True, help="organization slug")
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(func=func)
        if action == "create":
            sub.add_argument("--name", default="scim")
        if action == "revoke":
            sub.add_argument("--prefix", required=True, help="the token's public prefix")

    mappings = commands.add_parser("mappings", help="group mappings (SEATS.md §5)")
    mapping_actions = mappings.add_subparsers(dest="action", required=True)
    check = mapping_actions.add_parser("check", help="validate a mapping file; every error")
    check.add_argument("file", metavar="FILE", help="the mapping file; - for stdin")
    check.add_argument("--org", help="also check it is for this organization's plan")
    check.set_defaults(func=cmd_mappings_check)
    for action, func, help_text in (
        ("plan", cmd_mappings_plan, "dry run: who would move, and whether the seats suffice"),
        ("apply", cmd_mappings_apply, "store the mapping and re-evaluate every member not pinned"),
    ):
        sub = mapping_actions.add_parser(action, help=help_text)
        sub.add_argument("file", metavar="FILE", help="the mapping file; - for stdin")
        sub.add_argument("--org", required=True, help="organization slug")
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(func=func)
    show = mapping_actions.add_parser("show", help="print the stored mapping file")
    show.add_argument("--org", required=True, help="organization slug")
    show.set_defaults(func=cmd_mappings_show)

    serve = commands.add_parser("serve", help="run the server under gunicorn")
    serve.add_argument("--bind", default="127.0.0.1:8000")
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--access-log", action="store_true", help="also write gunicorn's access log")
    serve.set_defaults(func=cmd_serve)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return code
    except DomainError as exc:
        from .mappings_file import MappingErrors

        if isinstance(exc, MappingErrors) and getattr(args, "file", None):
            # FILE:LINE: message, the form editors and CI annotate a file from.
            for error in exc.errors:
                print(f"{file_name(args.file)}:{error.line}: {error.message}", file=sys.stderr)
            return 1
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of the command, and no traceback.
        # Point stdout at /dev/null so that flushing it at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports it


def _redact(url: str) -> str:
    """A URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
