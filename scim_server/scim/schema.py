"""The resource models this server serves, and what it tolerates from IdPs.

Storage convention (shared by resources.py, filters.py and the repositories):
``UserRow.data`` / ``GroupRow.data`` hold the resource's SCIM JSON document as
scim2-models dumps it (camelCase keys, extensions under their full schema URN),
minus ``schemas``, ``id``, ``meta``, and the relationships that
are stored as rows (a User's ``groups``, a Group's ``members``). ``userName``,
``externalId``, ``displayName`` and ``active`` are both in ``data`` and in
indexed columns, which the writer keeps equal.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, model_validator
from pydantic_core import PydanticCustomError
from scim2_models import (
    ComplexAttribute,
    Email,
    EnterpriseUser,
    Group,
    Mutability,
    Name,
    Returned,
    ScimPolicy,
    User,
)
from scim2_models.resources.resource import Extension
from scim2_models.urn import URN

from .context import enforce_scim_context

SEAT_URN = "urn:ietf:params:scim:schemas:extension:seat:2.0:User"


class SeatUser(Extension):
    """The member's seat (SEATS.md §1, §4). Held in columns, not in ``data``.

    An IdP may request a seat type by writing seatType; with none free the write fails
    like an admin's would. A member with no seat has no seatType (RFC 7643 §2.5:
    unassigned), and removing seatType takes the seat away. seatSource and entitlements
    are the server's to say, returned when asked for (RFC 7643 §7 "request").
    """

    __schema__ = URN(SEAT_URN)

    seat_type: str | None = None
    """The seat type held, one of the organization's plan; absent when none is held."""

    seat_source: Annotated[str | None, Mutability.read_only, Returned.request] = None
    """How the seat came: scim, jit, manual, group_mapping, operator or system."""

    entitlements: Annotated[list[str] | None, Mutability.read_only, Returned.request] = None
    """What the seat type includes, e.g. claude_apps, claude_code."""

    _enforce_scim_context = model_validator(mode="after")(enforce_scim_context)


def email_address(value: str) -> str:
    """An IdP's email address, as RFC 7643 §4.1.2 types it: a string, canonicalized.

    The address is directory data, not a claim that mail is deliverable, and this server
    never mails it. scim2-models types it `EmailStr`, whose validator (email-validator)
    refuses what directories hold and IdPs send: special-use and single-label domains
    (Okta's own test user test.user@okta.local, Active Directory forests named *.local,
    *.corp or CONTOSO), address literals (user@[10.0.0.1]). It also cost a quarter of a
    create's validation. What is checked: a local part, an @ and a domain; the domain is
    lowercased, the canonical form RFC 7643 §4.1.2 gives (bjensen@example.com).
    """
    local, _, domain = value.rpartition("@")
    if not local or not domain or any(c.isspace() for c in domain):
        raise PydanticCustomError(
            "value_error", "'{value}' is not an email address: a local part, @, a domain",
            {"value": value},
        )  # fmt: skip
    return f"{local}@{domain.lower()}"


class DirectoryEmail(Email):
    """scim2-models' Email, with the address as a string (see email_address)."""

    value: Annotated[str, AfterValidator(email_address)] | None = None
    """Email addresses for the user."""

    _enforce_scim_context = model_validator(mode="after")(enforce_scim_context)


class DirectoryName(Name):
    """scim2-models' Name, checked in SCIM contexts by enforce_scim_context."""

    _enforce_scim_context = model_validator(mode="after")(enforce_scim_context)


class DirectoryEnterpriseUser(EnterpriseUser):
    """scim2-models' enterprise extension, checked by enforce_scim_context."""

    _enforce_scim_context = model_validator(mode="after")(enforce_scim_context)


class DirectoryUser(User[DirectoryEnterpriseUser | SeatUser]):
    """The served User: the enterprise and seat extensions, and directory email addresses.

    Its parts are scim2-models' own, narrowed where noted; each is checked in SCIM
    contexts by enforce_scim_context (scim/context.py).
    """

    name: DirectoryName | None = None
    """The components of the user's real name."""

    Name: ClassVar[type[ComplexAttribute]] = DirectoryName

    emails: list[DirectoryEmail] | None = None  # type: ignore[assignment]  # a narrower Email
    """Email addresses for the user."""

    Emails: ClassVar[type[ComplexAttribute]] = DirectoryEmail

    _enforce_scim_context = model_validator(mode="after")(enforce_scim_context)


UserModel: Any = DirectoryUser
GroupModel: Any = Group

ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EXTENSION_URNS = (ENTERPRISE_USER_URN, SEAT_URN)

# What real IdPs send that the strict reading of RFC 7644 refuses:
# - Entra sends extra schema URIs and attributes we do not declare: ignored (and kept out of
#   storage), rather than failing the whole provisioning.
# - Entra removes one member with {"op":"Remove","path":"members","value":[{"value":id}]}.
# - Entra adds through a filtered path that matches nothing yet (emails[type eq "work"].value).
IDP_POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
