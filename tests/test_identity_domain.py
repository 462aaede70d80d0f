"""Who may sign in through OIDC, and as whom (domain/identity.py): no database."""

from __future__ import annotations

import pytest

from scim_server.auth import discovery
from scim_server.auth.cookies import SESSION, SIGN_IN, CookieInvalid, CookieSigner
from scim_server.auth.sealing import SecretBox, UnreadableSecret
from scim_server.domain import identity
from scim_server.errors import ProviderUnavailable

KEY = "k" * 32


def test_allowed_domains_are_lowercased_trimmed_and_deduplicated() -> None:
    assert identity.allowed_domains([" Acme.Example ", "acme.example.", "b.org", ""]) == [
        "acme.example",
        "b.org",
    ]


@pytest.mark.parametrize("raw", [[], ["", " "], ["acme"], ["a b.com"], ["-a.com"], ["*.a.com"]])
def test_allowed_domains_refuse_nothing_and_non_domains(raw: list[str]) -> None:
    with pytest.raises(ValueError):
        identity.allowed_domains(raw)


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("alice@acme.example", True),
        ("Alice@ACME.example", True),
        ("alice@sub.acme.example", False),
        ("alice@evilacme.example", False),
        ("alice@acme.example.evil", False),
        ("acme.example", False),
        ("@acme.example", False),
    ],
)
def test_an_email_is_allowed_only_by_its_exact_domain(email: str, allowed: bool) -> None:
    assert identity.domain_allowed(email, ["acme.example"]) is allowed


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        (["b", "a", "a"], ["a", "b"]),
        ("Engineering", ["Engineering"]),
        (None, []),
        (42, []),
        ([{"name": "x"}, "y", ""], ["y"]),
    ],
)
def test_the_groups_claim_is_a_list_of_strings_or_one_string(
    value: object, groups: list[str]
) -> None:
    assert identity.claim_groups({"groups": value}, "groups") == groups


def test_the_groups_claim_is_read_under_the_configured_name() -> None:
    assert identity.claim_groups({"roles": ["admins"], "groups": ["x"]}, "roles") == ["admins"]


def test_a_first_sign_in_without_a_member_of_that_email_creates_one() -> None:
    assert identity.first_sign_in(False, False, None) is identity.Link.CREATE


def test_a_first_sign_in_links_an_unlinked_member_only_with_a_verified_email() -> None:
    assert identity.first_sign_in(True, False, True) is identity.Link.LINK
    for unverified in (None, False, "true"):
        with pytest.raises(identity.LinkRefused, match="did not verify"):
            identity.first_sign_in(True, False, unverified)


def test_a_first_sign_in_never_takes_over_a_member_linked_to_another_subject() -> None:
    with pytest.raises(identity.LinkRefused, match="another identity"):
        identity.first_sign_in(True, True, True)


# --- the provider's discovery document (OIDC Discovery §4.3) -----------------------------------

ISSUER = "https://idp.example"
DOCUMENT = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/authorize",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/jwks",
}


def test_algorithms_default_to_rs256_and_never_include_none_or_hmac() -> None:
    assert discovery.discovered(ISSUER, DOCUMENT).algorithms == ("RS256",)
    offered = {**DOCUMENT, "id_token_signing_alg_values_supported": ["none", "HS256", "ES256"]}
    assert discovery.discovered(ISSUER, offered).algorithms == ("ES256",)


def test_a_document_without_its_endpoints_is_refused() -> None:
    with pytest.raises(ProviderUnavailable, match="jwks_uri"):
        discovery.discovered(ISSUER, {k: v for k, v in DOCUMENT.items() if k != "jwks_uri"})


def test_client_secret_post_is_used_only_when_basic_is_not_offered() -> None:
    assert discovery.discovered(ISSUER, DOCUMENT).token_auth_method == "client_secret_basic"
    post = {**DOCUMENT, "token_endpoint_auth_methods_supported": ["client_secret_post"]}
    assert discovery.discovered(ISSUER, post).token_auth_method == "client_secret_post"


def test_discovery_is_cached_for_its_ttl_then_fetched_again() -> None:
    now = [0.0]
    fetched: list[str] = []
    directory = discovery.ProviderDirectory(ttl=300, timeout=1, clock=lambda: now[0])
    directory.get = lambda url: fetched.append(url) or dict(DOCUMENT)  # type: ignore[method-assign]
    directory.provider(ISSUER)
    now[0] = 299
    directory.provider(ISSUER)
    assert len(fetched) == 1
    now[0] = 300
    directory.provider(ISSUER)
    assert fetched == [f"{ISSUER}/.well-known/openid-configuration"] * 2


# --- sealed secrets and signed cookies --------------------------------------------------------


def test_a_sealed_secret_opens_only_with_its_key() -> None:
    sealed = SecretBox(KEY).seal("s3cret")
    assert "s3cret" not in sealed
    assert SecretBox(KEY).unseal(sealed) == "s3cret"
    with pytest.raises(UnreadableSecret):
        SecretBox("x" * 32).unseal(sealed)


def test_a_sign_in_cookie_cannot_be_replayed_as_a_session() -> None:
    value = CookieSigner(KEY, SIGN_IN, 600).dumps({"org": "acme", "member": "m"})
    with pytest.raises(CookieInvalid):
        CookieSigner(KEY, SESSION, 600).loads(value)
