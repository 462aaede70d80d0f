"""totalResults (RFC 7644 §3.4.2.4) is the same whether or not a page needs a COUNT."""

from __future__ import annotations

import pytest

from scim_server.services.resources import known_total

from .conftest import Api

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.mark.parametrize(
    ("offset", "asked", "returned", "total"),
    [
        (0, 100, 1, 1),  # a filter that matched one resource
        (0, 100, 0, 0),  # nothing matched
        (40, 10, 3, 43),  # a short last page ends the results
        (0, 10, 10, None),  # a full page: more may follow
        (50, 10, 0, None),  # past the end: where the results end is unknown
        (0, 0, 0, None),  # count=0 asks for the total alone
    ],
)
def test_the_total_is_known_from_the_page_only_when_the_page_ends_the_results(
    offset: int, asked: int, returned: int, total: int | None
) -> None:
    assert known_total(offset, asked, returned) == total


def test_every_page_reports_the_same_total_whether_or_not_it_was_counted(api: Api) -> None:
    for i in range(7):
        response = api.call("POST", "/Users", {"schemas": [USER], "userName": f"total{i}"})
        assert response.status_code == 201
    totals = {
        start: api.call("GET", f"/Users?startIndex={start}&count=3").json["totalResults"]
        for start in (1, 4, 7, 8, 20)  # full, full, short last page, short, past the end
    }
    assert set(totals.values()) == {8}  # the owner and the seven users


def test_a_filter_matching_one_user_reports_a_total_of_one(api: Api) -> None:
    api.call("POST", "/Users", {"schemas": [USER], "userName": "only-one"})
    body = api.call("GET", '/Users?filter=userName eq "only-one"').json
    assert body["totalResults"] == 1 and body["itemsPerPage"] == 1


def test_pages_of_an_equality_filter_walk_its_matches_in_creation_order(api: Api) -> None:
    # Entra's externalId lookup, where several users may share one externalId.
    made = []
    for i in range(3):
        user = {"schemas": [USER], "userName": f"shared{i}", "externalId": "shared-ext"}
        made.append(api.call("POST", "/Users", user).json["id"])
    wanted = 'filter=externalId eq "shared-ext"'
    first = api.call("GET", f"/Users?{wanted}&count=2").json
    last = api.call("GET", f"/Users?{wanted}&startIndex=3&count=2").json
    assert (first["totalResults"], first["itemsPerPage"]) == (3, 2)
    assert (last["totalResults"], last["itemsPerPage"], last["startIndex"]) == (3, 1, 3)
    assert [r["id"] for r in first["Resources"] + last["Resources"]] == made
    assert api.call("GET", f"/Users?{wanted}&count=0").json["totalResults"] == 3
    backwards = api.call("GET", f"/Users?{wanted}&sortBy=userName&sortOrder=descending").json
    assert [r["id"] for r in backwards["Resources"]] == made[::-1]
