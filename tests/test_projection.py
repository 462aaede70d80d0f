"""Projection copies only what it changes: the resource it reads from stays as it was."""

from __future__ import annotations

import copy
from typing import Any

from scim_server.scim import projection
from scim_server.scim.schema import ENTERPRISE_USER_URN, SEAT_URN

STORED: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_URN, SEAT_URN],
    "id": "1",
    "userName": "bjensen",
    "emails": [{"value": "b@x.com", "type": "work"}],
    ENTERPRISE_USER_URN: {"employeeNumber": "7", "manager": {"value": "9", "displayName": "B"}},
    SEAT_URN: {"seatType": "chat", "seatSource": "scim", "entitlements": ["chat"]},
    "meta": {"resourceType": "User", "version": 'W/"3"'},
}


def project(excluded: str) -> dict[str, Any]:
    return projection.project(STORED, [], projection.parse_list(excluded))


def test_excluding_nested_attributes_leaves_the_source_resource_whole() -> None:
    before = copy.deepcopy(STORED)
    result = project(f"meta.version,{ENTERPRISE_USER_URN}:manager.displayName,emails.type")
    assert before == STORED
    assert result["meta"] == {"resourceType": "User"}
    assert result[ENTERPRISE_USER_URN] == {"employeeNumber": "7", "manager": {"value": "9"}}
    assert result["emails"] == [{"value": "b@x.com"}]


def test_request_only_seat_attributes_are_hidden_without_touching_the_source() -> None:
    result = project("")
    assert result[SEAT_URN] == {"seatType": "chat"}
    assert STORED[SEAT_URN] == {"seatType": "chat", "seatSource": "scim", "entitlements": ["chat"]}
    assert result["emails"] == STORED["emails"]
