"""What Okta sends, replayed over HTTP against gunicorn (conformance/idp.py), on both databases."""

from __future__ import annotations

import pytest

from conformance import idp

from .live import ScimTarget

pytestmark = pytest.mark.live


def test_okta_checks_a_username_exists_before_and_after_creating_it_whatever_its_case(
    scim_target: ScimTarget,
) -> None:
    idp.okta_existence_check_by_username(scim_target)


def test_okta_creates_a_user_with_password_groups_and_locale_and_no_content_type(
    scim_target: ScimTarget,
) -> None:
    idp.okta_creates_a_user_without_content_type(scim_target)


def test_okta_creating_an_existing_username_gets_a_uniqueness_conflict(
    scim_target: ScimTarget,
) -> None:
    idp.okta_duplicate_username_is_a_conflict(scim_target)


def test_okta_updates_a_profile_with_a_put_of_the_whole_user(scim_target: ScimTarget) -> None:
    idp.okta_updates_a_profile_with_put(scim_target)


def test_okta_deactivates_with_a_no_path_replace_of_active(scim_target: ScimTarget) -> None:
    idp.okta_deactivates_with_a_no_path_replace_of_active(scim_target)


def test_okta_never_deletes_so_a_deactivated_user_stays_readable(
    scim_target: ScimTarget,
) -> None:
    idp.okta_never_deletes_a_deactivated_user_stays_readable(scim_target)


def test_okta_syncs_a_password_that_is_never_returned(scim_target: ScimTarget) -> None:
    idp.okta_syncs_a_password_with_a_no_path_replace(scim_target)


def test_okta_imports_users_and_groups_page_by_page(scim_target: ScimTarget) -> None:
    idp.okta_imports_users_and_groups_page_by_page(scim_target)


def test_okta_checks_a_group_exists_by_display_name_before_pushing_it(
    scim_target: ScimTarget,
) -> None:
    idp.okta_checks_a_group_exists_by_display_name(scim_target)


def test_okta_renames_a_group_with_the_group_id_in_the_replace_value(
    scim_target: ScimTarget,
) -> None:
    idp.okta_renames_a_group_with_its_id_in_the_value(scim_target)


def test_okta_adds_a_member_with_its_display(scim_target: ScimTarget) -> None:
    idp.okta_adds_a_member_with_its_display(scim_target)


def test_okta_removes_a_member_by_value_filter_and_adds_another_in_one_patch(
    scim_target: ScimTarget,
) -> None:
    idp.okta_removes_a_member_by_filter_and_adds_one_in_one_request(scim_target)


def test_okta_replaces_all_members_of_a_group(scim_target: ScimTarget) -> None:
    idp.okta_replaces_all_members(scim_target)


def test_okta_updates_a_membership_with_a_put_of_the_group(scim_target: ScimTarget) -> None:
    idp.okta_updates_a_membership_with_put(scim_target)


def test_okta_deletes_a_pushed_group_but_not_its_members(scim_target: ScimTarget) -> None:
    idp.okta_unlinks_a_pushed_group_and_deletes_it(scim_target)


def test_okta_reading_an_unknown_user_gets_a_404(scim_target: ScimTarget) -> None:
    idp.okta_gets_an_unknown_user(scim_target)
