"""People, not UUIDs: the audit log and a group mapping name the members they concern by
userName and display name, beside their ids (SEATS.md §8)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from scim_server.services import group_mappings

from .admin_client import Org, acme, add_member

__all__ = ["acme"]  # fixtures, imported to be used here

MAPPING = {"plan": "enterprise", "rules": [{"group": "Staff", "seat_type": "chat"}]}


def test_an_audit_event_names_its_actor_and_its_subject_beside_their_ids(acme: Org) -> None:
    ada = add_member(acme, "ada@acme.example", role="admin", displayName="Ada Lovelace")
    ben = add_member(acme, "ben@acme.example", displayName="Ben Ito")
    acme.call(ada.token, "PATCH", f"/members/{ben.id}", {"seat_type": "chat"})
    query = {"action": "seat.changed", "member": ben.id, "source": "admin_api"}
    (event,) = acme.call(ada.token, "GET", "/audit-events", query=query).json["events"]
    assert (event["actor"], event["actor_user_name"], event["actor_display_name"]) == (
        ada.id, "ada@acme.example", "Ada Lovelace",
    )  # fmt: skip
    assert (event["subject_id"], event["subject_user_name"], event["subject_display_name"]) == (
        ben.id, "ben@acme.example", "Ben Ito",
    )  # fmt: skip
    exported = acme.call(ada.token, "GET", "/audit-events", query={**query, "format": "jsonl"})
    assert [json.loads(line) for line in exported.get_data(as_text=True).splitlines()] == [event]


def test_the_csv_export_has_each_members_names_in_the_columns_beside_their_ids(acme: Org) -> None:
    ada = add_member(acme, "ada@acme.example", role="admin", displayName="Ada Lovelace")
    ben = add_member(acme, "ben@acme.example")
    acme.call(ada.token, "PATCH", f"/members/{ben.id}", {"role": "admin"})
    query = {"format": "csv", "action": "role.changed"}
    text = acme.call(ada.token, "GET", "/audit-events", query=query).get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(text))
    assert (row["actor"], row["actor_user_name"], row["actor_display_name"]) == (
        ada.id, "ada@acme.example", "Ada Lovelace",
    )  # fmt: skip
    # No display name is an empty cell, like every other null of the export.
    assert (row["subject_id"], row["subject_user_name"], row["subject_display_name"]) == (
        ben.id, "ben@acme.example", "",
    )  # fmt: skip


def test_the_csv_export_writes_a_name_a_spreadsheet_would_run_as_text(acme: Org) -> None:
    """OWASP's CSV injection: a cell beginning with = + - @ is written after an apostrophe."""
    ada = add_member(acme, "ada@acme.example", role="admin", displayName="=HYPERLINK(1)")
    ben = add_member(acme, "+ben@acme.example", displayName="@SUM(A1)")
    acme.call(ada.token, "PATCH", f"/members/{ben.id}", {"role": "admin"})
    query = {"format": "csv", "action": "role.changed"}
    text = acme.call(ada.token, "GET", "/audit-events", query=query).get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(text))
    assert (row["actor_display_name"], row["subject_user_name"], row["subject_display_name"]) == (
        "'=HYPERLINK(1)", "'+ben@acme.example", "'@SUM(A1)",
    )  # fmt: skip
    assert json.loads(row["after"]) == {"role": "admin"}


def test_what_is_not_a_member_has_no_names_and_a_removed_member_keeps_only_their_id(
    acme: Org,
) -> None:
    gone = add_member(acme, "gone@acme.example")
    assert acme.scim.call("DELETE", f"/Users/{gone.id}").status_code == 204
    events = acme.call(acme.owner.token, "GET", "/audit-events", query={"limit": 1000}).json
    scim = [e for e in events["events"] if e["subject_id"] == gone.id]
    assert scim and all(e["subject_user_name"] is None for e in scim)
    by_token = [e for e in events["events"] if e["actor_kind"] == "scim_token"]
    assert by_token and all(e["actor_user_name"] is None for e in by_token)
    assert all(
        e["subject_user_name"] is None for e in events["events"] if e["subject_kind"] != "member"
    )


def test_a_group_mapping_names_who_stored_it(acme: Org, db: Any) -> None:
    ada = add_member(acme, "ada@acme.example", role="admin", displayName="Ada Lovelace")
    assert acme.call(ada.token, "PUT", "/group-mappings", MAPPING).status_code == 200
    stored = acme.call(ada.token, "GET", "/group-mappings").json
    assert (stored["updated_by"], stored["updated_by_user_name"], stored["updated_by_display_name"]) == (
        ada.id, "ada@acme.example", "Ada Lovelace",
    )  # fmt: skip
    # An operator is nobody's member: no id, no name.
    group_mappings.apply_for(db, "acme", json.dumps(MAPPING), "application/json")
    stored = acme.call(ada.token, "GET", "/group-mappings").json
    assert (stored["updated_by"], stored["updated_by_user_name"]) == (None, None)
