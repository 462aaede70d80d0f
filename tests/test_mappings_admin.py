"""Group mappings through the admin API (SEATS.md §5): GET/PUT /group-mappings, POST …/plan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from scim_server.services import group_mappings

from .admin_client import Org, Person, acme, add_members, admin, new_org

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
YAML = "application/yaml"

MAPPING = """\
plan: enterprise
rules:
  - group: Engineering
    seat_type: chat_code
  - group: Sales
    seat_type: chat
"""

__all__ = ["acme", "admin"]  # fixtures, imported to be used here


# --- helpers --------------------------------------------------------------------------------


def send(
    org: Org, token: str, method: str, path: str, body: str | bytes, content_type: str = YAML
) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    return org.client.open(f"/api/v1{path}", method=method, data=body, headers=headers)


def put(org: Org, token: str, body: str | bytes, content_type: str = YAML) -> Any:
    return send(org, token, "PUT", "/group-mappings", body, content_type)


def plan(org: Org, token: str, body: str | bytes, content_type: str = YAML) -> Any:
    return send(org, token, "POST", "/group-mappings/plan", body, content_type)


def get(org: Org, token: str, accept: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}", **({"Accept": accept} if accept else {})}
    return org.client.get("/api/v1/group-mappings", headers=headers)


def group(org: Org, name: str, *members: Person) -> str:
    body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m.id} for m in members]}
    response = org.scim.call("POST", "/Groups", body)
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def seat(org: Org, member: Person) -> str:
    return str(org.call(org.owner.token, "GET", f"/members/{member.id}").json["seat_type"])


def pin(org: Org, member: Person, seat_type: str) -> None:
    response = org.call(org.owner.token, "PATCH", f"/members/{member.id}", {"seat_type": seat_type})
    assert response.status_code == 200 and response.json["pinned"], response.json


def events(org: Org, **query: Any) -> list[dict[str, Any]]:
    response = org.call(org.owner.token, "GET", "/audit-events", query={"limit": 1000, **query})
    assert response.status_code == 200
    return list(response.json["events"])


def moves(report: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [
        (m["member"], m["from"], m["to"], m["rule"] and m["rule"]["group"]) for m in report["moves"]
    ]


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.json["error"]
    assert body["code"] == code and body["message"]
    return body


# --- fixtures -------------------------------------------------------------------------------


@dataclass
class Crowded:
    """Five chat_code seats, all held: the owner, a0..a3. b0..b3 hold chat."""

    org: Org
    a: list[Person]
    b: list[Person]


@pytest.fixture
def crowded(app: Any, db: Any) -> Crowded:
    org = new_org(app, db, "crowded", seats={"chat": 15, "chat_code": 5})
    a, b = add_members(org, 4, "a"), add_members(org, 4, "b")
    assert [seat(org, p) for p in a + b] == ["chat_code"] * 4 + ["chat"] * 4
    return Crowded(org, a, b)


# --- storing and reading ----------------------------------------------------------------------


def test_a_yaml_mapping_put_is_stored_and_get_returns_it_as_json_by_default(
    acme: Org, admin: Person
) -> None:
    assert put(acme, admin.token, MAPPING).status_code == 200
    response = get(acme, admin.token)
    assert response.status_code == 200 and response.mimetype == "application/json"
    stored = response.json
    assert stored["version"] == 1 and stored["updated_by"] == admin.id
    assert stored["plan"] == "enterprise" and stored["media_type"] == YAML
    assert stored["rules"] == [
        {"group": "Engineering", "seat_type": "chat_code", "priority": None, "line": 3},
        {"group": "Sales", "seat_type": "chat", "priority": None, "line": 5},
    ]
    assert stored["source"] == MAPPING and stored["updated_at"]
    assert response.headers["ETag"] == '"1"'


@pytest.mark.parametrize("accept", ["application/yaml", "text/yaml", "application/x-yaml"])
def test_get_with_a_yaml_accept_returns_the_file_exactly_as_it_was_sent(
    acme: Org, admin: Person, accept: str
) -> None:
    put(acme, admin.token, MAPPING)
    response = get(acme, admin.token, accept)
    assert response.status_code == 200
    assert response.mimetype == accept and response.mimetype_params["charset"] == "utf-8"
    assert response.get_data(as_text=True) == MAPPING


def test_a_mapping_sent_as_json_is_stored_and_returned_as_sent_even_to_a_yaml_accept(
    acme: Org, admin: Person
) -> None:
    body = json.dumps(
        {"plan": "enterprise", "rules": [{"group": "Ops", "seat_type": "chat", "priority": 2}]}
    )
    assert put(acme, admin.token, body, "application/json").status_code == 200
    stored = get(acme, admin.token).json
    assert stored["media_type"] == "application/json"
    assert stored["rules"] == [{"group": "Ops", "seat_type": "chat", "priority": 2, "line": 1}]
    assert get(acme, admin.token, "application/yaml").get_data(as_text=True) == body


def test_each_put_stores_a_new_version_seen_by_get(acme: Org, admin: Person) -> None:
    put(acme, admin.token, MAPPING)
    put(acme, acme.owner.token, MAPPING.replace("Sales", "Support"))
    stored = get(acme, admin.token).json
    assert stored["version"] == 2 and stored["updated_by"] == acme.owner.id
    assert [rule["group"] for rule in stored["rules"]] == ["Engineering", "Support"]


def put_if(org: Org, token: str, body: str, if_match: str) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": YAML, "If-Match": if_match}
    return org.client.put("/api/v1/group-mappings", data=body, headers=headers)


def test_a_put_with_the_etag_of_the_version_read_replaces_it(acme: Org, admin: Person) -> None:
    assert put_if(acme, admin.token, MAPPING, '"0"').status_code == 200  # none stored yet
    etag = get(acme, admin.token).headers["ETag"]
    assert put_if(acme, admin.token, MAPPING, etag).status_code == 200
    assert put_if(acme, admin.token, MAPPING, "*").status_code == 200
    assert get(acme, admin.token).json["version"] == 3


def test_a_put_over_a_stale_version_is_412_and_stores_nothing(acme: Org, admin: Person) -> None:
    etag = (put(acme, admin.token, MAPPING), get(acme, admin.token).headers["ETag"])[1]
    put(acme, acme.owner.token, MAPPING.replace("Sales", "Support"))  # someone else, meanwhile
    body = error(put_if(acme, admin.token, MAPPING, etag), 412, "precondition_failed")
    assert "version 2, not version 1" in body["message"]
    assert [r["group"] for r in get(acme, admin.token).json["rules"]][1] == "Support"


def test_a_put_if_match_any_with_no_mapping_stored_is_412(acme: Org, admin: Person) -> None:
    error(put_if(acme, admin.token, MAPPING, "*"), 412, "precondition_failed")
    error(put_if(acme, admin.token, MAPPING, '"banana"'), 412, "precondition_failed")
    error(get(acme, admin.token), 404, "not_found")


def test_get_before_any_mapping_is_stored_is_a_clear_404(acme: Org, admin: Person) -> None:
    body = error(get(acme, admin.token), 404, "not_found")
    assert "no group mapping is stored" in body["message"]


def test_get_with_an_accept_it_cannot_answer_is_406_naming_what_it_can(
    acme: Org, admin: Person
) -> None:
    put(acme, admin.token, MAPPING)
    body = error(get(acme, admin.token, "text/html"), 406, "not_acceptable")
    assert "application/json" in body["offered"] and "application/yaml" in body["offered"]
    assert get(acme, admin.token, "text/html, */*;q=0.1").status_code == 200


# --- refusals ---------------------------------------------------------------------------------


INVALID = """\
plan: enterprise
rules:
  - group: Engineering
    seat_type: premium
  - group: Sales
    seat_type: chat
    prio: 3
  - group: engineering
    seat_type: chat
"""


@pytest.mark.parametrize("path", ["/group-mappings", "/group-mappings/plan"])
def test_an_invalid_mapping_is_422_listing_every_error_with_its_line_and_nothing_is_stored(
    acme: Org, admin: Person, path: str
) -> None:
    method = "PUT" if path == "/group-mappings" else "POST"
    body = error(send(acme, admin.token, method, path, INVALID), 422, "invalid_mapping")
    lines = [(e["line"], e["message"].split(":")[0]) for e in body["errors"]]
    assert lines == [(4, "rules[0].seat_type"), (7, "rules[1].prio"), (8, "rules[2].group")]
    assert "premium" in body["errors"][0]["message"] and "line 4" in body["message"]
    assert get(acme, admin.token).status_code == 404
    assert events(acme, action="mapping.changed") == []


def test_a_mapping_for_another_plan_is_refused_at_the_line_of_its_plan(
    acme: Org, admin: Person
) -> None:
    legacy = "# legacy\nplan: enterprise_legacy\nrules: []\n"
    body = error(put(acme, admin.token, legacy), 422, "invalid_mapping")
    assert [e["line"] for e in body["errors"]] == [2]
    assert "the organization's plan is enterprise" in body["errors"][0]["message"]


def test_yaml_that_does_not_parse_is_422_at_the_line_of_the_problem(
    acme: Org, admin: Person
) -> None:
    body = error(
        put(acme, admin.token, "plan: enterprise\nrules:\n  - group: [x\n"), 422, "invalid_mapping"
    )
    [only] = body["errors"]
    assert only["line"] >= 3 and only["message"].startswith("not valid YAML")


def test_an_empty_body_is_422_saying_the_file_is_empty(acme: Org, admin: Person) -> None:
    body = error(plan(acme, admin.token, ""), 422, "invalid_mapping")
    assert body["errors"] == [
        {"line": 1, "message": "the file is empty: it needs a plan and rules"}
    ]


def test_a_body_not_in_utf8_is_422_at_the_line_of_the_bad_byte(acme: Org, admin: Person) -> None:
    raw = MAPPING.replace("Sales", "Ventes \xe9t\xe9").encode("latin-1")
    body = error(put(acme, admin.token, raw), 422, "invalid_mapping")
    assert [e["line"] for e in body["errors"]] == [5]
    assert "UTF-8" in body["errors"][0]["message"]


def test_a_body_sent_as_json_that_is_not_json_is_422_at_its_line(acme: Org, admin: Person) -> None:
    body = error(put(acme, admin.token, MAPPING, "application/json"), 422, "invalid_mapping")
    [only] = body["errors"]
    assert only["line"] == 1 and only["message"].startswith("not valid JSON: Expecting value")
    assert get(acme, admin.token).status_code == 404


def test_a_body_nested_too_deeply_is_422_not_a_crash(acme: Org, admin: Person) -> None:
    body = error(plan(acme, admin.token, "[" * 100_000), 422, "invalid_mapping")
    assert "nested too deeply" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/yaml; charset=latin-1", ""],
)
def test_a_body_of_another_content_type_is_415_naming_the_types_accepted(
    acme: Org, admin: Person, content_type: str
) -> None:
    body = error(put(acme, admin.token, MAPPING, content_type), 415, "unsupported_media_type")
    assert "application/yaml" in body["message"]
    assert body["accepted"] == [
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        "application/json",
    ]
    assert get(acme, admin.token).status_code == 404


@pytest.mark.parametrize(
    "content_type", ["text/yaml", "application/x-yaml", "application/yaml; charset=UTF-8"]
)
def test_every_yaml_content_type_is_read_as_yaml(
    acme: Org, admin: Person, content_type: str
) -> None:
    assert put(acme, admin.token, MAPPING, content_type).status_code == 200
    assert get(acme, admin.token).json["media_type"] == YAML


@pytest.mark.parametrize("path", ["/group-mappings", "/group-mappings/plan"])
def test_a_body_over_256_kib_is_413_and_nothing_is_stored(
    acme: Org, admin: Person, path: str
) -> None:
    method = "PUT" if path == "/group-mappings" else "POST"
    padded = MAPPING + "#" * (256 * 1024) + "\n"
    body = error(send(acme, admin.token, method, path, padded), 413, "payload_too_large")
    assert "256 KiB" in body["message"] and body["limit"] == 256 * 1024
    assert get(acme, admin.token).status_code == 404


def test_a_body_just_under_the_limit_is_read(acme: Org, admin: Person) -> None:
    padded = MAPPING + "#" * (256 * 1024 - len(MAPPING) - 1) + "\n"
    assert len(padded.encode()) == 256 * 1024
    assert plan(acme, admin.token, padded).status_code == 200


# --- what a mapping does ----------------------------------------------------------------------


def test_plan_answers_what_would_happen_and_writes_nothing(crowded: Crowded) -> None:
    org, a0 = crowded.org, crowded.a[0]
    group(org, "Sales", a0)
    before = events(org)
    report = plan(org, org.owner.token, MAPPING)
    assert report.status_code == 200, report.json
    assert report.json["applied"] is False
    assert moves(report.json) == [(a0.id, "chat_code", "chat", "Sales")]
    assert get(org, org.owner.token).status_code == 404
    assert seat(org, a0) == "chat_code" and events(org) == before


def test_the_report_answered_is_the_services_report_whole(crowded: Crowded, db: Any) -> None:
    """The answer goes through its schema (MappingReportOut), which drops nothing the
    service reports: moves, blocked, released, held, purchased, shortfalls."""
    org, a0, (b0, b1, *_) = crowded.org, crowded.a[0], crowded.b
    group(org, "Sales", a0)  # frees one chat_code seat, for one of the two engineers
    group(org, "Engineering", b0, b1)
    report = plan(org, org.owner.token, MAPPING).json
    assert report == group_mappings.preview_for(db, org.slug, MAPPING).as_json()
    assert report["moves"] and report["blocked"] and report["shortfalls"]


def test_a_member_of_a_mapped_scim_group_moves_and_a_pinned_member_does_not(
    crowded: Crowded,
) -> None:
    org, (a0, a1, *_) = crowded.org, crowded.a
    pin(org, a1, "chat_code")
    group(org, "Sales", a0, a1)
    report = put(org, org.owner.token, MAPPING).json
    assert report["applied"] is True
    assert moves(report) == [(a0.id, "chat_code", "chat", "Sales")]
    assert (seat(org, a0), seat(org, a1)) == ("chat", "chat_code")
    assert report["held"] == {"chat": 5, "chat_code": 4}
    assert report["purchased"] == {"chat": 15, "chat_code": 5}


def test_plan_predicts_exactly_what_apply_then_does_and_the_audit_log_records_each_move_with_its_rule(
    crowded: Crowded,
) -> None:
    """Sales frees two chat_code seats; three engineers want one; one is left with chat."""
    org, (a0, a1, a2, _), (b0, b1, b2, _) = crowded.org, crowded.a, crowded.b
    group(org, "Sales", a0, a1, a2)
    group(org, "Engineering", b0, b1, b2)
    pin(org, a2, "chat_code")
    predicted = plan(org, org.owner.token, MAPPING).json
    applied = put(org, org.owner.token, MAPPING).json
    assert {**predicted, "applied": True} == applied
    assert len(applied["moves"]) == 4  # a0, a1 to chat; two of b0..b2 to chat_code
    assert applied["sufficient"] is False
    assert applied["shortfalls"] == [{"seat_type": "chat_code", "missing": 1}]
    [blocked] = applied["blocked"]
    assert blocked["wanted"] == "chat_code" and blocked["rule"]["line"] == 3
    for move in applied["moves"]:
        assert seat(org, Person(move["member"], "")) == move["to"]
    audited = {
        e["subject_id"]: (e["before"]["seat_type"], e["after"]["seat_type"], e["reason"])
        for e in events(org, action="seat.changed", source="group_mapping")
    }
    assert audited == {
        m["member"]: (m["from"], m["to"], f"{m['reason']} (rule at line {m['rule']['line']})")
        for m in applied["moves"]
    }


def test_apply_records_the_mapping_change_in_the_audit_log(acme: Org, admin: Person) -> None:
    put(acme, admin.token, MAPPING)
    [event] = events(acme, action="mapping.changed")
    assert event["actor"] == admin.id and event["source"] == "admin_api"
