"""One-time console sign-in links (docs/console.md): made by an operator, used once."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from scim_server import cli
from scim_server.errors import InvalidInput, MemberDeactivated, SignInLinkInvalid
from scim_server.persistence.db import Database
from scim_server.persistence.models import AuditEvent, SignInLink, UserRow
from scim_server.persistence.types import utcnow
from scim_server.services import sign_in_links

from .admin_client import set_active
from .console_client import CSRF, EMAILS, Console, People, people, text

__all__ = ["people"]  # fixtures, imported to be used here


def issue(db: Database, email: str = EMAILS["admin"], slug: str = "acme") -> str:
    return sign_in_links.issue(db, slug, email).path


def landing_token(browser: Console, path: str) -> str:
    landing = browser.client.get(path)
    assert landing.status_code == 200, text(landing)
    found = CSRF.search(text(landing))
    assert found is not None
    return found.group(1)


def opened(app: Any, path: str) -> tuple[Console, str]:
    """A new browser that opened the link's page: it and the token of the page's form."""
    browser = Console(app.test_client(), "acme")
    return browser, landing_token(browser, path)


def press_sign_in(browser: Console, path: str, token: str) -> Any:
    return browser.client.post(path, data={"csrf_token": token})


def link_rows(db: Database) -> list[SignInLink]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(SignInLink)))


def test_the_command_prints_the_path_a_null_url_and_the_expiry_as_json(
    db: Database,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SCIM_SERVER_DATABASE_URL", db.url)
    monkeypatch.delenv("SCIM_SERVER_PUBLIC_URL", raising=False)
    assert cli.main(["console", "link", "--org", "acme", "--email", EMAILS["owner"], "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"path", "url", "expires_at"}
    assert printed["path"].startswith("/console/acme/sign-in/")
    assert printed["url"] is None  # the command cannot know where the server listens
    from datetime import datetime

    lasts = datetime.fromisoformat(printed["expires_at"]) - utcnow()
    assert timedelta(minutes=14) < lasts <= timedelta(minutes=15)


def test_the_url_is_built_from_the_public_url_when_it_is_set(
    db: Database,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SCIM_SERVER_DATABASE_URL", db.url)
    monkeypatch.setenv("SCIM_SERVER_PUBLIC_URL", "https://scim.example.com/")
    args = ["console", "link", "--org", "acme", "--email", EMAILS["owner"], "--minutes", "5"]
    assert cli.main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["url"] == "https://scim.example.com" + printed["path"]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith("https://scim.example.com/console/acme/sign-in/")


def test_the_command_refuses_an_unknown_member_a_deactivated_one_and_silly_durations(
    db: Database,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SCIM_SERVER_DATABASE_URL", db.url)
    base = ["console", "link", "--org", "acme", "--email"]
    assert cli.main([*base, "nobody@acme.example"]) == 1  # refused (README "Exit codes")
    assert "no member" in capsys.readouterr().err
    set_active(people.acme, people.admin.id, False)
    assert cli.main([*base, EMAILS["admin"]]) == 1
    assert "deactivated" in capsys.readouterr().err
    assert cli.main([*base, EMAILS["owner"], "--minutes", "0"]) == 2  # not a duration: usage
    assert cli.main([*base, EMAILS["owner"], "--minutes", "1441"]) == 1  # over the rule's 1440
    assert "1 to 1440 minutes" in capsys.readouterr().err
    assert link_rows(db) == []
    with pytest.raises(MemberDeactivated):
        issue(db)
    with pytest.raises(InvalidInput):
        sign_in_links.issue(db, "acme", EMAILS["owner"], minutes=0)


def test_only_the_secrets_hash_is_stored(db: Database, people: People) -> None:
    path = issue(db)
    secret = path.rsplit("/", 1)[1]
    assert len(secret) >= 43  # 256 random bits
    (row,) = link_rows(db)
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.used_at is None


def test_fetching_the_link_uses_nothing_up_and_its_button_signs_in(
    secret_app: Any, db: Database, people: People
) -> None:
    """A mail scanner GETs the link; only the POST of the page's button signs in."""
    path = issue(db)
    scanner = secret_app.test_client()
    for _ in range(3):
        landing = scanner.get(path)
        assert landing.status_code == 200
        assert "Ada Admin" in text(landing) and EMAILS["admin"] in text(landing)
        assert "<button" in text(landing) and ">Sign in</button>" in text(landing)
    assert link_rows(db)[0].used_at is None
    browser, token = opened(secret_app, path)
    signed = press_sign_in(browser, path, token)
    assert signed.status_code == 303
    assert "You are signed in." in text(
        browser.client.get(signed.headers["Location"], follow_redirects=True)
    )
    assert browser.get("/").status_code == 200


def test_a_link_works_once(secret_app: Any, db: Database, people: People) -> None:
    path = issue(db)
    first, token = opened(secret_app, path)
    second, other_token = opened(secret_app, path)  # both opened it before either used it
    assert press_sign_in(first, path, token).status_code == 303
    refused = press_sign_in(second, path, other_token)
    assert refused.status_code == 400
    assert "cannot be used" in text(refused)
    assert second.get("/me").status_code == 303
    assert second.client.get(path).status_code == 400  # and its page says so too


def test_an_expired_link_is_refused_and_stays_unused(
    secret_app: Any, db: Database, people: People
) -> None:
    path = issue(db)
    browser, token = opened(secret_app, path)
    with db.unit_of_work(write=True) as session:
        session.execute(update(SignInLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = press_sign_in(browser, path, token)
    assert refused.status_code == 400
    assert "expired" in text(refused)
    assert link_rows(db)[0].used_at is None


def test_a_link_used_at_another_organizations_console_is_refused_and_still_works_at_its_own(
    secret_app: Any, db: Database, people: People
) -> None:
    acme_path = issue(db)
    at_globex = acme_path.replace("/console/acme/", "/console/globex/")
    globex = Console(secret_app.test_client(), "globex")
    assert secret_app.test_client().get(at_globex).status_code == 400
    refused = globex.client.post(at_globex, data={"csrf_token": globex.csrf()})
    assert refused.status_code == 400
    assert "Ada" not in text(refused)  # nothing of the member, nor of acme
    browser, token = opened(secret_app, acme_path)
    assert press_sign_in(browser, acme_path, token).status_code == 303


def test_a_link_posted_without_the_csrf_token_signs_nobody_in_and_stays_unused(
    secret_app: Any, db: Database, people: People
) -> None:
    path = issue(db)
    browser, _ = opened(secret_app, path)
    refused = browser.client.post(path)
    assert refused.status_code == 400
    assert "This form has expired" in text(refused)
    assert link_rows(db)[0].used_at is None


def test_a_link_of_a_member_deactivated_since_is_refused(
    secret_app: Any, db: Database, people: People
) -> None:
    path = issue(db)
    browser, token = opened(secret_app, path)
    set_active(people.acme, people.admin.id, False)
    assert press_sign_in(browser, path, token).status_code == 400
    assert link_rows(db)[0].used_at is None


def test_making_and_using_a_link_are_audited_and_the_sign_in_is_recorded(
    secret_app: Any, db: Database, people: People
) -> None:
    path = issue(db)
    browser, token = opened(secret_app, path)
    press_sign_in(browser, path, token)
    with db.unit_of_work() as session:
        events = {
            e.action: e
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action.like("console.%")))
        }
        member = session.scalar(select(UserRow).where(UserRow.id == people.admin.id))
    created, used = events["console.link_created"], events["console.link_used"]
    assert (created.actor_kind, created.source, created.subject_id) == (
        "operator",
        "operator",
        people.admin.id,
    )
    assert created.after and "expires_at" in created.after
    assert (used.actor_kind, used.actor, used.source) == ("member", people.admin.id, "console")
    assert member is not None and member.last_sign_in_at is not None
    assert abs(member.last_sign_in_at - used.at) < timedelta(seconds=5)


def test_two_tabs_racing_with_one_link_sign_in_once(db: Database, people: People) -> None:
    """The conditional UPDATE lets one use through, on either database."""
    secret = issue(db).rsplit("/", 1)[1]
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def use() -> None:
        start.wait()
        try:
            outcomes.append(sign_in_links.use(db, "acme", secret))
        except SignInLinkInvalid:
            outcomes.append("refused")

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == sorted([people.admin.id, "refused", "refused", "refused"])
