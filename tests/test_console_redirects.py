"""`next`: a sign-in may only send the browser back inside this organization's console."""

from __future__ import annotations

import pytest

from scim_server.auth.redirects import console_next

ALLOWED = [
    "/console/acme/",
    "/console/acme",
    "/console/acme/me",
    "/console/acme/organization?seat_type=chat&page=2",
    "/console/acme/members/0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
]
REFUSED = {
    "an absolute URL": "https://evil.example/console/acme/",
    "a scheme without a host": "javascript:alert(1)",
    "a network-path reference": "//evil.example/console/acme/",
    "a backslash that browsers read as a slash": "/\\evil.example",
    "backslashes inside": "/console/acme/\\\\evil.example",
    "an empty segment": "/console/acme//evil.example",
    "dot segments": "/console/acme/../globex/",
    "percent-encoded dot segments": "/console/acme/%2e%2e/globex/",
    "percent-encoded slashes": "/console/acme/%2F%2Fevil.example",
    "another organization's console": "/console/globex/",
    "an organization whose slug begins like this one's": "/console/acme-evil/",
    "a page outside the console": "/api/v1/organization",
    "a relative path": "console/acme/",
    "a fragment": "/console/acme/#x",
    "a control character": "/console/acme/\r\nSet-Cookie: x=y",
    "a space": "/console/acme/ me",
    "a non-ASCII character": "/console/acme/é",
    "nothing": "",
}


@pytest.mark.parametrize("value", ALLOWED)
def test_a_path_of_this_organizations_console_is_kept_as_it_is(value: str) -> None:
    assert console_next("acme", value) == value


@pytest.mark.parametrize("value", list(REFUSED.values()), ids=list(REFUSED))
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        console_next("acme", value)
