"""Operator commands: `scim-server db|org|token|api-token|console|members|mappings|serve`.

Every failure is one line on stderr and an exit code (`failure`, the one place that maps
an error to both; README "Exit codes"). --json prints what the admin API answers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from textwrap import fill
from typing import Any, NoReturn

from . import config as configuration
from .errors import (
    DOMAIN_EXCEPTIONS,
    DatabaseUnavailable,
    DomainError,
    UnknownMember,
    UnknownOrganization,
    UsageError,
    translate,
)
from .inputs import refuse_forbidden

# Exit codes (README, "Exit codes").
OK, REFUSED, USAGE, DATABASE, BUG = 0, 1, 2, 3, 4
INTERRUPTED, PIPE_CLOSED = 130, 141  # 128 + SIGINT, 128 + SIGPIPE, as a shell reports them
# Set, a failure that is a bug prints its traceback too, for a report.
TRACEBACK_ENV = "SCIM_SERVER_TRACEBACK"

# What to do next, after the message of an error of this kind.
HINTS: dict[type[Exception], str] = {
    UnknownOrganization: "'scim-server org list' lists them",
    UnknownMember: "'scim-server members list --org {org} --search TEXT' finds members",
}


def failure(exc: BaseException, args: argparse.Namespace) -> tuple[str, int]:
    """The line for stderr and the exit code of any failure: the one place they are made."""
    from sqlalchemy.exc import DBAPIError

    from .persistence.migrate import reason

    if isinstance(exc, DBAPIError):
        exc = DatabaseUnavailable(
            f"the database failed ({reason(exc)}): check that it runs, then try again"
        )
    if isinstance(exc, DOMAIN_EXCEPTIONS):
        exc = translate(exc)
    if not isinstance(exc, DomainError):
        return (
            f"internal error, a bug ({type(exc).__name__}: {exc}); {TRACEBACK_ENV}=1 shows more",
            BUG,
        )
    hint = next((h for kind, h in HINTS.items() if isinstance(exc, kind)), None)
    line = exc.message + (f"; {hint.format(org=getattr(args, 'org', 'ORG'))}" if hint else "")
    if isinstance(exc, UsageError):
        return line, USAGE
    if isinstance(exc, DatabaseUnavailable):
        return line, DATABASE
    return line, REFUSED


class Parser(argparse.ArgumentParser):
    """argparse, with epilogs kept as written and a mistake told in one line (exit 2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def seat_counts(raw: str) -> dict[str, int]:
    """TYPE=N,... as counts; an argparse type, so a malformed value is a usage error."""
    seats: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, count = (part.strip() for part in item.partition("="))
        if not sep or not name or not (count.isascii() and count.isdigit()):
            raise argparse.ArgumentTypeError(f"{item!r} is not TYPE=N, e.g. chat=50,chat_code=20")
        if name in seats:
            raise argparse.ArgumentTypeError(f"{name} is named twice")
        seats[name] = int(count)
    if not seats:
        raise argparse.ArgumentTypeError("name at least one TYPE=N, e.g. chat=50,chat_code=20")
    return seats


def positive(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of 1 or more")
    return int(raw)


# --- the database -----------------------------------------------------------------------------


def database_url() -> str:
    settings = configuration.load()
    return configuration.resolve_database_url(settings["DATABASE_URL"])


# The databases a command opened, closed by `main` whatever its outcome.
_OPENED: list[Any] = []


def database() -> Any:
    """The configured database, checked to hold this code's schema (exit 3 if not)."""
    from .persistence.db import Database
    from .persistence.migrate import check_current

    url = database_url()
    db = Database(url)
    _OPENED.append(db)
    check_current(db.engine, _redact(url))
    return db


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .persistence.migrate import upgrade

    url = database_url()
    head = upgrade(url, shown=_redact(url))
    shown = _redact(url)
    emit(args, {"database": shown, "revision": head}, f"database at {head}: {shown}")
    return OK


def _redact(url: str) -> str:
    """A URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- output -----------------------------------------------------------------------------------


def emit(args: argparse.Namespace, payload: Any, text: str | Callable[[], str]) -> None:
    """--json: the payload as one JSON document; otherwise the text for people."""
    from . import progress

    progress.clear()
    if getattr(args, "json", False):
        print(json.dumps(payload))
    else:
        print(text() if callable(text) else text)


@contextmanager
def showing_progress(args: argparse.Namespace) -> Iterator[None]:
    """Progress of long work on stderr, only on a terminal and never with --json."""
    from . import progress
    from .terminal import TerminalProgress

    if getattr(args, "json", False) or not sys.stderr.isatty():
        yield
        return
    shown = TerminalProgress(sys.stderr)
    try:
        with progress.listening(shown):
            yield
    finally:
        shown.clear()


# --- organizations ----------------------------------------------------------------------------


def cmd_org_create(args: argparse.Namespace) -> int:
    from .services import organizations

    created = organizations.create(
        database(), args.name, args.slug, args.plan, args.seats, args.owner_email
    )
    result = {
        "org": created.org,
        "scim_token": created.scim_token,
        "owner_api_token": created.owner_api_token,
    }
    emit(
        args,
        result,
        f"organization {created.org['slug']} created ({created.org['plan']})\n"
        f"SCIM token (shown once): {created.scim_token}\n"
        f"owner API token (shown once): {created.owner_api_token}",
    )
    return OK


def cmd_org_list(args: argparse.Namespace) -> int:
    from .api.schemas import OrganizationOut
    from .services import organizations
    from .terminal import organizations as listed

    states = organizations.listing(database())
    emit(args, OrganizationOut(many=True).dump(states), lambda: listed(states))
    return OK


def cmd_org_show(args: argparse.Namespace) -> int:
    from .api.schemas import OrganizationOut
    from .services import organizations
    from .terminal import overview

    shown = organizations.overview(database(), args.org)
    payload = {**OrganizationOut().dump(shown.state), "tokens": shown.tokens}
    emit(args, payload, lambda: overview(shown.state, shown.tokens))
    return OK


def cmd_org_renew(args: argparse.Namespace) -> int:
    from .api.schemas import RenewalOut
    from .services import operators
    from .terminal import renewal

    renewed = operators.renew(database(), args.org, None if args.cancel else args.seats)
    term = renewed.term
    payload = {
        "org": renewed.slug,
        "term_start": term.start.isoformat(),
        "term_end": term.end.isoformat(),
        "seats": renewed.seats,
        "in_use": renewed.in_use,
        "renewal": RenewalOut().dump(renewed.renewal) if renewed.renewal else None,
        "replaced": renewed.replaced,
    }
    emit(args, payload, lambda: renewal(renewed))
    return OK


def cmd_org_migrate(args: argparse.Namespace) -> int:
    from .services import operators
    from .terminal import count, counts

    result = operators.migrate(database(), args.org, args.to)
    emit(
        args,
        result,
        f"{args.org} is on {result['plan']}: {counts(result['seats'])} "
        f"({count(result['members_moved'], 'member')} moved)",
    )
    return OK


# The client secret never comes from argv (ps, shell history): this variable, or stdin.
CLIENT_SECRET_ENV = "SCIM_SERVER_OIDC_CLIENT_SECRET"


def oidc_client_secret(args: argparse.Namespace) -> str | None:
    from_env = os.environ.get(CLIENT_SECRET_ENV)
    if args.client_secret_stdin and from_env:
        raise UsageError(f"give the client secret on stdin or in {CLIENT_SECRET_ENV}, not both")
    if args.client_secret_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise UsageError("--client-secret-stdin: stdin held no secret")
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
    emit(args, stored, f"OIDC sign-in set for {args.org}")
    return OK


def cmd_org_oidc_show(args: argparse.Namespace) -> int:
    from .services import oidc_settings

    shown = oidc_settings.show(database(), args.org)
    emit(
        args,
        shown,
        lambda: "\n".join(
            f"{key}: {', '.join(value) if isinstance(value, list) else value}"
            for key, value in shown.items()
        ),
    )
    return OK


# --- tokens -----------------------------------------------------------------------------------


def cmd_token_create(args: argparse.Namespace) -> int:
    from .services import tokens

    issued = tokens.create(database(), args.org, "scim", args.name)
    emit(
        args, {"token": issued.secret, "prefix": issued.prefix, "name": issued.name}, issued.secret
    )
    return OK


def cmd_token_list(args: argparse.Namespace) -> int:
    from .services import tokens
    from .terminal import tokens as listed

    rows = tokens.listing(database(), args.org, "scim")
    emit(args, rows, lambda: listed(rows) or f"no SCIM tokens for {args.org}")
    return OK


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from .services import tokens

    row = tokens.revoke(database(), args.org, args.prefix)
    emit(args, row, f"revoked {row['prefix']}")
    return OK


def cmd_api_token_create(args: argparse.Namespace) -> int:
    from .services import operators

    issued = operators.issue_api_token(database(), args.org, args.email)
    emit(args, {"token": issued.secret, "prefix": issued.prefix}, issued.secret)
    return OK


def cmd_console_link(args: argparse.Namespace) -> int:
    """A one-time console sign-in link. Its URL needs the server's public address, which
    only SCIM_SERVER_PUBLIC_URL says: this command does not know where the server listens."""
    from .services import sign_in_links
    from .terminal import when

    issued = sign_in_links.issue(database(), args.org, args.email, args.minutes)
    public = configuration.load()["PUBLIC_URL"]
    url = f"{public.rstrip('/')}{issued.path}" if public else None
    payload = {"path": issued.path, "url": url, "expires_at": issued.expires_at.isoformat()}
    emit(args, payload, f"{url or issued.path}\n(works once, until {when(issued.expires_at)})")
    return OK


# --- members ----------------------------------------------------------------------------------

PAGE = 500  # members read per page: the admin API's largest


def cmd_members_list(args: argparse.Namespace) -> int:
    """Every member the criteria admit, in userName order, read page by page (a cursor)."""
    from .api.schemas import MemberOut
    from .services import members
    from .terminal import members as members_table

    wanted = members.search_filter(
        args.search, seat_type=args.seat_type, waiting=True if args.waiting else None
    )
    db = database()
    read = _pages(lambda after: members.listing_for(db, args.org, wanted, PAGE, after))
    pages = chain([next(read)], read)  # an unknown organization fails before any output
    if args.json:
        # One JSON array, written a page at a time: 100,000 members need not fit in memory.
        sys.stdout.write("[")
        for index, member in enumerate(m for page in pages for m in page.members):
            sys.stdout.write(("," if index else "") + "\n" + json.dumps(MemberOut().dump(member)))
        sys.stdout.write("\n]\n")
        return OK
    listed = [member for page in pages for member in page.members]
    emit(args, None, members_table(listed) or f"no member of {args.org} matches")
    return OK


def _pages(read: Callable[[str | None], Any]) -> Iterator[Any]:
    from . import progress

    after, seen = None, 0
    while True:
        page = read(after)
        seen += len(page.members)
        progress.report("reading members", seen, page.total if page.total_exact else None)
        yield page
        if page.after is None:
            return
        after = page.after


# --- group mappings (SEATS.md §5) -------------------------------------------------------------


def read_mapping(path: str) -> tuple[str, str]:
    """The file's text (`-` is stdin) and the media type to store it as: JSON by its suffix."""
    from .mappings_file import decode

    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    json_file = path.lower().endswith(".json")
    media_type = "application/json" if json_file else "application/yaml"
    return decode(raw, media_type, "a file named .json is read as JSON: name it .yaml"), media_type


def cmd_mappings_check(args: argparse.Namespace) -> int:
    from .mappings_file import MappingErrors
    from .services import group_mappings
    from .terminal import count

    text, _ = read_mapping(args.file)
    name = file_name(args.file)
    try:
        if args.org:
            mapping = group_mappings.check_for(database(), args.org, text)
        else:
            mapping = group_mappings.check(text)
    except MappingErrors as exc:
        if not args.json:
            raise
        errors = [{"line": e.line, "message": e.message} for e in exc.errors]
        print(json.dumps({"file": name, "valid": False, "errors": errors}))
        return REFUSED
    where = f" for {args.org}" if args.org else ""
    payload = {"file": name, "valid": True, "plan": mapping.plan, "rules": len(mapping.rules)}
    emit(
        args,
        payload,
        f"{name}: OK{where} (plan {mapping.plan}, {count(len(mapping.rules), 'rule')})",
    )
    return OK


def cmd_mappings_plan(args: argparse.Namespace) -> int:
    from .services import group_mappings
    from .terminal import preview

    text, _ = read_mapping(args.file)
    report = group_mappings.preview_for(database(), args.org, text).as_json()
    emit(args, report, lambda: preview(report))
    return OK


def cmd_mappings_apply(args: argparse.Namespace) -> int:
    from .services import group_mappings
    from .terminal import preview

    text, media_type = read_mapping(args.file)
    report = group_mappings.apply_for(database(), args.org, text, media_type).as_json()
    emit(args, report, lambda: preview(report))
    return OK


def cmd_mappings_show(args: argparse.Namespace) -> int:
    from .api.schemas import GroupMappingOut
    from .services import group_mappings

    stored = group_mappings.stored_for(database(), args.org)
    if stored is None:
        print(f"no group mapping is stored for {args.org}", file=sys.stderr)
        return REFUSED
    source = stored.source if stored.source.endswith("\n") else stored.source + "\n"
    if args.json:
        print(json.dumps(GroupMappingOut().dump(stored)))
    else:
        print(source, end="")
    return OK


def file_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


# --- serving ----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    """Run under gunicorn; `exec` so that signals reach it directly."""
    os.execv(sys.executable, gunicorn_argv(args))
    return OK  # pragma: no cover


# A worker's threads on PostgreSQL. A request there waits on the network for its
# statements (two round trips for a create; README, "Running on PostgreSQL"): with one
# thread the worker's CPU would sit idle meanwhile, with four another request runs. On
# SQLite a request never waits on the network, and a second thread would only queue for
# the write lock in SQLite's busy handler.
POSTGRESQL_THREADS = 4


def default_threads(url: str) -> int:
    return POSTGRESQL_THREADS if url.startswith("postgresql") else 1


def gunicorn_argv(args: argparse.Namespace) -> list[str]:
    """gunicorn configured by scim_server.serving (its limits, its errors as JSON, the
    workers' shared metrics).

    The server's own request log (JSON, one line per request) is the log; gunicorn's
    access log only with --access-log. Without it gunicorn has none at all: pointed at
    /dev/null, it still formatted a line for every request, 6% of a create's CPU."""
    access_log = ["--access-logfile", "-"] if args.access_log else []
    threads = args.threads or default_threads(database_url())
    threaded = (
        ["--threads", str(threads), "--worker-class", "scim_server.serving.ThreadedWorker"]
        if threads > 1
        else []
    )
    return [
        sys.executable, "-m", "gunicorn", "--config", "python:scim_server.serving",
        "--bind", args.bind, "--workers", str(args.workers),
        *threaded, *access_log, "--error-logfile", "-",
        "scim_server.wsgi:app",
    ]  # fmt: skip


# --- the command line -------------------------------------------------------------------------

ROOT_EPILOG = """\
The database is SCIM_SERVER_DATABASE_URL, or instance/scim-server.db under the current
folder (the one scripts/demo serves). Run 'scim-server COMMAND --help' for a command's
options and an example.

exit codes:
  0    done
  1    refused: an unknown organization, member or token, counts a rule forbids,
       a duplicate, an invalid mapping file
  2    usage: an unknown command or option, a missing or malformed value, a file
       that cannot be read
  3    database: unreachable, or its schema missing or not this version's
       (run 'scim-server db upgrade')
  4    internal error (a bug); SCIM_SERVER_TRACEBACK=1 prints the traceback
  130  interrupted; 141: the reader of the output went away
"""


def parser() -> Parser:
    root = Parser(
        prog="scim-server",
        description="Operate a scim-server: its database, organizations, tokens, members, "
        "group mappings, and the server itself.",
        epilog=ROOT_EPILOG,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_db_commands(commands)
    add_org_commands(commands)
    add_token_commands(commands)
    add_api_token_commands(commands)
    add_console_commands(commands)
    add_members_commands(commands)
    add_mappings_commands(commands)
    add_serve_command(commands)
    return root


def group(commands: Any, name: str, help_text: str, examples: str) -> Any:
    """A command group whose --help ends with examples; its actions are required."""
    parser_ = commands.add_parser(
        name, help=help_text, description=fill(help_text, 88), epilog=f"examples:\n{examples}"
    )
    return parser_.add_subparsers(dest="action", required=True, metavar="ACTION")


def action(actions: Any, name: str, help_text: str, func: Callable[..., int]) -> Parser:
    sub: Parser = actions.add_parser(name, help=help_text, description=fill(help_text, 88))
    sub.set_defaults(func=func)
    return sub


def with_org(sub: Parser) -> Parser:
    sub.add_argument("--org", required=True, metavar="SLUG", help="the organization's slug")
    return sub


def with_json(sub: Parser, what: str = "the result as JSON, as the admin API gives it") -> Parser:
    sub.add_argument("--json", action="store_true", help=f"print {what} (default: text)")
    return sub


def add_db_commands(commands: Any) -> None:
    db = group(
        commands, "db", "the database's schema",
        "  scim-server db upgrade\n"
        "  SCIM_SERVER_DATABASE_URL=postgresql://scim@db-host/scim scim-server db upgrade",
    )  # fmt: skip
    upgrade = action(
        db, "upgrade", "create or migrate the schema to this version's (Alembic)", cmd_db_upgrade
    )
    with_json(upgrade, '{"database", "revision"}')


def add_org_commands(commands: Any) -> None:
    org = group(
        commands, "org", "organizations: create, list, show, renew, migrate, OIDC sign-in",
        "  scim-server org create --name 'Acme' --slug acme --plan enterprise \\\n"
        "      --seats chat=50,chat_code=20 --owner-email it@acme.example\n"
        "  scim-server org list\n"
        "  scim-server org show --org acme\n"
        "  scim-server org renew --org acme --seats chat=40,chat_code=25\n"
        "  scim-server org migrate --org acme --to enterprise\n"
        "  scim-server org oidc show --org acme",
    )  # fmt: skip
    create = action(
        org, "create", "an organization, its primary owner, a SCIM token and the owner's "
        "admin-API token (both shown once)", cmd_org_create,
    )  # fmt: skip
    create.add_argument("--name", required=True, help="the display name, e.g. 'Acme Corp'")
    create.add_argument(
        "--slug", required=True, help="the id in URLs and commands: a-z, 0-9 and -, e.g. acme"
    )
    create.add_argument(
        "--plan", required=True, choices=["enterprise", "enterprise_legacy"], help="the plan"
    )
    create.add_argument(
        "--seats", required=True, type=seat_counts, metavar="TYPE=N,...",
        help="seats purchased per type, at least 20 in total: chat=50,chat_code=20 "
        "(enterprise) or standard=15,premium=5 (enterprise_legacy)",
    )  # fmt: skip
    create.add_argument(
        "--owner-email", required=True, help="the primary owner's email, their userName"
    )
    with_json(create, '{"org", "scim_token", "owner_api_token"}')

    with_json(action(org, "list", "every organization: plan, term, seats, renewal", cmd_org_list))
    show = action(
        org, "show", "plan, term, pending renewal, seats per type (purchased, assigned, "
        "available), unassigned and waiting members, tokens", cmd_org_show,
    )  # fmt: skip
    with_json(with_org(show), "GET /api/v1/organization's answer, with the tokens")

    renew = action(
        org, "renew", "set the next term's seat counts: they take effect when the current "
        "term ends; renewing again before then replaces them (docs/renewal.md)", cmd_org_renew,
    )  # fmt: skip
    with_org(renew)
    counts = renew.add_mutually_exclusive_group(required=True)
    counts.add_argument(
        "--seats", type=seat_counts, metavar="TYPE=N,...",
        help="the next term's counts: at least 20 in total, each at least the seats in use; "
        "a type not named keeps this term's count",
    )  # fmt: skip
    counts.add_argument(
        "--cancel", action="store_true",
        help="drop the renewal set: the next term keeps the counts this one ends with",
    )  # fmt: skip
    with_json(renew)

    migrate = action(
        org, "migrate", "move a legacy organization to the current plan (standard -> chat, "
        "premium -> chat_code), every seat carried over, in one transaction", cmd_org_migrate,
    )  # fmt: skip
    with_org(migrate)
    migrate.add_argument("--to", required=True, choices=["enterprise"], help="the plan to move to")
    with_json(migrate, '{"plan", "seats", "members_moved"}')
    add_oidc_commands(org)


def add_oidc_commands(org: Any) -> None:
    oidc = org.add_parser(
        "oidc", help="sign-in through OIDC (JIT provisioning)",
        description="sign-in through the organization's OpenID Connect provider",
        epilog="examples:\n"
        "  read -rs SECRET; printf '%s\\n' \"$SECRET\" | scim-server org oidc set --org acme \\\n"
        "      --issuer https://login.acme.example --client-id scim-server \\\n"
        "      --allowed-domains acme.example --client-secret-stdin\n"
        "  scim-server org oidc show --org acme",
    )  # fmt: skip
    actions = oidc.add_subparsers(dest="oidc_action", required=True, metavar="ACTION")
    set_ = action(
        actions, "set", f"set the provider; the client secret from {CLIENT_SECRET_ENV} or "
        "stdin, never the command line (kept as it is when given neither way)", cmd_org_oidc_set,
    )  # fmt: skip
    with_org(set_)
    set_.add_argument("--issuer", required=True, help="https URL, exactly the ID tokens' iss")
    set_.add_argument("--client-id", required=True, help="the client id the provider gave")
    set_.add_argument(
        "--groups-claim", default="groups", help="the claim listing groups (default: groups)"
    )
    set_.add_argument(
        "--allowed-domains", required=True, help="email domains that may sign in: a.com,b.com"
    )
    set_.add_argument(
        "--client-secret-stdin", action="store_true",
        help="read the client secret from stdin's first line (default: from "
        f"{CLIENT_SECRET_ENV}, else the stored one)",
    )  # fmt: skip
    with_json(set_, "the settings as stored (never the secret) as JSON")
    show = action(actions, "show", "the settings, never the client secret", cmd_org_oidc_show)
    with_json(with_org(show), "GET /api/v1/oidc's answer")


def add_token_commands(commands: Any) -> None:
    token = group(
        commands, "token", "SCIM tokens, one per identity-provider connection",
        "  scim-server token create --org acme --name okta\n"
        "  scim-server token list --org acme\n"
        "  scim-server token revoke --org acme --prefix scim_1a2b3c4d5e6f",
    )  # fmt: skip
    create = with_org(action(token, "create", "a new token; prints it, once", cmd_token_create))
    create.add_argument("--name", default="scim", help="what it is for, e.g. okta (default: scim)")
    with_json(create, '{"token", "prefix", "name"}')
    listed = action(token, "list", "prefix, name, state, created and last use", cmd_token_list)
    with_json(with_org(listed), "a JSON array of the tokens")
    revoke = with_org(action(token, "revoke", "refuse the token from now on", cmd_token_revoke))
    revoke.add_argument(
        "--prefix", required=True, help="the token's public prefix, from 'token list'"
    )
    with_json(revoke, "the token, revoked, as JSON")


def add_api_token_commands(commands: Any) -> None:
    api_token = group(
        commands, "api-token", "personal admin-API tokens",
        "  scim-server api-token create --org acme --email admin@acme.example",
    )  # fmt: skip
    create = action(
        api_token, "create", "a token acting as the member with this userName, with their role; "
        "prints it, once", cmd_api_token_create,
    )  # fmt: skip
    with_org(create)
    create.add_argument("--email", required=True, help="the member's userName (their email)")
    with_json(create, '{"token", "prefix"}')


def add_console_commands(commands: Any) -> None:
    from .services.sign_in_links import DEFAULT_MINUTES, MAX_MINUTES

    console = group(
        commands, "console", "the admin console (docs/console.md)",
        "  SCIM_SERVER_PUBLIC_URL=https://scim.example.com \\\n"
        "      scim-server console link --org acme --email admin@acme.example",
    )  # fmt: skip
    link = action(
        console, "link", "a one-time sign-in link for a member; its URL needs "
        "SCIM_SERVER_PUBLIC_URL (without it, the path)", cmd_console_link,
    )  # fmt: skip
    with_org(link)
    link.add_argument("--email", required=True, help="the member's userName or email")
    link.add_argument(
        "--minutes", type=positive, default=DEFAULT_MINUTES,
        help=f"how long it works, at most {MAX_MINUTES} (default: {DEFAULT_MINUTES})",
    )  # fmt: skip
    with_json(link, '{"path", "url", "expires_at"}')


def add_members_commands(commands: Any) -> None:
    members = group(
        commands, "members", "an organization's members and their seats",
        "  scim-server members list --org acme\n"
        "  scim-server members list --org acme --seat-type chat_code\n"
        "  scim-server members list --org acme --waiting\n"
        "  scim-server members list --org acme --search ana",
    )  # fmt: skip
    listed = action(
        members, "list", "members in userName order: seat type, source, role, status "
        "(default: every member)", cmd_members_list,
    )  # fmt: skip
    with_org(listed)
    listed.add_argument(
        "--seat-type", metavar="TYPE", help="only those holding this type (or unassigned)"
    )
    listed.add_argument("--waiting", action="store_true", help="only those waiting for a seat")
    listed.add_argument(
        "--search", metavar="TEXT",
        help="only those whose userName, email, name or family name starts with TEXT",
    )  # fmt: skip
    with_json(listed, "a JSON array of members, as GET /api/v1/members gives each")


def add_mappings_commands(commands: Any) -> None:
    mappings = group(
        commands, "mappings", "group mappings: identity-provider groups to seat types "
        "(SEATS.md §5)",
        "  scim-server mappings check mappings/acme.yaml\n"
        "  scim-server mappings plan mappings/acme.yaml --org acme\n"
        "  scim-server mappings apply mappings/acme.yaml --org acme\n"
        "  scim-server mappings show --org acme > acme-stored.yaml",
    )  # fmt: skip
    check = action(
        mappings, "check", "validate a mapping file: every error as FILE:LINE: message "
        "(no database without --org)", cmd_mappings_check,
    )  # fmt: skip
    check.add_argument("file", metavar="FILE", help="the mapping file; - for stdin")
    check.add_argument(
        "--org", metavar="SLUG", help="also check it is for this organization's plan"
    )
    with_json(check, '{"file", "valid", "plan", "rules"} or {"file", "valid", "errors"}')
    for name, func, help_text in (
        ("plan", cmd_mappings_plan, "dry run: who would move, and whether the seats suffice"),
        ("apply", cmd_mappings_apply, "store the mapping and re-evaluate every member not "
         "pinned, in one transaction"),
    ):  # fmt: skip
        sub = with_org(action(mappings, name, help_text, func))
        sub.add_argument("file", metavar="FILE", help="the mapping file; - for stdin")
        with_json(sub, "the report as the admin API gives it")
    show = with_org(
        action(mappings, "show", "print the stored file, as applied", cmd_mappings_show)
    )
    with_json(show, "GET /api/v1/group-mappings's JSON answer")


def add_serve_command(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="run the server under gunicorn", description="run the server under gunicorn",
        epilog="example:\n  scim-server serve --bind 0.0.0.0:8000 --workers 4",
    )  # fmt: skip
    serve.add_argument(
        "--bind", default="127.0.0.1:8000", help="HOST:PORT to listen on (default: 127.0.0.1:8000)"
    )
    serve.add_argument("--workers", type=positive, default=2, help="worker processes (default: 2)")
    serve.add_argument(
        "--threads", type=positive,
        help=f"requests each worker serves at once (default: {POSTGRESQL_THREADS} on "
        "PostgreSQL, 1 on SQLite)",
    )  # fmt: skip
    serve.add_argument(
        "--access-log", action="store_true",
        help="also write gunicorn's access log (default: only the JSON request log)",
    )  # fmt: skip
    serve.set_defaults(func=cmd_serve)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0), or a usage error already told (2)
        return int(exc.code or 0)
    try:
        check_text(args)
        with showing_progress(args):
            code = int(args.func(args))
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return code
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of the command, and no traceback.
        # Point stdout at /dev/null so that flushing it at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:  # every failure is a line and a code; `failure` says which
        return report_failure(exc, args)
    finally:
        while _OPENED:
            _OPENED.pop().dispose()


def check_text(args: argparse.Namespace) -> None:
    """The text rule of every request (inputs.py) for arguments too: a byte that is not
    UTF-8 reaches Python as a lone surrogate. FILE is a path, opened as given."""
    for name, value in vars(args).items():
        if isinstance(value, str) and name != "file":
            try:
                refuse_forbidden(value, f"--{name.replace('_', '-')}")
            except DomainError as exc:  # a malformed argument: usage (exit 2), not a rule
                raise UsageError(exc.message) from exc


def report_failure(exc: Exception, args: argparse.Namespace) -> int:
    from .mappings_file import MappingErrors

    if isinstance(exc, MappingErrors) and getattr(args, "file", None):
        # FILE:LINE: message, the form editors and CI annotate a file from.
        for error in exc.errors:
            print(f"{file_name(args.file)}:{error.line}: {error.message}", file=sys.stderr)
        return REFUSED
    line, code = failure(exc, args)
    print(f"error: {line}", file=sys.stderr)
    if code == BUG and os.environ.get(TRACEBACK_ENV):
        raise exc
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
