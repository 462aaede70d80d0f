"""Pure pieces, no database: token material, projection, PATCH parsing, plan catalog."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import (
    Context,
    InvalidFilterException,
    InvalidValueException,
    SCIMException,
)

from scim_server.auth import tokens
from scim_server.domain.plans import CATALOG, AllocationError, check_allocation
from scim_server.scim import patch, projection
from scim_server.scim.requests import normalize_patch, normalize_user_payload, validate
from scim_server.scim.resources import _NOT_STORED, document
from scim_server.scim.schema import GroupModel, UserModel

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


# --- tokens ------------------------------------------------------------------------------


def test_a_token_is_high_entropy_and_only_its_hash_is_kept() -> None:
    new = tokens.generate("scim")
    assert new.secret.startswith(new.prefix + "_")
    assert len(new.secret) > 50
    assert new.secret not in new.token_hash
    assert tokens.matches(new.secret, new.token_hash)
    assert not tokens.matches(new.secret + "x", new.token_hash)


def test_a_token_says_its_kind_and_a_malformed_one_is_rejected() -> None:
    assert tokens.split(tokens.generate("api").secret)[0] == "api"  # type: ignore[index]
    for junk in ("", "scim", "scim_abc", "bogus_abc_def", "Bearer x"):
        assert tokens.split(junk) is None


def test_an_unknown_token_never_matches() -> None:
    assert not tokens.matches("anything", None)


# --- projection --------------------------------------------------------------------------

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "id": "1",
    "userName": "bjensen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "b@x.com", "type": "work"}, {"value": "b@y.com", "type": "home"}],
    ENTERPRISE: {"employeeNumber": "7", "manager": {"value": "9"}},
    "meta": {"resourceType": "User"},
}


def select(attributes: str | None = None, excluded: str | None = None) -> dict:  # type: ignore[type-arg]
    return projection.project(
        USER, projection.parse_list(attributes), projection.parse_list(excluded)
    )


def test_attribute_names_match_case_insensitively() -> None:
    assert select("USERNAME")["userName"] == "bjensen"


def test_sub_attributes_of_multi_valued_attributes_are_selected_in_every_element() -> None:
    assert select("emails.value")["emails"] == [{"value": "b@x.com"}, {"value": "b@y.com"}]


def test_extension_attributes_are_selected_by_their_full_urn() -> None:
    result = select(f"{ENTERPRISE}:manager.value")
    assert result[ENTERPRISE] == {"manager": {"value": "9"}}
    assert result["schemas"] == USER["schemas"]


def test_excluding_a_whole_extension_drops_its_schema_uri() -> None:
    result = select(excluded=ENTERPRISE)
    assert ENTERPRISE not in result and result["schemas"] == [USER["schemas"][0]]


def test_a_core_urn_prefix_names_a_core_attribute() -> None:
    assert select("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName")["name"] == {
        "familyName": "Jensen"
    }


def test_attributes_never_drop_id_and_excluded_never_remove_it() -> None:
    assert select("userName")["id"] == "1"
    assert select(excluded="id")["id"] == "1"


def test_projection_does_not_modify_the_source() -> None:
    select(excluded="name.givenName,emails.type")
    assert USER["name"]["givenName"] == "Barbara"  # type: ignore[index]
    assert USER["emails"][0]["type"] == "work"  # type: ignore[index]


# --- PATCH parsing -----------------------------------------------------------------------


def group_patch(*operations: dict) -> patch.GroupPatch:  # type: ignore[type-arg]
    return patch.parse_group_patch({"schemas": [PATCH_URN], "Operations": list(operations)}, "g1")


def test_member_operations_become_row_changes_and_the_rest_stays_a_patch() -> None:
    parsed = group_patch(
        {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
        {"op": "replace", "path": "displayName", "value": "Eng"},
    )
    assert parsed.member_changes == [patch.MemberChange("add", ("u1", "u2"))]
    assert parsed.other is not None and len(parsed.other.operations) == 1


def test_a_filtered_remove_names_the_members_of_an_or_of_value_equalities() -> None:
    parsed = group_patch({"op": "remove", "path": 'members[value eq "a" or value eq "b"]'})
    assert parsed.member_changes == [patch.MemberChange("remove", ("a", "b"))]


def test_a_remove_without_value_removes_every_member() -> None:
    parsed = group_patch({"op": "remove", "path": "members"})
    assert parsed.member_changes == [patch.MemberChange("remove", None)]


def test_entras_remove_with_a_value_names_only_those_members() -> None:
    parsed = group_patch({"op": "Remove", "path": "members", "value": [{"value": "u7"}]})
    assert parsed.member_changes == [patch.MemberChange("remove", ("u7",))]


def test_oktas_rename_ignores_the_groups_own_id_in_the_value() -> None:
    parsed = group_patch({"op": "replace", "value": {"id": "g1", "displayName": "New"}})
    assert parsed.member_changes == []
    assert parsed.other.operations[0].value == {"displayName": "New"}


def test_a_no_path_replace_carrying_members_replaces_the_membership() -> None:
    parsed = group_patch({"op": "replace", "value": {"members": [{"value": "u3"}]}})
    assert parsed.member_changes == [patch.MemberChange("replace", ("u3",))]
    assert parsed.other is None


def test_a_members_filter_other_than_value_equality_is_refused() -> None:
    with pytest.raises(InvalidFilterException):
        group_patch({"op": "remove", "path": 'members[display eq "x"]'})


def test_a_member_without_a_value_is_refused() -> None:
    with pytest.raises(InvalidValueException):
        group_patch({"op": "add", "path": "members", "value": [{"display": "no id"}]})


def test_an_empty_operations_list_is_refused() -> None:
    with pytest.raises(SCIMException):
        group_patch()


def test_entras_bare_manager_id_is_wrapped_as_a_complex_value() -> None:
    body = normalize_user_payload({ENTERPRISE: {"manager": "m1"}})
    assert body[ENTERPRISE]["manager"] == {"value": "m1"}
    operation = {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "m2"}
    normalize_patch({"Operations": [operation]})
    assert operation["value"] == {"value": "m2"}


# --- plan catalog ------------------------------------------------------------------------


def test_the_catalog_ranks_seat_types_and_higher_includes_lower() -> None:
    for plan in CATALOG.values():
        low, high = plan.seat_types
        assert low.rank < high.rank and low.entitlements < high.entitlements


def test_an_allocation_below_twenty_seats_is_refused() -> None:
    with pytest.raises(AllocationError, match="at least 20"):
        check_allocation(CATALOG["enterprise"], {"chat": 10, "chat_code": 9})
    check_allocation(CATALOG["enterprise"], {"chat": 10, "chat_code": 10})


def test_an_allocation_naming_another_plans_seat_type_is_refused() -> None:
    with pytest.raises(AllocationError, match="premium"):
        check_allocation(CATALOG["enterprise"], {"premium": 30})


RICH_USER = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "userName": "rich@example.com",
    "externalId": "ext-1",
    "password": "t1meMachine!",
    "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara Jensen"},
    "displayName": "Babs",
    "nickName": "Babs",
    "profileUrl": "https://login.example.com/bjensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "preferredLanguage": "en-US",
    "locale": "en-US",
    "timezone": "America/Los_Angeles",
    "active": "False",
    "emails": [
        {"value": "rich@example.com", "type": "work", "primary": True},
        {"value": "b@x.org"},
    ],
    "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
    "ims": [{"value": "someaimhandle", "type": "aim"}],
    "photos": [{"value": "https://photos.example.com/profilephoto.jpg", "type": "photo"}],
    "addresses": [{"streetAddress": "100 Universal City Plaza", "type": "work", "primary": True}],
    "entitlements": [{"value": "Some Entitlement"}],
    "roles": [{"value": "Some Role"}],
    "x509Certificates": [{"value": "TUlJRGpEQ0NBdlNn"}],
    "groups": [],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": "../Users/2611"},
    },
}


@pytest.mark.parametrize(
    ("model_class", "payload"),
    [
        (UserModel, RICH_USER),
        (UserModel, {"userName": "bare"}),
        (
            GroupModel,
            {"displayName": "Tour Guides", "externalId": "g1", "members": [{"value": "1"}]},
        ),
    ],
)
def test_a_stored_document_is_what_the_scim_response_dump_would_store(
    model_class: Any, payload: dict[str, Any]
) -> None:
    """document() uses a plain pydantic dump for speed; it must store what scim2-models'
    response dump stores, but for the attributes no resource keeps (`_NOT_STORED`)."""
    model = validate(
        model_class, normalize_user_payload(payload), Context.RESOURCE_CREATION_REQUEST
    )
    dumped = model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    expected = {key: value for key, value in dumped.items() if key not in _NOT_STORED}
    assert document(model) == expected
    assert "password" not in document(model)


def test_resource_ids_are_uuid7_in_creation_order() -> None:
    """RFC 9562 §5.7: version 7, RFC 4122 variant, the current Unix milliseconds first."""
    import time
    import uuid

    from scim_server.services.resources import new_id

    before_ms = time.time_ns() // 1_000_000
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    after_ms = time.time_ns() // 1_000_000
    for made in (first, second):
        parsed = uuid.UUID(made)
        assert str(parsed) == made
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert before_ms <= parsed.int >> 80 <= after_ms
    assert first < second  # made a millisecond apart, they sort in creation order
    assert len({new_id() for _ in range(10_000)}) == 10_000
