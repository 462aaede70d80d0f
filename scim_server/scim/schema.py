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

from typing import Any

import email_validator
from scim2_models import EnterpriseUser, Group, ScimPolicy, User

UserModel: Any = User[EnterpriseUser]
GroupModel: Any = Group

ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EXTENSION_URNS = (ENTERPRISE_USER_URN,)

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

# An IdP's email is directory data, not a claim that mail is deliverable: RFC 7643 §4.1.2
# asks only for RFC 5321 syntax. email-validator (behind scim2-models' EmailStr) refuses
# special-use domains even with deliverability checks off, which refused Okta's own test
# user (test.user@okta.local) and every Active Directory forest named *.local. The list is
# a setting the library documents as changeable.
email_validator.SPECIAL_USE_DOMAIN_NAMES = [
    name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name != "local"
]
