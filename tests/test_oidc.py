"""JIT sign-in through OIDC (SEATS.md §6) against a provider faked with `responses`.

Each attack on the ID token or the flow has its test, and each asserts that nobody was
signed in: no session cookie and no member created.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jws
from sqlalchemy import func, select

from scim_server.app import create_app
from scim_server.persistence.db import Database
from scim_server.persistence.identity import IdentityRepository, IdentityRow
from scim_server.persistence.models import AuditEvent, UserRow
from scim_server.services import group_mappings, jit, oidc_settings

from .admin_client import Org, add_member, new_org, set_active
from .oidc_idp import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    KEY,
    NEW_KEY,
    OTHER_KEY,
    SECRET_KEY,
    FakeProvider,
    idp,
)
from .test_group_mappings import WITH_EVERYONE

__all__ = ["idp"]  # the fixture, imported to be used here

MAPPING = WITH_EVERYONE


def configure(
    db: Database, slug: str = "acme", domains: tuple[str, ...] = ("acme.example",)
) -> None:
    oidc_settings.configure(
        db, SECRET_KEY, slug, ISSUER, CLIENT_ID, CLIENT_SECRET, "groups", domains
    )


@pytest.fixture
def acme(secret_app: Any, db: Database) -> Org:
    org = new_org(secret_app, db, "acme")
    configure(db)
    return org


def begin(org: Org, idp: FakeProvider) -> str:
    response = org.client.get("/sso/acme/login")
    assert response.status_code == 302, response.json
    state, _ = idp.authorized(response.headers["Location"])
    return state


def finish(org: Org, state: str, code: str = "good-code") -> Any:
    return org.client.get(f"/sso/acme/callback?code={code}&state={state}")


def sign_in(org: Org, idp: FakeProvider, **claims: Any) -> Any:
    idp.claims = claims
    return finish(org, begin(org, idp))


def signed_in_member(org: Org, response: Any) -> dict[str, Any]:
    assert response.status_code == 303, response.json
    assert response.headers["Location"] == "/sso/acme/me"
    me = org.client.get("/sso/acme/me")
    assert me.status_code == 200, me.json
    member: dict[str, Any] = me.json["member"]
    return member


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert "sso_session=" not in " ".join(response.headers.getlist("Set-Cookie"))


def count_members(db: Database) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(UserRow)) or 0


def user(db: Database, user_name: str) -> UserRow:
    with db.unit_of_work() as session:
        row = session.scalar(select(UserRow).where(UserRow.user_name == user_name))
        assert row is not None
        return row


def cookie(response: Any, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, headers
    return headers[0]


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}"


# --- the flow -----------------------------------------------------------------------------------


def test_login_redirects_to_the_provider_with_pkce_s256_a_state_and_a_nonce(
    acme: Org, idp: FakeProvider
) -> None:
    response = acme.client.get("/sso/acme/login")
    assert response.status_code == 302
    location = response.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(f"{ISSUER}/authorize?")
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://localhost/sso/acme/callback"
    assert set(query["scope"].split()) >= {"openid", "email"}
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert CLIENT_SECRET not in location


def test_a_redirect_is_its_location_alone_without_an_html_page(
    acme: Org, idp: FakeProvider
) -> None:
    """werkzeug writes a "Redirecting..." page; no answer of this server is HTML."""
    login = acme.client.get("/sso/acme/login")
    back = sign_in(acme, idp)
    for redirect in (login, back):
        assert redirect.status_code in (302, 303) and redirect.headers["Location"]
        assert redirect.data == b"" and "Content-Type" not in redirect.headers


def test_the_sign_in_cookie_is_signed_short_lived_secure_httponly_and_lax(
    acme: Org, idp: FakeProvider
) -> None:
    header = cookie(acme.client.get("/sso/acme/login"), "sso_state")
    flags = [part.strip().lower() for part in header.split(";")]
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags
    assert "path=/sso/acme" in flags and "max-age=600" in flags


def test_the_code_is_exchanged_with_the_verifier_and_the_client_secret(
    acme: Org, idp: FakeProvider
) -> None:
    response = sign_in(acme, idp)
    assert response.status_code == 303, response.json
    (request,) = idp.token_requests
    assert request["form"]["grant_type"] == "authorization_code"
    assert request["form"]["redirect_uri"] == "http://localhost/sso/acme/callback"
    verifier = request["form"]["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge.rstrip(b"=").decode() == idp.challenge
    assert request["authorization"].startswith("Basic ")


def test_a_first_sign_in_creates_a_member_with_role_member_and_a_jit_seat(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    before = count_members(db)
    member = signed_in_member(acme, sign_in(acme, idp))
    assert count_members(db) == before + 1
    assert member["user_name"] == "alice@acme.example"
    assert member["display_name"] == "Alice Liddell"
    assert member["role"] == "member" and member["active"]
    assert member["seat_source"] == "jit"
    # No mapping stored: the highest seat type with a seat available (SEATS.md §4).
    assert member["seat_type"] == "chat_code"
    row = user(db, "alice@acme.example")
    assert row.claim_groups == ["Everyone"]
    with db.unit_of_work() as session:
        identity = session.scalar(select(IdentityRow).where(IdentityRow.user_pk == row.pk))
        assert identity is not None
        assert (identity.issuer, identity.subject) == (ISSUER, "subject-alice")


def test_a_first_sign_in_is_recorded_in_the_audit_log_as_jit(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    member = signed_in_member(acme, sign_in(acme, idp))
    with db.unit_of_work() as session:
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject_id == member["id"])
                .order_by(AuditEvent.pk)
            )
        )
    actions = [(e.action, e.source, e.actor_kind, e.actor) for e in events]
    assert actions[0] == ("member.provisioned", "jit", "jit", "subject-alice")
    assert actions[1] == ("seat.changed", "jit", "jit", "subject-alice")
    assert events[1].after is not None and events[1].after["seat_type"] == "chat_code"


def test_the_session_cookie_is_signed_secure_httponly_and_lax_and_the_state_is_dropped(
    acme: Org, idp: FakeProvider
) -> None:
    response = sign_in(acme, idp)
    flags = [p.strip().lower() for p in cookie(response, "sso_session").split(";")]
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags
    assert "path=/sso/acme" in flags
    dropped = cookie(response, "sso_state").lower()
    assert "max-age=0" in dropped or "expires=thu, 01 jan 1970" in dropped


def test_me_without_a_session_is_refused(acme: Org) -> None:
    refused(acme.client.get("/sso/acme/me"), 401, "session_required")


def test_a_session_of_one_organization_does_not_open_another(
    acme: Org, idp: FakeProvider, secret_app: Any, db: Database
) -> None:
    signed_in_member(acme, sign_in(acme, idp))
    new_org(secret_app, db, "globex")
    value = acme.client.get_cookie("sso_session", path="/sso/acme")
    assert value is not None
    acme.client.set_cookie("sso_session", value.value, path="/sso/globex")
    refused(acme.client.get("/sso/globex/me"), 401, "session_required")


# --- attacks: each refused, nobody signed in ------------------------------------------------------


def attempt(org: Org, idp: FakeProvider, db: Database, forge: Any) -> Any:
    """A sign-in whose token endpoint answers the ID token `forge(idp)` builds."""
    before = count_members(db)
    state = begin(org, idp)
    idp.id_token = forge(idp)
    response = finish(org, state)
    assert count_members(db) == before
    return response


def test_an_id_token_with_another_nonce_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    response = attempt(acme, idp, db, lambda p: p.sign(p.standard_claims(nonce="replayed")))
    refused(response, 401, "id_token_nonce_mismatch")


def test_an_id_token_without_a_nonce_is_refused(acme: Org, idp: FakeProvider, db: Database) -> None:
    claims = lambda p: {k: v for k, v in p.standard_claims().items() if k != "nonce"}  # noqa: E731
    response = attempt(acme, idp, db, lambda p: p.sign(claims(p)))
    refused(response, 401, "id_token_nonce_mismatch")


def test_an_id_token_from_another_issuer_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    forged = lambda p: p.sign(p.standard_claims(iss="https://evil.example"))  # noqa: E731
    refused(attempt(acme, idp, db, forged), 401, "id_token_issuer_mismatch")


def test_an_id_token_for_another_client_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    forged = lambda p: p.sign(p.standard_claims(aud="another-client"))  # noqa: E731
    refused(attempt(acme, idp, db, forged), 401, "id_token_audience_mismatch")


def test_an_id_token_for_several_audiences_needs_our_client_as_azp(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    forged = lambda p: p.sign(p.standard_claims(aud=[CLIENT_ID, "other"], azp="other"))  # noqa: E731
    refused(attempt(acme, idp, db, forged), 401, "id_token_audience_mismatch")


def test_an_id_token_for_several_audiences_with_our_client_as_azp_is_accepted(
    acme: Org, idp: FakeProvider
) -> None:
    response = sign_in(acme, idp, aud=[CLIENT_ID, "other"], azp=CLIENT_ID)
    assert signed_in_member(acme, response)["user_name"] == "alice@acme.example"


def test_an_expired_id_token_is_refused(acme: Org, idp: FakeProvider, db: Database) -> None:
    past = int(time.time()) - 3600
    forged = lambda p: p.sign(p.standard_claims(iat=past - 300, exp=past))  # noqa: E731
    refused(attempt(acme, idp, db, forged), 401, "id_token_expired")


def test_an_id_token_issued_in_the_future_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    future = int(time.time()) + 3600
    forged = lambda p: p.sign(p.standard_claims(iat=future, exp=future + 300))  # noqa: E731
    refused(attempt(acme, idp, db, forged), 401, "id_token_invalid")


def test_an_id_token_signed_by_another_key_with_the_same_kid_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    forged = lambda p: p.sign(p.standard_claims(), key=OTHER_KEY)  # noqa: E731
    refused(attempt(acme, idp, db, forged), 401, "id_token_signature_invalid")


def test_an_id_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    forged = lambda p: p.sign(p.standard_claims(), key=NEW_KEY)  # noqa: E731
    refused(attempt(acme, idp, db, forged), 401, "id_token_signature_invalid")


def test_an_unsigned_id_token_alg_none_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    forged = lambda p: unsigned(p.standard_claims(), {"alg": "none", "typ": "JWT"}) + "."  # noqa: E731
    refused(attempt(acme, idp, db, forged), 401, "id_token_algorithm_refused")


def test_an_id_token_signed_with_the_client_secret_hs256_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    def forge(p: FakeProvider) -> str:
        signing_input = unsigned(p.standard_claims(), {"alg": "HS256", "typ": "JWT"})
        mac = hmac.new(CLIENT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    refused(attempt(acme, idp, db, forge), 401, "id_token_algorithm_refused")


def test_a_tampered_id_token_is_refused(acme: Org, idp: FakeProvider, db: Database) -> None:
    def forge(p: FakeProvider) -> str:
        header, _, signature = p.sign(p.standard_claims()).split(".")
        body = unsigned(p.standard_claims(sub="subject-mallory"), {}).split(".")[1]
        return f"{header}.{body}.{signature}"

    refused(attempt(acme, idp, db, forge), 401, "id_token_signature_invalid")


def test_garbage_instead_of_an_id_token_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    refused(attempt(acme, idp, db, lambda p: "not-a-jwt"), 401, "id_token_invalid")


def test_a_callback_with_another_state_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    begin(acme, idp)
    refused(finish(acme, "forged-state"), 400, "state_mismatch")
    assert idp.token_requests == []


def test_a_callback_without_the_sign_in_cookie_is_refused(
    acme: Org, idp: FakeProvider, secret_app: Any
) -> None:
    state = begin(acme, idp)
    stranger = secret_app.test_client()  # another browser: no cookie
    response = stranger.get(f"/sso/acme/callback?code=good-code&state={state}")
    refused(response, 400, "sign_in_state_invalid")
    assert idp.token_requests == []


def test_a_tampered_sign_in_cookie_is_refused(acme: Org, idp: FakeProvider) -> None:
    state = begin(acme, idp)
    value = acme.client.get_cookie("sso_state", path="/sso/acme")
    assert value is not None
    # One character of the signature changed, away from its end: the last character of
    # base64 carries padding bits, so changing it may leave the bytes as they were.
    signed = value.value
    changed = "A" if signed[-10] != "A" else "B"
    acme.client.set_cookie("sso_state", signed[:-10] + changed + signed[-9:], path="/sso/acme")
    refused(finish(acme, state), 400, "sign_in_state_invalid")


def test_an_expired_sign_in_cookie_is_refused(
    acme: Org, idp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = begin(acme, idp)
    later = time.time() + 601
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    refused(finish(acme, state), 400, "sign_in_state_invalid")


def test_a_code_the_provider_rejects_is_refused(acme: Org, idp: FakeProvider) -> None:
    refused(finish(acme, begin(acme, idp), code="stolen-code"), 401, "code_rejected")


def test_a_provider_error_on_the_callback_is_refused(acme: Org, idp: FakeProvider) -> None:
    state = begin(acme, idp)
    response = acme.client.get(f"/sso/acme/callback?error=access_denied&state={state}")
    refused(response, 401, "provider_denied")
    assert "access_denied" in response.json["error"]["message"]


# --- the provider's documents ---------------------------------------------------------------


def test_discovery_and_keys_are_fetched_once_while_cached(acme: Org, idp: FakeProvider) -> None:
    signed_in_member(acme, sign_in(acme, idp))
    signed_in_member(acme, sign_in(acme, idp))
    assert idp.count("/.well-known/openid-configuration") == 1
    assert idp.count("/jwks") == 1


def test_a_key_id_not_in_the_cached_keys_refetches_them_once(acme: Org, idp: FakeProvider) -> None:
    signed_in_member(acme, sign_in(acme, idp))
    idp.published = [NEW_KEY]  # the provider rotated its keys
    state = begin(acme, idp)
    idp.id_token = idp.sign(idp.standard_claims(), key=NEW_KEY)
    signed_in_member(acme, finish(acme, state))
    assert idp.count("/jwks") == 2


def test_a_discovery_document_naming_another_issuer_is_refused(
    acme: Org, idp: FakeProvider
) -> None:
    idp.discovery = {"issuer": "https://evil.example"}
    refused(acme.client.get("/sso/acme/login"), 502, "oidc_provider_unavailable")


def test_a_provider_that_signs_only_with_hs256_is_refused(acme: Org, idp: FakeProvider) -> None:
    idp.discovery = {"id_token_signing_alg_values_supported": ["HS256", "none"]}
    refused(acme.client.get("/sso/acme/login"), 502, "oidc_provider_unavailable")


def test_an_unreachable_provider_is_a_502_not_a_500(acme: Org, idp: FakeProvider) -> None:
    idp.mock.replace(
        "GET",
        f"{ISSUER}/.well-known/openid-configuration",
        body=requests.ConnectionError("refused"),
    )
    refused(acme.client.get("/sso/acme/login"), 502, "oidc_provider_unavailable")


def test_an_unknown_organization_and_one_without_oidc_answer_alike(
    acme: Org, secret_app: Any, db: Database
) -> None:
    new_org(secret_app, db, "globex")
    unknown = acme.client.get("/sso/nobody/login")
    unconfigured = acme.client.get("/sso/globex/login")
    refused(unknown, 404, "not_found")
    refused(unconfigured, 404, "not_found")
    assert (
        unknown.json["error"]["message"].replace("nobody", "globex")
        == (unconfigured.json["error"]["message"])
    )


def test_without_a_secret_key_sign_in_is_unavailable(acme: Org, db: Database) -> None:
    application = create_app({"DATABASE_URL": db.url})
    try:
        response = application.test_client().get("/sso/acme/login")
        refused(response, 503, "secret_key_missing")
    finally:
        application.extensions["scim_db"].dispose()


def test_without_a_secret_key_an_unknown_organization_is_still_a_404(
    acme: Org, secret_app: Any, db: Database
) -> None:
    """The docs promise 404 for an organization that is not there (or has no OIDC): the
    missing key says nothing about it, and a 503 would send an operator looking there."""
    new_org(secret_app, db, "globex")
    application = create_app({"DATABASE_URL": db.url})
    try:
        client = application.test_client()
        refused(client.get("/sso/nobody/login"), 404, "not_found")
        refused(client.get("/sso/globex/login"), 404, "not_found")
    finally:
        application.extensions["scim_db"].dispose()


# --- who may sign in, and as whom -------------------------------------------------------------


def test_a_returning_member_is_matched_by_subject_not_by_email(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    first = signed_in_member(acme, sign_in(acme, idp))
    before = count_members(db)
    again = signed_in_member(acme, sign_in(acme, idp, email="alice.l@acme.example"))
    assert again["id"] == first["id"]
    assert count_members(db) == before


def test_another_subject_with_a_linked_members_email_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    signed_in_member(acme, sign_in(acme, idp))
    before = count_members(db)
    refused(sign_in(acme, idp, sub="subject-mallory"), 403, "identity_conflict")
    assert count_members(db) == before


def test_a_first_sign_in_with_a_verified_email_links_the_scim_member_of_that_email(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    scim = add_member(acme, "alice@acme.example")
    before = count_members(db)
    member = signed_in_member(acme, sign_in(acme, idp))
    assert member["id"] == scim.id
    assert member["seat_source"] == "scim"  # the seat SCIM gave stays
    assert count_members(db) == before
    with db.unit_of_work() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == scim.id))
        assert "member.identity_linked" in list(actions)


def test_a_first_sign_in_without_a_verified_email_does_not_take_over_a_scim_member(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    add_member(acme, "alice@acme.example")
    refused(sign_in(acme, idp, email_verified=None), 403, "identity_conflict")
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(IdentityRow)) == 0


def test_an_email_the_provider_says_is_unverified_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    before = count_members(db)
    refused(sign_in(acme, idp, email_verified=False), 403, "email_unverified")
    assert count_members(db) == before


def test_a_deactivated_member_cannot_sign_in(acme: Org, idp: FakeProvider) -> None:
    member = signed_in_member(acme, sign_in(acme, idp))
    set_active(acme, member["id"], False)
    refused(sign_in(acme, idp), 403, "member_deactivated")
    refused(acme.client.get("/sso/acme/me"), 403, "member_deactivated")


def test_a_deactivated_scim_member_cannot_link_by_signing_in(acme: Org, idp: FakeProvider) -> None:
    scim = add_member(acme, "alice@acme.example")
    set_active(acme, scim.id, False)
    refused(sign_in(acme, idp), 403, "member_deactivated")


@pytest.mark.parametrize(
    "email", ["bob@evil.example", "bob@sub.acme.example", "bob@acme.example.evil.example"]
)
def test_an_email_outside_the_allowed_domains_is_refused(
    acme: Org, idp: FakeProvider, db: Database, email: str
) -> None:
    before = count_members(db)
    refused(sign_in(acme, idp, email=email), 403, "email_domain_not_allowed")
    assert count_members(db) == before


def test_narrowing_the_allowed_domains_shuts_out_a_returning_member(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    signed_in_member(acme, sign_in(acme, idp))
    configure(db, domains=("acme.example.org",))
    refused(sign_in(acme, idp), 403, "email_domain_not_allowed")


def test_an_id_token_without_email_is_refused(acme: Org, idp: FakeProvider) -> None:
    refused(sign_in(acme, idp, email=None), 403, "email_missing")


# --- seats from the groups claim (SEATS.md §4, §5) ---------------------------------------------


def test_a_first_sign_in_lands_on_the_seat_type_its_groups_claim_maps_to(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    group_mappings.apply_for(db, "acme", MAPPING)
    member = signed_in_member(acme, sign_in(acme, idp, groups=["Everyone"]))
    assert member["seat_type"] == "chat"  # not chat_code, the highest type free
    # The rule gave the seat (so leaving the group gives it back to the automatic rules);
    # the audit log says JIT did it, and by which group.
    assert member["seat_source"] == "group_mapping"
    with db.unit_of_work() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_id == member["id"], AuditEvent.action == "seat.changed"
            )
        ).one()
    assert event.source == "jit" and event.reason is not None and "Everyone" in event.reason


def test_a_groups_claim_with_one_string_is_one_group(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    group_mappings.apply_for(db, "acme", MAPPING)
    member = signed_in_member(acme, sign_in(acme, idp, groups="Everyone"))
    assert member["seat_type"] == "chat"


def test_a_mapped_type_that_is_full_falls_back_to_the_highest_type_free(
    secret_app: Any, db: Database, idp: FakeProvider
) -> None:
    small = new_org(secret_app, db, "acme", seats={"chat": 19, "chat_code": 1})  # owner: chat_code
    configure(db)
    group_mappings.apply_for(db, "acme", MAPPING)
    member = signed_in_member(small, sign_in(small, idp, groups=["Engineering"]))
    assert member["seat_type"] == "chat"
    assert member["seat_source"] == "jit"


def test_a_returning_member_whose_groups_changed_moves_to_the_newly_mapped_type(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    group_mappings.apply_for(db, "acme", MAPPING)
    first = signed_in_member(acme, sign_in(acme, idp, groups=["Everyone"]))
    assert first["seat_type"] == "chat"
    again = signed_in_member(acme, sign_in(acme, idp, groups=["Engineering", "Everyone"]))
    assert again["seat_type"] == "chat_code"
    assert user(db, "alice@acme.example").claim_groups == ["Engineering", "Everyone"]


def test_a_mapping_applied_later_moves_jit_members_by_their_last_groups_claim(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    first = signed_in_member(acme, sign_in(acme, idp, groups=["Everyone"]))
    assert first["seat_type"] == "chat_code"
    group_mappings.apply_for(db, "acme", MAPPING)
    assert user(db, "alice@acme.example").seat_type == "chat"


def test_a_pinned_member_keeps_their_seat_whatever_the_groups_claim(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    group_mappings.apply_for(db, "acme", MAPPING)
    member = signed_in_member(acme, sign_in(acme, idp, groups=["Everyone"]))
    response = acme.call(
        acme.owner.token, "PATCH", f"/members/{member['id']}", {"seat_type": "chat"}
    )
    assert response.status_code == 200, response.json
    again = signed_in_member(acme, sign_in(acme, idp, groups=["Engineering"]))
    assert again["seat_type"] == "chat" and again["pinned"]


# --- secrets stay secret -------------------------------------------------------------------------


def test_the_client_secret_is_never_in_logs_audit_or_answers(
    acme: Org, idp: FakeProvider, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    response = sign_in(acme, idp)
    me = acme.client.get("/sso/acme/me")
    assert CLIENT_SECRET not in response.get_data(as_text=True) + me.get_data(as_text=True)
    assert CLIENT_SECRET not in caplog.text
    with db.unit_of_work() as session:
        events = session.scalars(select(AuditEvent)).all()
        assert all(CLIENT_SECRET not in json.dumps([e.before, e.after, e.reason]) for e in events)


# --- the rest of the flow -------------------------------------------------------------------------


def test_an_id_token_without_a_subject_is_refused(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    claims = lambda p: {k: v for k, v in p.standard_claims().items() if k != "sub"}  # noqa: E731
    refused(attempt(acme, idp, db, lambda p: p.sign(claims(p))), 401, "id_token_invalid")


def test_logout_drops_the_session(acme: Org, idp: FakeProvider) -> None:
    signed_in_member(acme, sign_in(acme, idp))
    response = acme.client.post("/sso/acme/logout")
    assert response.status_code == 204 and "Content-Type" not in response.headers
    assert "max-age=0" in cookie(response, "sso_session").lower()
    refused(acme.client.get("/sso/acme/me"), 401, "session_required")


def test_a_first_sign_in_racing_its_twin_signs_in_as_the_member_the_twin_created(
    acme: Org, idp: FakeProvider, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read "nobody yet"; the twin commits first, so our insert breaks a unique key."""
    twin = signed_in_member(acme, sign_in(acme, idp))
    blind = {"by_subject": True, "by_user_name": True}

    def once(name: str, real: Any) -> Any:
        def looked_up(*args: Any) -> Any:
            if blind[name]:
                blind[name] = False
                return None
            return real(*args)

        return looked_up

    monkeypatch.setattr(
        IdentityRepository, "by_subject", once("by_subject", IdentityRepository.by_subject)
    )
    monkeypatch.setattr(jit, "_by_user_name", once("by_user_name", jit._by_user_name))
    before = count_members(db)
    assert signed_in_member(acme, sign_in(acme, idp))["id"] == twin["id"]
    assert count_members(db) == before
    assert not any(blind.values())  # the race did happen


# --- claims no column holds (issue 18: the ID token is a client's input too) --------------------


def test_an_id_token_whose_claims_no_column_holds_is_refused_not_a_server_error(
    acme: Org, idp: FakeProvider, db: Database
) -> None:
    before = count_members(db)
    for claims, words in [
        ({"sub": "s" * 256}, "sub must be at most 255 characters"),
        ({"email": "a" * 250 + "@acme.example"}, "email must be at most 255 characters"),
        ({"name": "n" * 256}, "name must be at most 255 characters"),
        ({"sub": "alice\ud800"}, "sub holds a lone surrogate (U+D800)"),
        ({"name": "Alice\x00"}, "name holds a NUL character (U+0000)"),
        ({"groups": ["Everyone", "Eng\udfff"]}, "groups holds a lone surrogate (U+DFFF)"),
    ]:
        state = begin(acme, idp)
        # Signed as ASCII JSON, where a lone surrogate is an escape, as a provider may send it.
        payload = json.dumps(idp.standard_claims(**claims)).encode()
        idp.id_token = jws.serialize_compact({"alg": "RS256", "kid": KEY.kid}, payload, KEY)
        response = finish(acme, state)
        refused(response, 401, "id_token_invalid")
        assert words in response.json["error"]["message"], claims
    assert count_members(db) == before
