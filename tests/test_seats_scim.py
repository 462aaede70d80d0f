"""SEATS.md §4 over SCIM: automatic assignment, the waiting line, release, explicit requests."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from scim_server.domain.seats import Allocation
from scim_server.persistence.models import AuditEvent, SeatAllocation, UserRow
from scim_server.persistence.seats import SeatRepository
from scim_server.services import organizations

from .conftest import Api

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SEAT = "urn:ietf:params:scim:schemas:extension:seat:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def small(app: Any, db: Any) -> Api:
    """18 chat and 2 chat_code seats; the owner takes one chat_code seat at creation."""
    created = organizations.create(
        db, "Small", "small", "enterprise", {"chat": 18, "chat_code": 2}, "owner@small.example"
    )
    return Api(app.test_client(), created.scim_token, "small", db)


def create(api: Api, name: str, **extension: Any) -> Any:
    body: dict[str, Any] = {"schemas": [USER], "userName": name}
    if extension:
        body["schemas"].append(SEAT)
        body[SEAT] = extension
    return api.call("POST", "/Users", body)


def seat_of(api: Api, user_id: str) -> str | None:
    body = api.call("GET", f"/Users/{user_id}").json
    return body.get(SEAT, {}).get("seatType")


def set_active(api: Api, user_id: str, active: bool) -> None:
    operation = {"op": "replace", "value": {"active": active}}
    assert (
        api.call(
            "PATCH", f"/Users/{user_id}", {"schemas": [PATCH], "Operations": [operation]}
        ).status_code
        == 200
    )


def held(api: Api) -> dict[str, tuple[int, int]]:
    """(assigned counter, members actually holding) per seat type: they must agree."""
    with api.db.unit_of_work() as session:
        counters = dict(
            session.execute(select(SeatAllocation.seat_type, SeatAllocation.assigned)).all()
        )
        holders = dict(
            session.execute(
                select(UserRow.seat_type, func.count()).group_by(UserRow.seat_type)
            ).all()
        )
    return {t: (counters[t], holders.get(t, 0)) for t in counters}


def fill(api: Api, count: int, prefix: str = "u") -> list[str]:
    ids = []
    for i in range(count):
        response = create(api, f"{prefix}{i}")
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    return ids


def test_new_members_take_the_highest_seat_type_available_then_the_next(small: Api) -> None:
    first = create(small, "first").json
    second = create(small, "second").json
    assert first[SEAT]["seatType"] == "chat_code"  # the second chat_code seat
    assert second[SEAT]["seatType"] == "chat"
    assert held(small) == {"chat": (1, 1), "chat_code": (2, 2)}


def test_with_every_seat_taken_provisioning_succeeds_unassigned_and_waits(small: Api) -> None:
    fill(small, 19)
    response = create(small, "latecomer")
    assert response.status_code == 201
    assert SEAT not in response.json or "seatType" not in response.json[SEAT]
    with small.db.unit_of_work() as session:
        waiting = session.scalar(select(UserRow).where(UserRow.user_name == "latecomer"))
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.subject_id == waiting.id)
        ).first()
    assert waiting.waiting_since is not None
    assert event.action == "seat.waiting" and "no seat" in event.reason


def test_a_create_that_loses_the_last_seat_to_another_transaction_waits_instead(
    small: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seat is decided on an unlocked read, then taken: a lost race decides again."""
    fill(small, 19)  # every seat taken
    stale = Allocation({"chat": 18, "chat_code": 2}, {"chat": 17, "chat_code": 2})
    reads = iter([stale])
    real = SeatRepository.allocation
    monkeypatch.setattr(SeatRepository, "allocation", lambda self: next(reads, None) or real(self))
    response = create(small, "raced")
    assert response.status_code == 201
    assert "seatType" not in response.json.get(SEAT, {})
    assert held(small) == {"chat": (18, 18), "chat_code": (2, 2)}
    with small.db.unit_of_work() as session:
        member = session.scalar(select(UserRow).where(UserRow.user_name == "raced"))
        events = session.scalars(select(AuditEvent).where(AuditEvent.subject_id == member.id))
        recorded = [(e.action, e.before["seat_type"], e.after["seat_type"]) for e in events]
    assert member.seat_type == "unassigned" and member.waiting_since is not None
    assert recorded == [("seat.waiting", "unassigned", "unassigned")]


def test_an_explicit_seat_type_with_none_free_is_refused_and_nothing_is_created(small: Api) -> None:
    create(small, "takes-last-code")
    response = create(small, "wants-code", seatType="chat_code")
    assert response.status_code == 409
    assert response.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert "chat_code" in response.json["detail"] and "2 of 2" in response.json["detail"]
    listed = small.call("GET", '/Users?filter=userName eq "wants-code"').json
    assert listed["totalResults"] == 0


def test_an_unknown_seat_type_is_an_invalid_value(small: Api) -> None:
    response = create(small, "wrong-plan", seatType="premium")
    assert response.status_code == 400 and response.json["scimType"] == "invalidValue"


def test_deactivation_frees_the_seat_for_the_oldest_waiting_member(small: Api) -> None:
    ids = fill(small, 19)
    older, newer = (create(small, n).json["id"] for n in ("older", "newer"))
    set_active(small, ids[0], False)  # held chat_code
    assert seat_of(small, older) == "chat_code"
    assert seat_of(small, newer) is None
    assert held(small)["chat_code"] == (2, 2)


def test_a_seat_given_from_the_waiting_line_gives_the_resource_a_new_version(
    small: Api,
) -> None:
    """The seat is part of the User resource: a client's ETag must go stale (RFC 7644 §3.14)."""
    ids = fill(small, 19)
    waiting = create(small, "waiting")
    stale = waiting.headers["ETag"]
    set_active(small, ids[0], False)  # frees a chat_code seat: the line is served
    again = small.call("GET", f"/Users/{waiting.json['id']}", **{"If-None-Match": stale})
    assert again.status_code == 200  # not 304: the representation changed
    assert again.json[SEAT]["seatType"] == "chat_code"
    assert again.headers["ETag"] == again.json["meta"]["version"] != stale
    assert again.json["meta"]["lastModified"] > waiting.json["meta"]["lastModified"]


def test_removal_frees_the_seat_for_the_waiting_line(small: Api) -> None:
    ids = fill(small, 19)
    waiting = create(small, "waiting").json["id"]
    assert small.call("DELETE", f"/Users/{ids[5]}").status_code == 204  # held chat
    assert seat_of(small, waiting) == "chat"
    assert held(small) == {"chat": (18, 18), "chat_code": (2, 2)}


def test_a_seat_freed_by_an_explicit_change_is_not_given_to_the_waiting_line(small: Api) -> None:
    ids = fill(small, 19)
    waiting = create(small, "waiting").json["id"]
    remove = {"op": "remove", "path": f"{SEAT}:seatType"}
    assert (
        small.call(
            "PATCH", f"/Users/{ids[3]}", {"schemas": [PATCH], "Operations": [remove]}
        ).status_code
        == 200
    )
    assert seat_of(small, ids[3]) is None
    assert seat_of(small, waiting) is None
    assert held(small)["chat"] == (17, 17)


def test_reactivation_takes_the_pinned_type_when_free_else_the_automatic_rules(small: Api) -> None:
    pinned = create(small, "pinned", seatType="chat").json["id"]
    set_active(small, pinned, False)
    set_active(small, pinned, True)
    assert seat_of(small, pinned) == "chat"
    code = create(small, "coder").json["id"]  # takes the last chat_code
    set_active(small, code, False)
    set_active(small, code, True)
    assert seat_of(small, code) == "chat_code"


def test_a_scim_patch_can_request_a_seat_type_and_pins_it(small: Api) -> None:
    user = create(small, "mover").json  # chat_code, automatically
    replace = {"op": "replace", "path": f"{SEAT}:seatType", "value": "chat"}
    body = small.call(
        "PATCH", f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [replace]}
    ).json
    assert body[SEAT]["seatType"] == "chat"
    with small.db.unit_of_work() as session:
        row = session.scalar(select(UserRow).where(UserRow.id == user["id"]))
    assert (row.pinned_seat_type, row.seat_source) == ("chat", "manual")
    assert held(small) == {"chat": (1, 1), "chat_code": (1, 1)}


def test_seat_source_and_entitlements_come_back_when_asked_for(small: Api) -> None:
    user = create(small, "curious").json
    attrs = f"{SEAT}:seatSource,{SEAT}:entitlements,{SEAT}:seatType"
    body = small.call("GET", f"/Users/{user['id']}?attributes={attrs}").json
    assert body[SEAT] == {
        "seatType": "chat_code",
        "seatSource": "scim",
        "entitlements": ["claude_apps", "claude_code"],
    }
    assert "seatSource" not in small.call("GET", f"/Users/{user['id']}").json[SEAT]


def test_filters_and_discovery_know_the_seat_extension(small: Api) -> None:
    fill(small, 3)
    found = small.call("GET", f'/Users?filter={SEAT}:seatType eq "chat"').json
    assert found["totalResults"] == 2
    schema = small.call("GET", f"/Schemas/{SEAT}").json
    seat_type = next(a for a in schema["attributes"] if a["name"] == "seatType")
    assert seat_type["canonicalValues"] == ["chat", "chat_code"]
