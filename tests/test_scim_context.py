"""enforce_scim_context (scim/context.py) does what scim2-models' own validator does.

Both are run on the same validated models, in every SCIM context, on generated users:
the same error first (type, message, location), or the same model afterwards.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import PydanticCustomError
from scim2_models import Context
from scim2_models.base import BaseModel as ScimBaseModel

from scim_server.scim.context import enforce_scim_context
from scim_server.scim.schema import (
    ENTERPRISE_USER_URN,
    SEAT_URN,
    DirectoryEmail,
    DirectoryEnterpriseUser,
    DirectoryName,
    SeatUser,
    UserModel,
)

LIBRARY = ScimBaseModel.__pydantic_decorators__.model_validators["_enforce_scim_context"].func
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"

emails = st.lists(
    st.fixed_dictionaries(
        {"value": st.sampled_from(["a@example.com", "b@contoso.local"])},
        optional={"primary": st.booleans(), "type": st.sampled_from(["work", "home"])},
    ),
    max_size=3,
)
users = st.fixed_dictionaries(
    {"schemas": st.just([USER_SCHEMA, ENTERPRISE_USER_URN, SEAT_URN])},
    optional={
        "userName": st.sampled_from(["bjensen", ""]),
        "id": st.just("given-by-the-client"),
        "externalId": st.just("ext-1"),
        "displayName": st.just("Babs"),
        "name": st.fixed_dictionaries({}, optional={"givenName": st.just("Barbara")}),
        "password": st.just("t1meMa$heen"),
        "active": st.booleans(),
        "emails": emails,
        "groups": st.just([{"value": "g1"}]),
        "meta": st.just({"resourceType": "User"}),
        ENTERPRISE_USER_URN: st.fixed_dictionaries(
            {}, optional={"employeeNumber": st.just("7"), "manager": st.just({"value": "m"})}
        ),
        SEAT_URN: st.fixed_dictionaries(
            {}, optional={"seatType": st.just("chat"), "seatSource": st.just("scim")}
        ),
    },
)


def _models(user: Any) -> list[Any]:
    """The user and the models in it that take enforce_scim_context."""
    parts = [user.name, user[DirectoryEnterpriseUser], user[SeatUser]]
    return [user, *(user.emails or []), *(part for part in parts if part is not None)]


def _outcome(check: Any, model: Any, context: Context, bulk: bool) -> Any:
    info = SimpleNamespace(context={"scim": context, "scim_bulk": bulk})
    try:
        check(model, info)
    except (PydanticCustomError, ValidationError) as exc:
        if isinstance(exc, ValidationError):
            return [(e["type"], e["msg"], e["loc"]) for e in exc.errors()]
        return (exc.type, exc.message())
    return model.model_dump()


@settings(max_examples=300, deadline=None)
@given(payload=users, context=st.sampled_from(list(Context)), bulk=st.booleans())
def test_the_same_outcome_as_scim2_models_in_every_context(
    payload: dict[str, Any], context: Context, bulk: bool
) -> None:
    validated = UserModel.model_validate(payload)  # no SCIM context: nothing enforced yet
    for index in range(len(_models(validated))):
        ours, theirs = copy.deepcopy(validated), copy.deepcopy(validated)
        model_ours, model_theirs = _models(ours)[index], _models(theirs)[index]
        assert _outcome(enforce_scim_context, model_ours, context, bulk) == _outcome(
            LIBRARY, model_theirs, context, bulk
        )


def test_the_models_take_it_in_place_of_the_library_one() -> None:
    for model in (UserModel, DirectoryName, DirectoryEmail, DirectoryEnterpriseUser, SeatUser):
        found = model.__pydantic_decorators__.model_validators["_enforce_scim_context"]
        assert found.func is enforce_scim_context


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (Context.RESOURCE_CREATION_REQUEST, "required"),
        (Context.RESOURCE_REPLACEMENT_REQUEST, "required"),
        (Context.RESOURCE_PATCH_REQUEST, "accepted"),
    ],
)
def test_a_user_without_username_is_refused_where_scim_requires_one(
    context: Context, expected: str
) -> None:
    payload = {"schemas": [USER_SCHEMA], "displayName": "No name", "id": "mine"}
    try:
        user = UserModel.model_validate(payload, scim_ctx=context)
    except ValidationError as exc:
        assert expected == "required"
        assert exc.errors()[0]["type"] == "required_error"
        return
    assert expected == "accepted"
    assert user.id == "mine"  # read-only attributes are dropped only from creates and PUTs


def test_a_create_drops_read_only_attributes_and_refuses_two_primaries() -> None:
    created = UserModel.model_validate(
        {"schemas": [USER_SCHEMA], "userName": "bjensen", "id": "mine", "groups": [{"value": "g"}]},
        scim_ctx=Context.RESOURCE_CREATION_REQUEST,
    )
    assert created.id is None and created.groups is None
    two = [{"value": "a@example.com", "primary": True}, {"value": "b@example.com", "primary": True}]
    with pytest.raises(ValidationError, match="primary"):
        UserModel.model_validate(
            {"schemas": [USER_SCHEMA], "userName": "bjensen", "emails": two},
            scim_ctx=Context.RESOURCE_CREATION_REQUEST,
        )
