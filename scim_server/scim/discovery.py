"""RFC 7644 §4: /ServiceProviderConfig, /Schemas and /ResourceTypes, from scim2-models."""

from __future__ import annotations

from functools import cache
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

from ..domain.plans import Plan
from .schema import SEAT_URN, GroupModel, SeatUser, UserModel


@cache
def provider(max_results: int, bulk_operations: int, bulk_payload: int) -> ScimProvider:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=True, max_operations=bulk_operations, max_payload_size=bulk_payload),
        filter=Filter(supported=True, max_results=max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="A SCIM token issued by `scim-server token create`",
                primary=True,
            )
        ],
    )
    return ScimProvider(
        models=[User, EnterpriseUser, SeatUser, Group],
        resource_types=[
            ResourceType.from_resource(UserModel),
            ResourceType.from_resource(GroupModel),
        ],
        config=config,
    )


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def service_provider_config(scim: ScimProvider, base: str) -> dict[str, Any]:
    payload = _dump(scim.config)
    payload["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{base}/ServiceProviderConfig",
    }
    return payload


def schemas(scim: ScimProvider, base: str, plan: Plan) -> list[dict[str, Any]]:
    return [
        _for_plan(_with_meta(_dump(s), "Schema", f"{base}/Schemas/{s.id}"), plan)
        for s in scim.schemas
    ]


def _for_plan(schema: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """seatType's canonicalValues (RFC 7643 §7) are the caller's organization's seat types."""
    if schema["id"] == SEAT_URN:
        for attribute in schema["attributes"]:
            if attribute["name"] == "seatType":
                attribute["canonicalValues"] = [s.id for s in plan.seat_types]
    return schema


def resource_types(scim: ScimProvider, base: str) -> list[dict[str, Any]]:
    return [
        _with_meta(_dump(r), "ResourceType", f"{base}/ResourceTypes/{r.id}")
        for r in scim.resource_types
    ]


def _with_meta(payload: dict[str, Any], resource_type: str, location: str) -> dict[str, Any]:
    payload["meta"] = {"resourceType": resource_type, "location": location}
    return payload
