"""Each organization's OIDC settings (SEATS.md §6): set by an operator, read by admins.

The client secret is sealed at rest, read from the environment or stdin (never argv),
and never shown, logged or audited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scim_server.errors import InvalidInput, NotFound, SecretKeyMissing
from scim_server.persistence.db import Database
from scim_server.persistence.identity import OidcSettingsRow
from scim_server.persistence.models import AuditEvent
from scim_server.services import oidc_settings

from .admin_client import Org, add_member, new_org
from .oidc_idp import CLIENT_ID, CLIENT_SECRET, ISSUER, SECRET_KEY


def configure(db: Database, secret: str | None = CLIENT_SECRET, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "groups_claim": "groups",
        "allowed_domains": ["acme.example"],
        **changes,
    }
    return oidc_settings.configure(db, SECRET_KEY, "acme", client_secret=secret, **fields)


@pytest.fixture
def acme(app: Any, db: Database) -> Org:
    return new_org(app, db, "acme")


def stored(db: Database) -> OidcSettingsRow:
    with db.unit_of_work() as session:
        row = session.scalar(select(OidcSettingsRow))
        assert row is not None
        return row


# --- the service --------------------------------------------------------------------------------


def test_the_client_secret_is_stored_sealed_and_opens_with_the_key(acme: Org, db: Database) -> None:
    configure(db)
    row = stored(db)
    assert CLIENT_SECRET not in row.client_secret_sealed
    settings = oidc_settings.for_sign_in(db, SECRET_KEY, "acme")
    assert settings.client_secret == CLIENT_SECRET


def test_a_secret_sealed_with_another_key_is_unavailable_not_a_500(acme: Org, db: Database) -> None:
    configure(db)
    with pytest.raises(SecretKeyMissing, match="set the secret again"):
        oidc_settings.for_sign_in(db, "another-secret-key-of-32-characters-or-more", "acme")


def test_setting_oidc_is_audited_without_the_secret(acme: Org, db: Database) -> None:
    configure(db)
    configure(db, secret="a-new-secret", groups_claim="roles")
    with db.unit_of_work() as session:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "oidc.configured")
                .order_by(AuditEvent.pk)
            )
        )
    assert [(e.source, e.actor_kind) for e in events] == [("operator", "operator")] * 2
    assert events[0].before is None and events[0].after is not None
    assert events[1].before is not None and events[1].before["groups_claim"] == "groups"
    assert events[1].after is not None and events[1].after["groups_claim"] == "roles"
    assert events[1].reason is not None and "client secret replaced" in events[1].reason
    text = json.dumps([[e.before, e.after, e.reason] for e in events])
    assert CLIENT_SECRET not in text and "a-new-secret" not in text


def test_setting_again_without_a_secret_keeps_the_stored_one(acme: Org, db: Database) -> None:
    configure(db)
    configure(db, secret=None, allowed_domains=["acme.example", "acme.org"])
    settings = oidc_settings.for_sign_in(db, SECRET_KEY, "acme")
    assert settings.client_secret == CLIENT_SECRET
    assert settings.allowed_domains == ("acme.example", "acme.org")


def test_a_first_setting_without_a_secret_is_refused(acme: Org, db: Database) -> None:
    with pytest.raises(InvalidInput, match="client secret is required"):
        configure(db, secret=None)


@pytest.mark.parametrize(
    "issuer",
    [
        "http://idp.acme.example",
        "ftp://idp.acme.example",
        "idp.acme.example",
        "https://idp.acme.example?tenant=1",
        "https://idp.acme.example#x",
    ],
)
def test_an_issuer_that_is_not_an_https_url_is_refused(
    acme: Org, db: Database, issuer: str
) -> None:
    with pytest.raises(InvalidInput, match="must be an https URL"):
        configure(db, issuer=issuer)


def test_an_http_issuer_on_the_operators_own_machine_is_accepted(acme: Org, db: Database) -> None:
    assert configure(db, issuer="http://localhost:9400")["issuer"] == "http://localhost:9400"


@pytest.mark.parametrize("domains", [[], [""], ["not a domain"], ["acme"], ["*.acme.example"]])
def test_allowed_domains_are_required_and_must_be_domain_names(
    acme: Org, db: Database, domains: list[str]
) -> None:
    with pytest.raises(InvalidInput, match="allowed domains"):
        configure(db, allowed_domains=domains)


def test_oidc_cannot_be_set_without_a_secret_key(acme: Org, db: Database) -> None:
    with pytest.raises(SecretKeyMissing, match="SCIM_SERVER_SECRET_KEY"):
        oidc_settings.configure(
            db, None, "acme", ISSUER, CLIENT_ID, CLIENT_SECRET, "groups", ["acme.example"]
        )


def test_a_short_secret_key_is_refused(acme: Org, db: Database) -> None:
    with pytest.raises(SecretKeyMissing, match="too short"):
        oidc_settings.configure(
            db, "short", "acme", ISSUER, CLIENT_ID, CLIENT_SECRET, "groups", ["acme.example"]
        )


def test_an_unknown_organization_cannot_be_set(db: Database) -> None:
    with pytest.raises(NotFound):
        configure(db)


# --- the admin API: GET /api/v1/oidc -----------------------------------------------------------


def test_an_admin_reads_the_settings_without_the_secret(acme: Org, db: Database) -> None:
    configure(db)
    admin = add_member(acme, "ada", role="admin")
    response = acme.call(admin.token, "GET", "/oidc")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["issuer"] == ISSUER and body["client_id"] == CLIENT_ID
    assert body["client_secret_set"] is True
    assert body["groups_claim"] == "groups"
    assert body["allowed_domains"] == ["acme.example"]
    assert body["redirect_path"] == "/sso/acme/callback"
    assert CLIENT_SECRET not in response.get_data(as_text=True)
    assert "client_secret_sealed" not in body


def test_an_owner_reads_the_settings_too(acme: Org, db: Database) -> None:
    configure(db)
    assert acme.call(acme.owner.token, "GET", "/oidc").status_code == 200


def test_a_member_may_not_read_the_settings(acme: Org, db: Database) -> None:
    configure(db)
    member = add_member(acme, "mo")
    response = acme.call(member.token, "GET", "/oidc")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert response.json["error"]["required_role"] == "admin"


def test_an_anonymous_caller_may_not_read_the_settings(acme: Org, db: Database) -> None:
    configure(db)
    response = acme.call(None, "GET", "/oidc")
    assert response.status_code == 401
    assert ISSUER not in response.get_data(as_text=True)


def test_an_organization_without_oidc_answers_not_found(acme: Org) -> None:
    response = acme.call(acme.owner.token, "GET", "/oidc")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_another_organizations_admin_sees_only_their_own(app: Any, acme: Org, db: Database) -> None:
    configure(db)
    globex = new_org(app, db, "globex")
    response = globex.call(globex.owner.token, "GET", "/oidc")
    assert response.status_code == 404
    assert ISSUER not in response.get_data(as_text=True)


# --- the operator's commands ----------------------------------------------------------------------


def cli(url: str, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_SERVER_")}
    environ.update({"SCIM_SERVER_DATABASE_URL": url, "SCIM_SERVER_SECRET_KEY": SECRET_KEY, **env})
    return subprocess.run(
        [sys.executable, "-m", "scim_server.cli", *args],
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
    )


SET = [
    "org", "oidc", "set", "--org", "acme", "--issuer", ISSUER, "--client-id", CLIENT_ID,
    "--groups-claim", "roles", "--allowed-domains", "acme.example, acme.org",
]  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    database = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli(database, "db", "upgrade").returncode == 0
    created = cli(
        database, "org", "create", "--name", "Acme", "--slug", "acme", "--plan", "enterprise",
        "--seats", "chat=50,chat_code=20", "--owner-email", "boss@acme.example",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return database


def test_org_oidc_set_takes_the_secret_from_the_environment_and_show_never_prints_it(
    url: str,
) -> None:
    result = cli(url, *SET, "--json", SCIM_SERVER_OIDC_CLIENT_SECRET=CLIENT_SECRET)
    assert result.returncode == 0, result.stderr
    assert CLIENT_SECRET not in result.stdout + result.stderr
    shown = cli(url, "org", "oidc", "show", "--org", "acme", "--json")
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)
    assert settings["issuer"] == ISSUER and settings["groups_claim"] == "roles"
    assert settings["allowed_domains"] == ["acme.example", "acme.org"]
    assert settings["client_secret_set"] is True
    assert CLIENT_SECRET not in shown.stdout
    plain = cli(url, "org", "oidc", "show", "--org", "acme")
    assert "issuer: https://idp.acme.example" in plain.stdout
    assert CLIENT_SECRET not in plain.stdout


def test_org_oidc_set_takes_the_secret_from_stdin(url: str) -> None:
    result = cli(url, *SET, "--client-secret-stdin", stdin=CLIENT_SECRET + "\n")
    assert result.returncode == 0, result.stderr
    database = Database(url)
    try:
        assert oidc_settings.for_sign_in(database, SECRET_KEY, "acme").client_secret == (
            CLIENT_SECRET
        )
    finally:
        database.dispose()


def test_org_oidc_set_has_no_argument_for_the_secret(url: str) -> None:
    result = cli(url, *SET, "--client-secret", CLIENT_SECRET)
    assert result.returncode != 0
    assert "unrecognized arguments" in result.stderr


def test_org_oidc_set_refuses_the_secret_given_two_ways(url: str) -> None:
    result = cli(
        url, *SET, "--client-secret-stdin", stdin="a\n", SCIM_SERVER_OIDC_CLIENT_SECRET="b"
    )
    assert result.returncode == 2
    assert "not both" in result.stderr


def test_org_oidc_set_without_any_secret_the_first_time_is_refused(url: str) -> None:
    result = cli(url, *SET)
    assert result.returncode == 1
    assert "client secret is required" in result.stderr


def test_org_oidc_set_without_a_secret_key_says_how_to_make_one(url: str) -> None:
    result = cli(url, *SET, SCIM_SERVER_SECRET_KEY="", SCIM_SERVER_OIDC_CLIENT_SECRET="x")
    assert result.returncode == 1
    assert "SCIM_SERVER_SECRET_KEY is not set" in result.stderr


def test_org_oidc_show_of_an_organization_without_oidc_is_an_error(url: str) -> None:
    result = cli(url, "org", "oidc", "show", "--org", "acme")
    assert result.returncode == 1
    assert "not configured" in result.stderr
