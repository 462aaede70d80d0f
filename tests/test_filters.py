"""SCIM filters and sortBy as SQL (RFC 7644 §3.4.2.2, §3.4.2.3), on SQLite and PostgreSQL.

The rows are written as the storage convention of scim_server/scim/schema.py has
them; the filters then run as SQL, and must find what ScimFilter.match finds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scim2_models import (
    Context,
    InvalidFilterException,
    InvalidValueException,
    Path,
    ScimFilter,
    SearchRequest,
    default_comparison_key,
)
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from scim_server.persistence.db import Database
from scim_server.persistence.models import GroupMember, GroupRow, Organization, UserRow
from scim_server.persistence.repositories import GroupRepository, UserRepository
from scim_server.scim.filters import column_equality, filter_clause, parse_filter, sort_keys
from scim_server.scim.schema import ENTERPRISE_USER_URN, GroupModel, UserModel

CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = ENTERPRISE_USER_URN
# What the writer leaves out of ``data`` (schema.py).
NOT_IN_DATA = {"schemas", "id", "meta", "groups", "members", "password"}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def new_organization(session: Any) -> Organization:
    organization = Organization(
        slug=f"org-{uuid.uuid4().hex[:12]}",
        name="Example",
        plan="business",
        term_start=at("2024-01-01"),
        term_end=at("2025-01-01"),
    )
    session.add(organization)
    session.flush()
    return organization


def user_row(org: Organization, doc: dict[str, Any]) -> UserRow:
    """A row as the writer stores it: the model's dump, and the indexed columns."""
    model = UserModel.model_validate(doc)
    dumped = model.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    user_name_key = default_comparison_key(Path[UserModel]("userName").resolve(), doc["userName"])
    return UserRow(
        id=doc["id"],
        org_pk=org.pk,
        user_name=doc["userName"],
        user_name_key=user_name_key,
        external_id=doc.get("externalId"),
        display_name=doc.get("displayName"),
        active=model.active is not False,
        data={k: v for k, v in dumped.items() if k not in NOT_IN_DATA},
        created=model.meta.created,
        last_modified=model.meta.last_modified,
    )


def group_row(org: Organization, group_id: str, display_name: str, **when: datetime) -> GroupRow:
    binding = Path[GroupModel]("displayName").resolve()
    return GroupRow(
        id=group_id,
        org_pk=org.pk,
        display_name=display_name,
        display_name_key=default_comparison_key(binding, display_name),
        external_id=None,
        data={"displayName": display_name},
        **when,
    )


def user_doc(user_id: str, created: str, modified: str, **attributes: Any) -> dict[str, Any]:
    meta = {"resourceType": "User", "created": created, "lastModified": modified}
    schemas = [CORE_USER_URN] + ([ENTERPRISE] if ENTERPRISE in attributes else [])
    return {"schemas": schemas, "id": user_id, "meta": meta, **attributes}


# ---- a small directory: four users, three groups

ALICE = user_doc(
    "u-alice",
    "2024-01-01T00:00:00Z",
    "2024-06-01T00:00:00Z",
    userName="alice",
    displayName="Alice Liddell",
    externalId="EXT-1",
    active=True,
    name={"givenName": "Alice", "familyName": "Liddell"},
    title="Engineer",
    emails=[
        {"value": "alice@work.example", "type": "work", "primary": True},
        {"value": "alice@home.example", "type": "home"},
    ],
    **{ENTERPRISE: {"employeeNumber": "701", "manager": {"value": "u-carol"}}},
)
BOB = user_doc(
    "u-bob",
    "2024-02-01T00:00:00Z",
    "2024-02-01T00:00:00Z",
    userName="Bob",
    displayName="bob",
    externalId="ext-1",
    active=False,
    name={"familyName": "Builder"},
    title="50%_off",
    emails=[{"value": "bob@work.example", "type": "work"}],
)
CAROL = user_doc(
    "u-carol",
    "2024-03-01T00:00:00Z",
    "2024-07-01T00:00:00Z",
    userName="carol@example.com",
    active=True,
    title="",
    x509Certificates=[{"value": "aGVsbG8="}],
    **{ENTERPRISE: {"employeeNumber": "702"}},
)
DAVE = user_doc(
    "u-dave",
    "2024-03-01T00:00:00Z",
    "2024-03-01T12:00:00Z",
    userName="dave",
    displayName="Dave",
    externalId="x_1",
    title="C:\\dir [1]*?",
    emails=[
        {"value": "dave@home.example", "type": "home"},
        {"value": "dave@work.example", "type": "work", "primary": False},
    ],
)
EVERYONE = {"u-alice", "u-bob", "u-carol", "u-dave"}


@dataclass
class Directory:
    db: Database
    org_pk: int

    def users(self, text: str) -> set[str]:
        clause = filter_clause(text, "User", self.db.dialect)
        query = select(UserRow.id).where(UserRow.org_pk == self.org_pk, clause)
        with self.db.unit_of_work() as session:
            return set(session.scalars(query))

    def groups(self, text: str) -> set[str]:
        clause = filter_clause(text, "Group", self.db.dialect)
        query = select(GroupRow.id).where(GroupRow.org_pk == self.org_pk, clause)
        with self.db.unit_of_work() as session:
            return set(session.scalars(query))

    def looked_up(self, text: str, resource: str = "User") -> list[str] | None:
        """What the lookup shortcut finds (ids in its order), None if it does not apply."""
        equality = column_equality(text, resource)
        if equality is None:
            return None
        repository = UserRepository if resource == "User" else GroupRepository
        with self.db.reading() as connection:
            rows = repository(connection, self.org_pk).page_equal(
                equality.column, equality.key, 0, 100
            )
        return [row.id for row in rows]

    def sorted_users(self, sort_by: str | None, sort_order: str | None = None) -> list[str]:
        keys = sort_keys(sort_by, sort_order, "User", self.db.dialect)
        query = select(UserRow.id).where(UserRow.org_pk == self.org_pk).order_by(*keys)
        with self.db.unit_of_work() as session:
            return list(session.scalars(query))


@pytest.fixture
def directory(db: Database) -> Iterator[Directory]:
    with db.unit_of_work(write=True) as session:
        org = new_organization(session)
        users = {doc["id"]: user_row(org, doc) for doc in (ALICE, BOB, CAROL, DAVE)}
        session.add_all(users.values())
        when = {"created": at("2024-01-01"), "last_modified": at("2024-01-01")}
        groups = {
            gid: group_row(org, gid, name, **when)
            for gid, name in (("g-eng", "Engineering"), ("g-ops", "Ops"), ("g-empty", "Empty"))
        }
        session.add_all(groups.values())
        session.flush()
        for gid, uid, display in (
            ("g-eng", "u-alice", None),
            ("g-eng", "u-bob", "Bobby B."),  # the display the client gave the member
            ("g-ops", "u-carol", None),
        ):
            link = GroupMember(group_pk=groups[gid].pk, user_pk=users[uid].pk, display=display)
            session.add(link)
    yield Directory(db, org.pk)


# ---- comparisons on indexed columns


def test_username_equality_is_case_insensitive(directory: Directory) -> None:
    assert directory.users('userName eq "ALICE"') == {"u-alice"}
    assert directory.users('userName eq "bob"') == {"u-bob"}


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()])
def test_username_equality_is_a_lookup_of_the_indexed_key(dialect: Any) -> None:
    clause = filter_clause('userName eq "ALICE"', "User", dialect.name)
    sql = str(clause.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    assert "users.user_name_key = 'alice'" in sql
    assert "data" not in sql


def test_external_id_equality_is_case_exact(directory: Directory) -> None:
    assert directory.users('externalId eq "EXT-1"') == {"u-alice"}
    assert directory.users('externalId eq "ext-1"') == {"u-bob"}
    assert directory.users('externalId sw "EXT"') == {"u-alice"}
    assert directory.users('externalId co "t-"') == {"u-bob"}


def test_id_equality_finds_one_user(directory: Directory) -> None:
    assert directory.users('id eq "u-dave"') == {"u-dave"}
    assert directory.users('id eq "U-DAVE"') == set()


def test_display_name_is_case_insensitive_for_users_and_groups(directory: Directory) -> None:
    assert directory.users('displayName eq "BOB"') == {"u-bob"}
    assert directory.users('displayName sw "alice l"') == {"u-alice"}
    assert directory.groups('displayName eq "engineering"') == {"g-eng"}
    assert directory.groups('displayName co "PS"') == {"g-ops"}


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "ALICE"',
        'USERNAME EQ "carol@example.com"',
        'userName eq "nobody"',
        '  externalId eq "ext-1" ',
        'externalId eq "EXT-1"',
        'externalid eq "x_1"',
        'id eq "u-dave"',
        'id eq "U-DAVE"',
    ],
)
def test_the_lookup_shortcut_finds_what_the_filter_finds(directory: Directory, text: str) -> None:
    found = directory.looked_up(text)
    assert found is not None
    assert set(found) == directory.users(text)


def test_the_lookup_shortcut_finds_groups_by_display_name_in_any_case(
    directory: Directory,
) -> None:
    assert directory.looked_up('displayName eq "ENGINEERING"', "Group") == ["g-eng"]
    assert directory.looked_up('externalId eq "x"', "Group") == []


@pytest.mark.parametrize(
    "text",
    [
        'displayName eq "bob"',  # a User's displayName: its column holds no comparison key
        'userName eq "a\\"b"',  # an escape: the parser decodes it
        'userName co "ali"',
        'userName eq "alice" and active eq true',
        "userName eq null",
        "externalId eq 1a2b",  # Entra's unquoted form: filter_clause quotes it
        'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice"',
        'title eq "engineer"',
    ],
)
def test_the_lookup_shortcut_leaves_every_other_filter_to_the_translation(text: str) -> None:
    assert column_equality(text, "User") is None


def test_the_lookup_shortcut_lists_several_matches_in_creation_order(
    db: Database, directory: Directory
) -> None:
    with db.unit_of_work(write=True) as session:
        org = session.get(Organization, directory.org_pk)
        assert org is not None
        for n, created in enumerate(("2024-05-03", "2024-05-01", "2024-05-02")):
            doc = user_doc(f"u-same-{n}", f"{created}T00:00:00Z", f"{created}T00:00:00Z")
            session.add(user_row(org, {**doc, "userName": f"same{n}", "externalId": "shared"}))
    found = directory.looked_up('externalId eq "shared"')
    assert found == ["u-same-1", "u-same-2", "u-same-0"]
    # The order of a list without sortBy (filters.sort_keys).
    assert found == [u for u in directory.sorted_users(None) if u.startswith("u-same")]


def test_active_compares_as_a_boolean(directory: Directory) -> None:
    assert directory.users("active eq false") == {"u-bob"}
    assert directory.users("active eq true") == {"u-alice", "u-carol"}


def test_an_unassigned_active_is_null_though_its_column_says_true(
    directory: Directory,
) -> None:
    # Dave never sent active: RFC 7643 §4.1.1 gives it no default, and he is shown without one.
    assert directory.users("active eq null") == {"u-dave"}
    assert directory.users("active pr") == EVERYONE - {"u-dave"}
    assert directory.users("active ne false") == EVERYONE - {"u-bob"}


# ---- every operator on strings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('title eq "engineer"', {"u-alice"}),
        ('title ne "engineer"', {"u-bob", "u-carol", "u-dave"}),
        ('title co "GIN"', {"u-alice"}),
        ('title sw "eng"', {"u-alice"}),
        ('title ew "NEER"', {"u-alice"}),
        ('name.familyName gt "LIDDELL"', set()),
        ('name.familyName ge "LIDDELL"', {"u-alice"}),
        ('name.familyName lt "c"', {"u-bob"}),
        ('name.familyName le "builder"', {"u-bob"}),
        ('userName gt "C"', {"u-carol", "u-dave"}),
    ],
)
def test_string_operators_follow_rfc_7644(
    directory: Directory, text: str, expected: set[str]
) -> None:
    assert directory.users(text) == expected


def test_pattern_characters_in_values_are_literal_text(directory: Directory) -> None:
    assert directory.users('title co "%_"') == {"u-bob"}
    assert directory.users('title co "_"') == {"u-bob"}
    assert directory.users('title co "%"') == {"u-bob"}
    assert directory.users('title ew "*?"') == {"u-dave"}
    assert directory.users('title co "[1]"') == {"u-dave"}
    assert directory.users('title sw "c:\\\\dir"') == {"u-dave"}
    assert directory.users('title co "?"') == {"u-dave"}


def test_presence_requires_a_non_empty_value(directory: Directory) -> None:
    assert directory.users("title pr") == {"u-alice", "u-bob", "u-dave"}
    assert directory.users("externalId pr") == {"u-alice", "u-bob", "u-dave"}
    assert directory.users("name pr") == {"u-alice", "u-bob"}
    assert directory.users("emails pr") == {"u-alice", "u-bob", "u-dave"}
    assert directory.users("meta pr") == EVERYONE


def test_null_equality_finds_unassigned_values(directory: Directory) -> None:
    assert directory.users("displayName eq null") == {"u-carol"}
    assert directory.users("displayName ne null") == EVERYONE - {"u-carol"}
    assert directory.users("emails.value eq null") == {"u-carol"}
    assert directory.users("emails ne null") == EVERYONE - {"u-carol"}
    assert directory.users("title gt null") == set()


def test_ne_finds_users_lacking_the_attribute(directory: Directory) -> None:
    assert directory.users('name.givenName ne "alice"') == EVERYONE - {"u-alice"}


# ---- logic


def test_and_binds_tighter_than_or(directory: Directory) -> None:
    text = 'userName eq "bob" or userName eq "alice" and active eq false'
    assert directory.users(text) == {"u-bob"}


def test_parentheses_group_expressions(directory: Directory) -> None:
    text = '(userName eq "bob" or userName eq "alice") and active eq true'
    assert directory.users(text) == {"u-alice"}
    text = 'userName eq "bob" or (userName eq "alice" and active eq true)'
    assert directory.users(text) == {"u-alice", "u-bob"}


def test_not_negates_exactly_even_over_missing_values(directory: Directory) -> None:
    # Carol has no name: SQL's NULL would drop her from both sides of the negation.
    assert directory.users('not (name.givenName eq "alice")') == EVERYONE - {"u-alice"}
    assert directory.users('not (name.givenName ne "alice")') == {"u-alice"}
    assert directory.users('not (title co "e") and not (emails pr)') == {"u-carol"}


# ---- multi-valued attributes


def test_a_sub_attribute_matches_when_any_value_matches(directory: Directory) -> None:
    assert directory.users('emails.value eq "ALICE@home.example"') == {"u-alice"}
    assert directory.users('emails co "work.example"') == {"u-alice", "u-bob", "u-dave"}
    assert directory.users('emails.type eq "home"') == {"u-alice", "u-dave"}


def test_ne_on_a_multi_valued_attribute_requires_that_no_value_be_equal(
    directory: Directory,
) -> None:
    assert directory.users('emails.type ne "home"') == {"u-bob", "u-carol"}


def test_a_value_path_needs_one_value_meeting_every_condition(directory: Directory) -> None:
    assert directory.users('emails[type eq "work" and value co "home"]') == set()
    assert directory.users('emails[type eq "home" and value sw "alice"]') == {"u-alice"}
    assert directory.users('emails[not (type eq "work") or value pr]') == {
        "u-alice",
        "u-bob",
        "u-dave",
    }


def test_primary_compares_as_a_json_boolean(directory: Directory) -> None:
    assert directory.users("emails[primary eq true]") == {"u-alice"}
    assert directory.users("emails[primary eq false]") == {"u-dave"}
    assert directory.users("emails[primary pr]") == {"u-alice", "u-dave"}
    assert directory.users("emails.primary ne true") == EVERYONE - {"u-alice"}


def test_the_entra_value_path_with_a_sub_attribute_reads_as_one_condition(
    directory: Directory,
) -> None:
    text = 'emails[type eq "work"].value eq "dave@work.example"'
    assert directory.users(text) == {"u-dave"}
    assert directory.users('emails[type eq "home"].value eq "dave@work.example"') == set()


def test_an_empty_array_is_the_same_state_as_an_unassigned_attribute(
    directory: Directory,
) -> None:
    # RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array ... SHALL
    # be considered to be equivalent in "state"".
    with directory.db.unit_of_work(write=True) as session:
        org = session.get(Organization, directory.org_pk)
        erin = user_row(
            org, user_doc("u-erin", "2024-04-01T00:00:00Z", "2024-04-01T00:00:00Z", userName="erin")
        )
        erin.data = {**erin.data, "emails": []}
        session.add(erin)
    assert directory.users("emails eq null") == {"u-carol", "u-erin"}
    assert "u-erin" not in directory.users("emails ne null")
    assert "u-erin" not in directory.users("emails pr")


def test_binary_values_compare_as_their_base64_text(directory: Directory) -> None:
    assert directory.users('x509Certificates eq "aGVsbG8="') == {"u-carol"}
    assert directory.users('x509Certificates.value ne "aGVsbG8="') == EVERYONE - {"u-carol"}
    assert directory.users("x509Certificates pr") == {"u-carol"}


# ---- qualified paths and meta


def test_enterprise_attributes_are_read_under_their_urn(directory: Directory) -> None:
    assert directory.users(f'{ENTERPRISE}:employeeNumber eq "702"') == {"u-carol"}
    assert directory.users(f'{ENTERPRISE}:manager.value eq "u-carol"') == {"u-alice"}
    assert directory.users(f"{ENTERPRISE}:manager pr") == {"u-alice"}
    assert directory.users(f'{ENTERPRISE}:manager.value eq "U-CAROL"') == set()


def test_core_attributes_may_be_qualified_by_the_core_urn(directory: Directory) -> None:
    assert directory.users(f'{CORE_USER_URN}:userName eq "Dave"') == {"u-dave"}
    assert directory.users(f'{CORE_USER_URN}:name.familyName sw "b"') == {"u-bob"}


def test_schemas_lists_the_extensions_a_user_has(directory: Directory) -> None:
    assert directory.users(f'schemas eq "{ENTERPRISE}"') == {"u-alice", "u-carol"}
    assert directory.users(f'schemas eq "{CORE_USER_URN}"') == EVERYONE


def test_meta_dates_compare_as_instants(directory: Directory) -> None:
    assert directory.users('meta.created gt "2024-02-01T00:00:00Z"') == {"u-carol", "u-dave"}
    assert directory.users('meta.created ge "2024-02-01T00:00:00Z"') == {
        "u-bob",
        "u-carol",
        "u-dave",
    }
    assert directory.users('meta.created eq "2024-03-01T01:00:00+01:00"') == {"u-carol", "u-dave"}
    assert directory.users('meta.lastModified lt "2024-03-01T12:00:00Z"') == {"u-bob"}
    assert directory.users('meta.lastModified le "2024-03-01T12:00:00Z"') == {"u-bob", "u-dave"}
    assert directory.users('meta.created co "2024"') == set()


def test_meta_resource_type_is_the_table_resource_type(directory: Directory) -> None:
    assert directory.users('meta.resourceType eq "User"') == EVERYONE
    assert directory.groups('meta.resourceType eq "User"') == set()
    assert directory.groups('meta.resourceType eq "Group"') == {"g-eng", "g-ops", "g-empty"}


# ---- memberships


def test_group_members_are_filtered_through_membership_rows(directory: Directory) -> None:
    assert directory.groups('members eq "u-bob"') == {"g-eng"}
    assert directory.groups('members.value eq "u-carol"') == {"g-ops"}
    assert directory.groups('members[value eq "u-alice"]') == {"g-eng"}
    assert directory.groups('members.display co "ALICE"') == {"g-eng"}
    assert directory.groups("members pr") == {"g-eng", "g-ops"}
    assert directory.groups("not (members pr)") == {"g-empty"}
    assert directory.groups('members ne "u-bob"') == {"g-ops", "g-empty"}


def test_member_display_is_the_one_a_group_shows(directory: Directory) -> None:
    # The client's display, else the user's displayName, else userName (repositories).
    assert directory.groups('members.display eq "bobby b."') == {"g-eng"}
    assert directory.groups('members.display eq "bob"') == set()
    assert directory.groups('members[display sw "carol@"]') == {"g-ops"}


def test_entra_asks_whether_a_user_is_a_member_of_a_group(directory: Directory) -> None:
    assert directory.groups('id eq "g-eng" and members eq "u-alice"') == {"g-eng"}
    assert directory.groups('id eq "g-eng" and members eq "u-carol"') == set()


def test_user_groups_are_filtered_through_membership_rows(directory: Directory) -> None:
    assert directory.users('groups eq "g-eng"') == {"u-alice", "u-bob"}
    assert directory.users('groups.value eq "g-ops"') == {"u-carol"}
    assert directory.users('groups.display eq "ENGINEERING"') == {"u-alice", "u-bob"}
    assert directory.users('groups[display sw "op"]') == {"u-carol"}
    assert directory.users('groups[type eq "direct"]') == {"u-alice", "u-bob", "u-carol"}
    assert directory.users("not (groups pr)") == {"u-dave"}


# ---- what Entra sends


def test_unquoted_entra_values_are_read_as_strings(directory: Directory) -> None:
    assert directory.users("externalId eq EXT-1") == {"u-alice"}
    assert directory.users("userName eq carol@example.com") == {"u-carol"}
    assert directory.users("userName eq carol@example.com and active eq true") == {"u-carol"}
    assert directory.groups("displayName eq Ops") == {"g-ops"}


def test_quoting_unquoted_values_leaves_quoted_strings_and_literals_alone(
    directory: Directory,
) -> None:
    text = 'title eq "a eq b" or externalId eq x_1 or active eq false'
    assert directory.users(text) == {"u-dave", "u-bob"}


# ---- refusals


@pytest.mark.parametrize(
    "text",
    [
        "",
        'userName eq "unterminated',
        "userName eq",
        "(userName pr",
        'userName xx "a"',
        'nickname eq "a" and',
        'unknownAttribute eq "x"',
        'name.nope eq "x"',
        "active gt true",
        'emails.primary co "t"',
        'x509Certificates.value co "a"',
        'x509Certificates.value eq "not base64!"',
        'emails[nope eq "x"]',
        'emails[value.sub eq "x"]',
        'name[givenName eq "x"]',
        'name eq "x"',
        'password eq "secret"',
        'meta.version eq "W/\\"1\\""',
        'meta.location eq "https://x"',
        'meta.created gt "2024-01-01T00:00:00"',
        'meta.created gt "yesterday"',
        "emails.value eq 12",
        'urn:example:unknown:User:userName eq "x"',
        'EnterpriseUser.employeeNumber eq "1"',
        'groups.$ref eq "x"',
        "externalId eq some value",
    ],
)
def test_invalid_filters_are_refused_as_invalid_filter(text: str) -> None:
    with pytest.raises(InvalidFilterException) as refused:
        parse_filter(text, "User")
    assert refused.value.scim_type == "invalidFilter"
    assert refused.value.detail
    for dialect in ("sqlite", "postgresql"):
        with pytest.raises(InvalidFilterException):
            filter_clause(text, "User", dialect)


def test_a_refused_unquoted_value_reports_the_original_syntax_error() -> None:
    with pytest.raises(InvalidFilterException) as refused:
        parse_filter("externalId eq some value", "User")
    assert "column" in refused.value.detail


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (
            'userName like "a"',
            "invalid syntax at column 10: 'like' is not an operator; "
            "the operators are eq, ne, co, sw, ew, gt, ge, lt, le, pr",
        ),
        (
            'emails[type == "work"]',
            "invalid syntax at column 13: '==' is not an operator; "
            "the operators are eq, ne, co, sw, ew, gt, ge, lt, le, pr",
        ),
        (
            "userName eq",
            'invalid syntax: the filter ends where a value ("a string", a number, true, '
            "false, null) was expected",
        ),
        (
            'userName eq "a" xor title pr',
            "invalid syntax at column 17: 'xor' where 'and' or 'or' was expected",
        ),
        (
            '(userName eq "a"',
            "invalid syntax: the filter ends where ')' was expected",
        ),
        (
            'emails[type eq "work"',
            "invalid syntax: the filter ends where 'and', 'or' or ']' was expected",
        ),
        (
            'userName eq "a")',
            "invalid syntax at column 16: ')' after a complete filter",
        ),
        (
            'not userName eq "a"',
            "invalid syntax at column 5: 'userName' where '(' was expected",
        ),
        (
            'userName eq "open',
            "invalid syntax at column 13: '\"open' is not a string: "
            "one ends with '\"' and escapes as JSON does",
        ),
    ],
)
def test_a_syntax_error_names_what_was_found_and_what_was_expected(text: str, detail: str) -> None:
    with pytest.raises(InvalidFilterException) as refused:
        parse_filter(text, "User")
    assert refused.value.detail == detail


def test_group_filters_resolve_against_the_group_schema() -> None:
    with pytest.raises(InvalidFilterException):
        parse_filter('userName eq "x"', "Group")
    assert str(parse_filter('members[value eq "x"]', "Group")) == 'members[value eq "x"]'


def test_filter_text_of_any_shape_is_translated_or_refused_as_invalid_filter() -> None:
    tokens = st.sampled_from(
        [
            *("userName", "emails", "emails.value", "members", "meta.created", "name", "active"),
            *("eq", "ne", "co", "gt", "pr", "and", "or", "not", "(", ")", "[", "]", ".value"),
            *('"x"', "true", "null", "12", "x@y.z", "type", "primary", " "),
        ]
    )

    @given(st.lists(tokens, max_size=8).map(" ".join), st.sampled_from(["User", "Group"]))
    @settings(max_examples=200, deadline=None)
    def check(text: str, resource: str) -> None:
        for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
            try:
                clause = filter_clause(text, resource, dialect.name)
            except InvalidFilterException:
                continue
            clause.compile(dialect=dialect)

    check()


# ---- sorting


def test_without_sort_by_users_come_in_creation_order(directory: Directory) -> None:
    # Carol and Dave share a creation instant: the pk breaks the tie.
    assert directory.sorted_users(None) == ["u-alice", "u-bob", "u-carol", "u-dave"]


def test_sorting_by_username_ignores_case(directory: Directory) -> None:
    assert directory.sorted_users("userName") == ["u-alice", "u-bob", "u-carol", "u-dave"]
    assert directory.sorted_users("userName", "descending") == [
        "u-dave",
        "u-carol",
        "u-bob",
        "u-alice",
    ]


def test_users_without_the_value_sort_last_ascending_and_first_descending(
    directory: Directory,
) -> None:
    assert directory.sorted_users("displayName") == ["u-alice", "u-bob", "u-dave", "u-carol"]
    assert directory.sorted_users("displayName", "descending") == [
        "u-carol",
        "u-dave",
        "u-bob",
        "u-alice",
    ]
    assert directory.sorted_users("name.familyName")[-2:] == ["u-carol", "u-dave"]


def test_equal_sort_values_keep_pk_order_both_ways(directory: Directory) -> None:
    # Alice and Carol are both active; Dave has no active, so he is last, then first.
    assert directory.sorted_users("active") == ["u-bob", "u-alice", "u-carol", "u-dave"]
    assert directory.sorted_users("active", "descending") == [
        "u-dave",
        "u-alice",
        "u-carol",
        "u-bob",
    ]


def test_a_multi_valued_attribute_sorts_by_its_primary_value_else_its_first(
    directory: Directory,
) -> None:
    # Alice's primary is alice@work, Dave has no primary: his first is dave@home.
    assert directory.sorted_users("emails") == ["u-alice", "u-bob", "u-dave", "u-carol"]
    assert directory.sorted_users("emails.type") == ["u-dave", "u-alice", "u-bob", "u-carol"]


def test_sorting_by_dates_and_extension_attributes(directory: Directory) -> None:
    assert directory.sorted_users("meta.lastModified", "descending") == [
        "u-carol",
        "u-alice",
        "u-dave",
        "u-bob",
    ]
    assert directory.sorted_users(f"{ENTERPRISE}:employeeNumber", "descending") == [
        "u-bob",
        "u-dave",
        "u-carol",
        "u-alice",
    ]


@pytest.mark.parametrize(
    "sort_by",
    [
        "nope",
        "name",
        "password",
        "x509Certificates",
        "groups",
        'emails[type eq "work"]',
        "meta.version",
        "",
    ],
)
def test_unsortable_sort_by_is_an_invalid_value(sort_by: str) -> None:
    with pytest.raises(InvalidValueException) as refused:
        sort_keys(sort_by, None, "User", "sqlite")
    assert refused.value.scim_type == "invalidValue"
    assert refused.value.detail


def test_sort_order_must_be_ascending_or_descending() -> None:
    with pytest.raises(InvalidValueException):
        sort_keys("userName", "upwards", "User", "postgresql")


def test_sorting_groups_by_display_name(directory: Directory) -> None:
    keys = sort_keys("displayName", "ascending", "Group", directory.db.dialect)
    query = select(GroupRow.id).where(GroupRow.org_pk == directory.org_pk).order_by(*keys)
    with directory.db.unit_of_work() as session:
        assert list(session.scalars(query)) == ["g-empty", "g-eng", "g-ops"]


# ---- SQL finds what ScimFilter.match finds
#
# The vocabulary is ASCII: SQLite's lower() folds ASCII only, where match() folds
# all of Unicode, so non-ASCII case-insensitive comparisons are a known difference.
# Multi-valued attributes are never empty lists: RFC 7643 §2.5 makes [] the same
# state as unassigned, which this server follows and match() does not ("emails eq
# null" differs); the writer's dump never stores one anyway.

WORDS = ["alpha", "Alpha", "ALPHA beta", "beta", "50%_off", "a_b", "", "x*y?[z]", "back\\slash"]
FRAGMENTS = ["a", "AL", "%", "_", "*", "?", "[", "\\", "", "beta", "x"]
EMAILS = ["a@x.example", "B@x.example", "b@y.example", "c@z.example"]
TYPES = ["work", "home", "Work", "other"]
INSTANTS = ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-02T01:00:00+01:00"]
STRING_ATTRIBUTES = [
    "userName",
    "displayName",
    "title",
    "nickName",
    "externalId",
    "name.givenName",
    "name.familyName",
    f"{ENTERPRISE}:employeeNumber",
    f"{ENTERPRISE}:manager.value",
]
ORDERING = ["eq", "ne", "gt", "ge", "lt", "le"]
SUBSTRING = ["co", "sw", "ew"]


def quoted(value: str) -> str:
    return str(ScimFilter.quote(value))


def compare(attributes: list[str], values: list[str]) -> st.SearchStrategy[str]:
    ordered = st.tuples(
        st.sampled_from(attributes),
        st.sampled_from(ORDERING),
        st.sampled_from(values).map(quoted) | st.just("null"),
    )
    substring = st.tuples(
        st.sampled_from(attributes),
        st.sampled_from(SUBSTRING),
        st.sampled_from(FRAGMENTS + values).map(quoted),
    )
    return (ordered | substring).map(" ".join)


def booleans(attributes: list[str]) -> st.SearchStrategy[str]:
    parts = st.tuples(
        st.sampled_from(attributes),
        st.sampled_from(["eq", "ne"]),
        st.sampled_from(["true", "false", "null"]),
    )
    return parts.map(" ".join)


def present(attributes: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(attributes).map(lambda attribute: f"{attribute} pr")


inner_filters = st.recursive(
    compare(["value"], EMAILS)
    | compare(["type"], TYPES)
    | booleans(["primary"])
    | present(["value", "type", "primary", "display"]),
    lambda inner: (
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join)
        | inner.map(lambda f: f"not ({f})")
    ),
    max_leaves=3,
)

leaf_filters = st.one_of(
    compare([*STRING_ATTRIBUTES, "id"], [*WORDS, "u0", "u1"]),
    compare(["emails", "emails.value"], EMAILS),
    compare(["emails.type"], TYPES),
    compare(["meta.created", "meta.lastModified"], INSTANTS),
    booleans(["active", "emails.primary"]),
    present([*STRING_ATTRIBUTES, "name", "emails", "emails.type", "emails.primary", "meta"]),
    present([f"{ENTERPRISE}:manager", "active", "schemas"]),
    st.sampled_from([CORE_USER_URN, ENTERPRISE]).map(lambda urn: f'schemas eq "{urn}"'),
    inner_filters.map(lambda f: f"emails[{f}]"),
    st.tuples(st.sampled_from(TYPES), st.sampled_from(EMAILS)).map(
        lambda pair: f'emails[type eq "{pair[0]}"].value eq "{pair[1]}"'
    ),
)

filters = st.recursive(
    leaf_filters,
    lambda inner: (
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        )
        | inner.map(lambda f: f"not ({f})")
    ),
    max_leaves=4,
)

# Never {}: the dump the writer stores drops an empty complex value, which match() keeps.
emails = st.fixed_dictionaries(
    {},
    optional={
        "value": st.sampled_from(EMAILS),
        "type": st.sampled_from(TYPES),
        "primary": st.booleans(),
    },
).filter(bool)


def random_user(index: int) -> st.SearchStrategy[dict[str, Any]]:
    words = st.sampled_from(WORDS)
    enterprise = st.fixed_dictionaries(
        {"employeeNumber": words},
        optional={"manager": st.fixed_dictionaries({"value": words})},
    )
    attributes = st.fixed_dictionaries(
        {
            "userName": st.sampled_from(["alpha", "Beta", "a_b"]).map(lambda n: f"{n}{index}"),
            "created": st.sampled_from(INSTANTS),
            "modified": st.sampled_from(INSTANTS),
        },
        optional={
            "active": st.booleans(),
            "displayName": words,
            "title": words,
            "nickName": words,
            "externalId": words,
            "name": st.fixed_dictionaries({}, optional={"givenName": words, "familyName": words}),
            "emails": st.lists(emails, min_size=1, max_size=3),
            ENTERPRISE: enterprise,
        },
    )
    return attributes.map(lambda a: user_doc(f"u{index}", a.pop("created"), a.pop("modified"), **a))


def random_users() -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.integers(1, 5).flatmap(lambda n: st.tuples(*(random_user(i) for i in range(n))))


@contextmanager
def stored(db: Database, docs: list[dict[str, Any]]) -> Iterator[int]:
    """The users of one example, in an organization deleted afterwards: ids are global."""
    with db.unit_of_work(write=True) as session:
        org = new_organization(session)
        session.add_all(user_row(org, doc) for doc in docs)
    try:
        yield org.pk
    finally:
        with db.unit_of_work(write=True) as session:
            session.execute(delete(Organization).where(Organization.pk == org.pk))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=random_users(), texts=st.lists(filters, min_size=1, max_size=4))
def test_sql_finds_what_scim_filter_match_finds(
    db: Database, docs: list[dict[str, Any]], texts: list[str]
) -> None:
    models = [UserModel.model_validate(doc) for doc in docs]
    with stored(db, docs) as org_pk:
        for text in texts:
            try:
                in_memory = ScimFilter[UserModel](text)
            except InvalidFilterException:
                with pytest.raises(InvalidFilterException):
                    filter_clause(text, "User", db.dialect)
                continue
            expected = {model.id for model in models if in_memory.match(model)}
            clause = filter_clause(text, "User", db.dialect)
            query = select(UserRow.id).where(UserRow.org_pk == org_pk, clause)
            with db.unit_of_work() as session:
                assert set(session.scalars(query)) == expected, text


SORTABLE = [
    "userName",
    "displayName",
    "title",
    "externalId",
    "name.familyName",
    "emails",
    "emails.type",
    "emails.primary",
    "active",
    "meta.created",
    "meta.lastModified",
    f"{ENTERPRISE}:employeeNumber",
]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    docs=random_users(),
    sort_by=st.sampled_from(SORTABLE),
    sort_order=st.sampled_from(["ascending", "descending"]),
)
def test_sql_sorts_as_search_request_sort_does(
    db: Database, docs: list[dict[str, Any]], sort_by: str, sort_order: str
) -> None:
    request = SearchRequest[UserModel](sort_by=sort_by, sort_order=sort_order)
    # Python's sort is stable in both directions, so ties keep pk order, as in SQL.
    expected = [model.id for model in request.sort(UserModel.model_validate(d) for d in docs)]
    keys = sort_keys(sort_by, sort_order, "User", db.dialect)
    with stored(db, docs) as org_pk:
        query = select(UserRow.id).where(UserRow.org_pk == org_pk).order_by(*keys)
        with db.unit_of_work() as session:
            assert list(session.scalars(query)) == expected
