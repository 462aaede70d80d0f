"""What Microsoft Entra ID sends, replayed over HTTP against gunicorn, on both databases."""

from __future__ import annotations

import pytest

from conformance import idp

from .live import ScimTarget

pytestmark = pytest.mark.live


def test_entra_test_connection_with_a_random_guid_gets_an_empty_list(
    scim_target: ScimTarget,
) -> None:
    idp.entra_test_connection_finds_no_random_user(scim_target)


def test_entra_creates_a_user_with_a_charset_in_the_content_type(
    scim_target: ScimTarget,
) -> None:
    idp.entra_creates_a_user_with_charset_in_the_content_type(scim_target)


def test_entra_creates_and_replaces_a_user_with_explicit_nulls(scim_target: ScimTarget) -> None:
    idp.entra_creates_and_replaces_a_user_with_explicit_nulls(scim_target)


def test_entra_sends_capitalised_add_replace_and_remove_ops(scim_target: ScimTarget) -> None:
    idp.entra_sends_patch_ops_in_any_case(scim_target)


def test_entra_disables_and_enables_with_active_as_a_string(scim_target: ScimTarget) -> None:
    idp.entra_disables_a_user_with_active_as_the_string_false(scim_target)


def test_entra_replaces_attributes_one_path_each(scim_target: ScimTarget) -> None:
    idp.entra_replaces_attributes_one_path_each(scim_target)


def test_entra_replaces_attributes_with_dotted_keys_in_a_no_path_replace(
    scim_target: ScimTarget,
) -> None:
    idp.entra_replaces_attributes_with_dotted_keys_in_a_no_path_replace(scim_target)


def test_entra_adds_a_work_email_through_a_filter_that_matches_nothing_yet(
    scim_target: ScimTarget,
) -> None:
    idp.entra_adds_a_work_email_through_a_filter_that_matches_nothing_yet(scim_target)


def test_entra_sets_the_manager_as_a_plain_id(scim_target: ScimTarget) -> None:
    idp.entra_sets_the_manager_as_a_plain_id(scim_target)


def test_entra_removing_one_member_by_value_keeps_the_others(scim_target: ScimTarget) -> None:
    idp.entra_removes_only_the_member_named_in_the_value(scim_target)


def test_entra_removes_a_member_with_a_filtered_path(scim_target: ScimTarget) -> None:
    idp.entra_removes_a_member_with_a_filtered_path(scim_target)


def test_entra_creates_a_group_with_the_microsoft_group_schema(scim_target: ScimTarget) -> None:
    idp.entra_creates_a_group_with_its_microsoft_schema(scim_target)


def test_entra_renames_a_group_and_adds_members_with_null_refs(scim_target: ScimTarget) -> None:
    idp.entra_renames_a_group_and_adds_members_with_null_refs(scim_target)


def test_entra_reads_groups_with_members_excluded(scim_target: ScimTarget) -> None:
    idp.entra_gets_groups_without_members(scim_target)


def test_entra_checks_membership_with_an_id_and_members_filter(scim_target: ScimTarget) -> None:
    idp.entra_checks_membership_with_an_id_and_members_filter(scim_target)


def test_entra_looks_up_users_by_external_id_quoted_or_not(scim_target: ScimTarget) -> None:
    idp.entra_looks_up_users_by_external_id(scim_target)


def test_entra_matches_users_on_their_work_email(scim_target: ScimTarget) -> None:
    idp.entra_matches_users_on_their_work_email(scim_target)


def test_entra_still_finds_a_soft_deleted_user(scim_target: ScimTarget) -> None:
    idp.entra_still_returns_a_deactivated_user(scim_target)


def test_entra_renames_a_user_with_a_path_replace_of_username(scim_target: ScimTarget) -> None:
    idp.entra_renames_a_user_with_a_path_replace(scim_target)


def test_entra_deletes_a_user_who_then_leaves_its_groups_and_a_group(
    scim_target: ScimTarget,
) -> None:
    idp.entra_deletes_a_user_and_a_group(scim_target)
