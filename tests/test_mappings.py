"""Group mappings (SEATS.md §5): matching, the dry-run plan, and the file's validation.

No database, no web: the domain rules and the file reader are pure.
"""

from __future__ import annotations

import random
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim_server.domain import seats
from scim_server.domain.mappings import GroupRef, Mapping, Member, Rule, plan_moves
from scim_server.domain.plans import CATALOG
from scim_server.domain.seats import UNASSIGNED, Allocation
from scim_server.errors import api_error_body
from scim_server.mappings_file import MappingErrors, dump_json, from_json, load_mapping

ENTERPRISE = CATALOG["enterprise"]
EXAMPLES = Path(__file__).resolve().parent.parent / "mappings"


def group(name: str) -> GroupRef:
    return GroupRef(display_name=name)


def member(
    id: str,
    seat_type: str,
    *groups: str,
    pinned: bool = False,
    active: bool = True,
    mapped: bool = False,
) -> Member:
    return Member(id, seat_type, pinned, active, tuple(group(g) for g in groups), mapped)


def allocation(chat: tuple[int, int], code: tuple[int, int]) -> Allocation:
    """(purchased, held) of chat and of chat_code."""
    return Allocation(
        {"chat": chat[0], "chat_code": code[0]}, {"chat": chat[1], "chat_code": code[1]}
    )


ENGINEERING = Rule("Engineering", "chat_code", line=3)
EVERYONE = Rule("Everyone", "chat", line=5)
SALES = Rule("Sales", "chat", line=7)
MAPPING = Mapping("enterprise", (ENGINEERING, EVERYONE, SALES))


# --- matching --------------------------------------------------------------------------------


def test_a_rule_matches_a_groups_display_name_whatever_its_case() -> None:
    assert MAPPING.seat_type_for([group("ENGINEERING")]) == ("chat_code", ENGINEERING)
    assert MAPPING.seat_type_for([group("engineering")]) == ("chat_code", ENGINEERING)


def test_display_names_compare_in_one_unicode_form() -> None:
    mapping = Mapping("enterprise", (Rule("R\u00e9seau", "chat"),))  # é, composed
    assert mapping.seat_type_for([group("RE\u0301SEAU")]) is not None  # E + combining accent


def test_a_rule_matches_a_groups_external_id_or_id_only_exactly() -> None:
    mapping = Mapping("enterprise", (Rule("a1-B2", "chat_code"),))
    assert mapping.seat_type_for([GroupRef(external_id="a1-B2")]) == ("chat_code", mapping.rules[0])
    assert mapping.seat_type_for([GroupRef(id="a1-B2")]) == ("chat_code", mapping.rules[0])
    assert mapping.seat_type_for([GroupRef(external_id="A1-b2", id="a1-b2")]) is None


def test_a_groups_claim_value_matches_a_rule_like_a_scim_group_would() -> None:
    mapping = Mapping("enterprise", (Rule("Engineering", "chat_code"), Rule("0f3c-77", "chat")))
    assert mapping.seat_type_for([GroupRef.claim("engineering")]) == ("chat_code", mapping.rules[0])
    assert mapping.seat_type_for([GroupRef.claim("0f3c-77")]) == ("chat", mapping.rules[1])


def test_a_member_in_no_mapped_group_matches_no_rule() -> None:
    assert MAPPING.seat_type_for([group("Finance")]) is None
    assert MAPPING.seat_type_for([]) is None


def test_without_priorities_the_first_matching_rule_in_the_file_wins() -> None:
    assert MAPPING.seat_type_for([group("Everyone"), group("Engineering")]) == (
        "chat_code",
        ENGINEERING,
    )
    assert MAPPING.seat_type_for([group("Sales"), group("Everyone")]) == ("chat", EVERYONE)


def test_the_highest_priority_wins_wherever_it_is_in_the_file() -> None:
    low, high = Rule("Everyone", "chat", priority=1), Rule("Engineering", "chat_code", priority=9)
    mapping = Mapping("enterprise", (low, high))
    assert mapping.seat_type_for([group("Everyone"), group("Engineering")]) == ("chat_code", high)


def test_a_rule_without_priority_ranks_as_zero_between_positive_and_negative_ones() -> None:
    catch_all = Rule("Everyone", "chat", priority=-1)
    plain = Rule("Engineering", "chat_code")
    lifted = Rule("Sales", "chat", priority=1)
    mapping = Mapping("enterprise", (catch_all, plain, lifted))
    assert mapping.ranked() == (lifted, plain, catch_all)


# --- the plan: who moves ---------------------------------------------------------------------


def test_members_a_rule_maps_elsewhere_move_when_a_seat_is_free() -> None:
    planned = plan_moves(
        ENTERPRISE,
        allocation((10, 1), (10, 1)),
        MAPPING,
        [member("a", "chat", "Engineering"), member("b", "chat_code", "Sales")],
    )
    assert [(m.member, m.from_type, m.to_type, m.rule) for m in planned.moves] == [
        ("a", "chat", "chat_code", ENGINEERING),
        ("b", "chat_code", "chat", SALES),
    ]
    assert planned.moves[0].reason == "mapped by group Engineering"
    assert planned.held == {"chat": 1, "chat_code": 1} and planned.sufficient


def test_pinned_and_inactive_members_never_move() -> None:
    planned = plan_moves(
        ENTERPRISE,
        allocation((10, 1), (10, 0)),
        MAPPING,
        [
            member("pinned", "chat", "Engineering", pinned=True),
            member("gone", UNASSIGNED, "Engineering", active=False),
        ],
    )
    assert planned.moves == () and planned.blocked == ()


def test_members_matched_by_no_rule_stay_where_they_are() -> None:
    planned = plan_moves(
        ENTERPRISE,
        allocation((10, 1), (10, 1)),
        MAPPING,
        [member("a", "chat_code", "Finance"), member("b", "chat")],
    )
    assert planned.moves == () and planned.held == {"chat": 1, "chat_code": 1}


def test_a_member_already_on_the_mapped_type_does_not_move() -> None:
    planned = plan_moves(
        ENTERPRISE, allocation((10, 0), (10, 1)), MAPPING, [member("a", "chat_code", "Engineering")]
    )
    assert planned.moves == () and planned.blocked == ()


def test_when_the_mapped_type_is_full_the_member_keeps_their_seat_and_the_plan_says_why() -> None:
    planned = plan_moves(
        ENTERPRISE,
        allocation((10, 2), (1, 1)),
        MAPPING,
        [member("a", "chat", "Engineering"), member("b", "chat", "Engineering")],
    )
    assert planned.moves == ()
    assert [(b.member, b.seat_type, b.wanted, b.rule) for b in planned.blocked] == [
        ("a", "chat", "chat_code", ENGINEERING),
        ("b", "chat", "chat_code", ENGINEERING),
    ]
    assert planned.blocked[0].reason == "no chat_code seat available; keeps chat"


def test_the_plan_reports_the_shortfall_per_seat_type() -> None:
    planned = plan_moves(
        ENTERPRISE,
        allocation((10, 3), (2, 1)),
        MAPPING,
        [member(m, "chat", "Engineering") for m in ("a", "b", "c")],
    )
    assert [m.member for m in planned.moves] == ["a"]
    assert not planned.sufficient
    assert [(s.seat_type, s.missing) for s in planned.shortfalls] == [("chat_code", 2)]
    assert planned.held == {"chat": 2, "chat_code": 2}


def test_a_waiting_member_takes_a_free_mapped_seat_or_stays_unassigned() -> None:
    planned = plan_moves(
        ENTERPRISE,
        allocation((1, 0), (0, 0)),
        MAPPING,
        [member("a", UNASSIGNED, "Sales"), member("b", UNASSIGNED, "Engineering")],
    )
    assert [(m.member, m.from_type, m.to_type) for m in planned.moves] == [
        ("a", UNASSIGNED, "chat")
    ]
    assert planned.blocked[0].reason == "no chat_code seat available; stays unassigned"


def test_a_seat_one_member_leaves_goes_to_the_next_member_who_wants_it() -> None:
    # chat_code is full; c leaves it for the free chat seat, and a (first by id) gets it.
    # b, waiting, then falls back on the chat seat a left (SEATS.md §4 rule 2).
    planned = plan_moves(
        ENTERPRISE,
        allocation((2, 1), (1, 1)),
        MAPPING,
        [
            member("a", "chat", "Engineering"),
            member("b", UNASSIGNED, "Engineering"),
            member("c", "chat_code", "Sales"),
        ],
    )
    assert [(m.member, m.to_type) for m in planned.moves] == [
        ("c", "chat"),
        ("a", "chat_code"),
        ("b", "chat"),
    ]
    assert planned.blocked == ()
    assert [(s.seat_type, s.missing) for s in planned.shortfalls] == [("chat_code", 1)]


def test_a_waiting_member_whose_mapped_type_is_full_gets_the_highest_type_free() -> None:
    planned = plan_moves(
        ENTERPRISE, allocation((5, 0), (1, 1)), MAPPING, [member("a", UNASSIGNED, "Engineering")]
    )
    [move] = planned.moves
    assert (move.from_type, move.to_type, move.rule, move.mapped) == (
        UNASSIGNED,
        "chat",
        ENGINEERING,
        False,
    )
    assert move.reason == (
        "mapped by group Engineering; no chat_code seat available, highest available chat"
    )
    assert not planned.sufficient and planned.held == {"chat": 1, "chat_code": 1}


def test_a_member_mapped_to_a_full_lower_type_goes_up_to_the_highest_type_free() -> None:
    # SEATS.md §4: "otherwise (or if the mapped type is full), the highest seat type
    # with a seat available" -- even above the mapped one.
    planned = plan_moves(
        ENTERPRISE, allocation((1, 1), (3, 0)), MAPPING, [member("a", UNASSIGNED, "Sales")]
    )
    assert [(m.member, m.to_type) for m in planned.moves] == [("a", "chat_code")]


def test_a_fallback_never_moves_a_member_below_the_seat_they_hold() -> None:
    planned = plan_moves(
        ENTERPRISE, allocation((1, 1), (3, 3)), MAPPING, [member("a", "chat_code", "Sales")]
    )
    assert planned.moves == ()
    assert planned.blocked[0].reason == "no chat seat available; keeps chat_code"


def test_a_member_leaving_the_group_that_gave_their_seat_goes_back_to_the_automatic_rules() -> None:
    planned = plan_moves(
        ENTERPRISE,
        allocation((5, 2), (2, 2)),
        MAPPING,
        [member("a", "chat_code", "Finance", mapped=True), member("b", "chat", mapped=True)],
    )
    assert planned.moves == ()
    assert [(r.member, r.seat_type) for r in planned.released] == [
        ("a", "chat_code"),
        ("b", "chat"),
    ]
    assert planned.released[0].reason == "no longer in a mapped group; keeps chat_code"
    # With a higher type free, the automatic rules give it (SEATS.md §4 rule 2).
    planned = plan_moves(
        ENTERPRISE, allocation((5, 1), (2, 0)), MAPPING, [member("b", "chat", mapped=True)]
    )
    assert [(m.member, m.to_type, m.rule) for m in planned.moves] == [("b", "chat_code", None)]


def test_a_member_whose_seat_did_not_come_from_a_rule_is_not_released() -> None:
    planned = plan_moves(
        ENTERPRISE, allocation((5, 1), (2, 0)), MAPPING, [member("b", "chat", "Finance")]
    )
    assert planned.moves == () and planned.released == ()


def test_members_who_trade_seats_move_together_with_no_seat_free() -> None:
    """Every seat is held: the one leaving chat_code makes room for the one leaving chat."""
    planned = plan_moves(
        ENTERPRISE,
        allocation((10, 10), (10, 10)),
        MAPPING,
        [member("a", "chat", "Engineering"), member("b", "chat_code", "Sales")],
    )
    assert {(m.member, m.to_type) for m in planned.moves} == {("a", "chat_code"), ("b", "chat")}
    assert planned.held == {"chat": 10, "chat_code": 10} and planned.sufficient


def test_seats_go_in_order_of_member_id_whatever_order_they_are_given_in() -> None:
    members = [member(m, "chat", "Engineering") for m in ("c", "a", "b")]
    planned = plan_moves(ENTERPRISE, allocation((10, 3), (1, 0)), MAPPING, members)
    assert [m.member for m in planned.moves] == ["a"]
    assert [b.member for b in planned.blocked] == ["b", "c"]


def test_a_mapping_of_another_plan_or_seat_type_cannot_be_planned() -> None:
    legacy = Mapping("enterprise_legacy", (Rule("Engineering", "premium"),))
    with pytest.raises(ValueError, match="enterprise_legacy"):
        plan_moves(ENTERPRISE, allocation((10, 0), (10, 0)), legacy, [])
    wrong = Mapping("enterprise", (Rule("Engineering", "premium"),))
    with pytest.raises(seats.UnknownSeatType, match="premium"):
        plan_moves(ENTERPRISE, allocation((10, 0), (10, 0)), wrong, [])


def test_a_member_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        plan_moves(ENTERPRISE, allocation((10, 0), (10, 0)), MAPPING, [member("a", "chat")] * 2)


# --- the plan is a pure function: what `mappings plan` shows is what `apply` does --------------

GROUPS = ["Engineering", "Everyone", "Sales", "Finance"]


@st.composite
def situations(draw: st.DrawFn) -> tuple[Allocation, Mapping, list[Member]]:
    rules = tuple(
        Rule(g, draw(st.sampled_from(["chat", "chat_code"])), draw(st.none() | st.integers(-2, 2)))
        for g in draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=4))
    )
    members = [
        Member(
            f"m{i:02}",
            draw(st.sampled_from(["chat", "chat_code", UNASSIGNED])),
            draw(st.booleans()),
            draw(st.booleans()),
            tuple(group(g) for g in draw(st.lists(st.sampled_from(GROUPS), max_size=3))),
            draw(st.booleans()),
        )
        for i in range(draw(st.integers(0, 25)))
    ]
    # Inactive members hold no seat (SEATS.md §4 releasing seats).
    members = [
        m if m.active else Member(m.id, UNASSIGNED, m.pinned, False, m.groups, m.mapped)
        for m in members
    ]
    held = {t: sum(m.seat_type == t for m in members) for t in ("chat", "chat_code")}
    purchased = {t: held[t] + draw(st.integers(0, 3)) for t in held}
    return Allocation(purchased, held), Mapping("enterprise", rules), members


@settings(max_examples=300, deadline=None)
@given(situations(), st.randoms())
def test_the_plan_is_the_same_every_time_and_never_holds_more_than_purchased(
    situation: tuple[Allocation, Mapping, list[Member]], shuffler: random.Random
) -> None:
    alloc, mapping, members = situation
    planned = plan_moves(ENTERPRISE, alloc, mapping, members)
    shuffled = list(members)
    shuffler.shuffle(shuffled)
    assert plan_moves(ENTERPRISE, alloc, mapping, shuffled) == planned

    # Applied as the admin batch is (release all, then take all), the moves fit.
    final = seats.check_batch(ENTERPRISE, alloc, [(m.from_type, m.to_type) for m in planned.moves])
    assert {t: final.get(t, 0) for t in planned.held} == planned.held
    assert all(planned.held[t] <= alloc.purchased[t] for t in planned.held)

    by_id = {m.id: m for m in members}
    rank = {"chat": 1, "chat_code": 2, UNASSIGNED: 0}
    for move in planned.moves:
        moved = by_id[move.member]
        assert moved.active and not moved.pinned and move.from_type == moved.seat_type
        found = mapping.seat_type_for(moved.groups)
        if move.rule is None:  # released to the automatic rules: only ever upwards
            assert found is None and moved.mapped and rank[move.to_type] > rank[move.from_type]
        else:
            assert found is not None and found[1] == move.rule
            # A fallback is never a step down from the seat held.
            assert move.mapped or rank[move.to_type] > rank[move.from_type]
    # Nobody is held back while a seat of the type they want is left.
    for blocked in planned.blocked:
        assert planned.held[blocked.wanted] >= alloc.purchased[blocked.wanted]
    fallbacks = [m for m in planned.moves if m.rule is not None and not m.mapped]
    assert sum(s.missing for s in planned.shortfalls) == len(planned.blocked) + len(fallbacks)


# --- the file --------------------------------------------------------------------------------


def errors_of(text: str, expected_plan: str | None = "enterprise") -> list[tuple[int, str]]:
    with pytest.raises(MappingErrors) as refused:
        load_mapping(dedent(text), expected_plan)
    return [(error.line, error.message) for error in refused.value.errors]


def one_error(text: str, expected_plan: str | None = "enterprise") -> tuple[int, str]:
    errors = errors_of(text, expected_plan)
    assert len(errors) == 1, errors
    return errors[0]


def test_a_valid_file_gives_its_rules_in_file_order_with_their_lines() -> None:
    mapping = load_mapping(
        dedent("""\
            # comment
            plan: enterprise
            rules:
              - group: Engineering
                seat_type: chat_code
                priority: 10
              - {group: Everyone, seat_type: chat, priority: null}
            """),
        "enterprise",
    )
    assert mapping == Mapping(
        "enterprise",
        (Rule("Engineering", "chat_code", 10, line=4), Rule("Everyone", "chat", None, line=7)),
    )


def test_a_file_with_no_rules_is_valid_and_maps_nobody() -> None:
    assert load_mapping("plan: enterprise\nrules: []\n").rules == ()


@pytest.mark.parametrize("plan", ["enterprise", "enterprise_legacy"])
def test_each_example_file_validates(plan: str) -> None:
    mapping = load_mapping((EXAMPLES / f"{plan}.example.yaml").read_text(), plan)
    assert mapping.plan == plan and mapping.rules


def test_bad_yaml_is_reported_at_the_parsers_line() -> None:
    line, message = one_error("""\
        plan: enterprise
        rules:
          - group: Engineering
            seat_type: [chat
        """)
    assert line == 5 and message.startswith("not valid YAML")


def test_yaml_that_would_build_python_objects_is_refused() -> None:
    line, message = one_error("plan: !!python/object/apply:os.system [id]\nrules: []\n")
    assert line == 1 and "could not determine a constructor" in message


def test_a_file_with_several_documents_is_refused() -> None:
    assert one_error("plan: enterprise\nrules: []\n---\nplan: enterprise\n")[0] == 3


def test_an_empty_file_or_one_that_is_not_a_mapping_is_refused() -> None:
    assert one_error("# nothing\n") == (1, "the file is empty: it needs a plan and rules")
    assert one_error("\n- plan: enterprise\n") == (
        2,
        "the file must be a mapping of plan and rules, not a list",
    )


def test_unknown_keys_are_refused_at_every_level() -> None:
    assert errors_of("""\
        plan: enterprise
        owner: it
        rules:
          - group: Engineering
            seat_type: chat_code
            seat: chat
        """) == [
        (2, "owner: unknown key; a mapping file has plan and rules"),
        (6, "rules[0].seat: unknown key; a rule has group, seat_type and priority"),
    ]


def test_missing_plan_rules_group_and_seat_type_are_reported() -> None:
    assert errors_of("""\
        # a comment first
        rules:
          - group: Engineering
          - seat_type: chat
        """) == [
        (2, "plan: is missing"),
        (3, "rules[0].seat_type: is missing"),
        (4, "rules[1].group: is missing"),
    ]
    assert one_error("plan: enterprise\n") == (1, "rules: is missing")


def test_rules_must_be_a_list_of_mappings() -> None:
    assert one_error("plan: enterprise\nrules:\n") == (
        2,
        "rules: must be a list of rules (write [] for none)",
    )
    assert errors_of("plan: enterprise\nrules:\n  - Engineering\n  -\n") == [
        (3, "rules[0]: a rule must be a mapping of group, seat_type and priority"),
        (4, "rules[1]: a rule must be a mapping, not empty"),
    ]


def test_an_unknown_plan_is_refused_naming_the_plans() -> None:
    assert one_error("plan: enterprise_plus\nrules: []\n") == (
        1,
        "plan: unknown plan 'enterprise_plus'; the plans are enterprise, enterprise_legacy",
    )


def test_a_file_of_another_plan_than_the_organizations_is_refused() -> None:
    assert one_error("\nplan: enterprise_legacy\nrules: []\n") == (
        2,
        "plan: this file is for enterprise_legacy, but the organization's plan is enterprise",
    )
    assert load_mapping("plan: enterprise_legacy\nrules: []\n").plan == "enterprise_legacy"


def test_a_seat_type_of_another_plan_is_refused_naming_the_plans_seat_types() -> None:
    assert one_error("""\
        plan: enterprise
        rules:
          - group: Engineering
            seat_type: premium
        """) == (
        4,
        "rules[0].seat_type: 'premium' is a seat type of enterprise_legacy, not of enterprise "
        "(enterprise has chat, chat_code)",
    )


def test_an_unknown_seat_type_is_refused_naming_the_plans_seat_types() -> None:
    line, message = one_error(
        """\
        plan: enterprise_legacy
        rules:
          - {group: Engineering, seat_type: gold}
        """,
        "enterprise_legacy",
    )
    assert line == 3
    assert message.endswith("unknown seat type 'gold' (enterprise_legacy has standard, premium)")


def test_a_rule_cannot_map_to_unassigned() -> None:
    line, message = one_error("""\
        plan: enterprise
        rules:
          - group: Contractors
            seat_type: unassigned
        """)
    assert line == 4 and "cannot map to unassigned" in message


def test_a_priority_must_be_an_integer() -> None:
    assert errors_of("""\
        plan: enterprise
        rules:
          - {group: A, seat_type: chat, priority: high}
          - {group: B, seat_type: chat, priority: 1.5}
          - {group: C, seat_type: chat, priority: yes}
          - {group: D, seat_type: chat, priority: "3"}
        """) == [(line, f"rules[{line - 3}].priority: must be an integer") for line in range(3, 7)]


def test_a_group_must_be_a_non_empty_string() -> None:
    assert errors_of("""\
        plan: enterprise
        rules:
          - {group: 1234, seat_type: chat}
          - {group: "", seat_type: chat}
          - {group: "a\\0b", seat_type: chat}
        """) == [
        (3, "rules[0].group: must be a string (quote values such as 123, yes or 2024-01-01)"),
        (4, "rules[1].group: must be 1 to 255 characters"),
        (5, "rules[2].group: must not hold a NUL character (U+0000)"),
    ]


def test_a_group_listed_twice_is_a_duplicate_naming_both_lines() -> None:
    assert one_error("""\
        plan: enterprise
        rules:
          - group: Engineering
            seat_type: chat_code
          - group: ENGINEERING
            seat_type: chat
        """) == (
        5,
        "rules[1].group: duplicate rule: group 'ENGINEERING' is listed at lines 3 and 5 "
        "(names compare case-insensitively)",
    )


def test_a_rule_for_the_same_group_below_one_that_always_wins_is_unreachable() -> None:
    assert errors_of("""\
        plan: enterprise
        rules:
          - group: Engineering
            seat_type: chat
          - group: Engineering
            seat_type: chat_code
            priority: 10
        """) == [
        (
            3,
            "rules[0]: unreachable rule: the rule at line 5 for the same group always wins "
            "(priority 10 over 0), so this one never applies",
        ),
        (5, "rules[1].group: duplicate rule: group 'Engineering' is listed at lines 3 and 5"),
    ]


def test_without_priorities_the_later_rule_for_a_group_is_the_unreachable_one() -> None:
    errors = errors_of("""\
        plan: enterprise
        rules:
          - {group: Sales, seat_type: chat}
          - {group: Sales, seat_type: chat}
        """)
    assert (
        4,
        "rules[1]: unreachable rule: the rule at line 3 for the same group always wins "
        "(same priority, earlier), so this one never applies",
    ) in errors


def test_a_key_given_twice_is_refused_rather_than_silently_overwritten() -> None:
    assert one_error("""\
        plan: enterprise
        rules:
          - group: Engineering
            seat_type: chat
            seat_type: chat_code
        """) == (5, "rules[0].seat_type: key given twice (before at line 4)")


def test_every_error_in_a_file_is_reported_at_once_in_line_order() -> None:
    errors = errors_of("""\
        plan: enterprise
        rules:
          - {group: A, seat_type: premium}
          - {group: B, seat_type: chat, priority: x}
          - {group: C, seat_type: chat, colour: red}
        owner: it
        """)
    assert [line for line, _ in errors] == [3, 4, 5, 6]


def test_mapping_errors_are_an_admin_api_422_listing_each_line() -> None:
    with pytest.raises(MappingErrors) as refused:
        load_mapping("plan: enterprise\nrules: 3\n")
    body, status = api_error_body(refused.value)
    assert status == 422 and body["error"]["code"] == "invalid_mapping"
    assert body["error"]["errors"] == [{"line": 2, "message": "rules: must be a list of rules"}]
    assert "line 2: rules: must be a list of rules" in str(refused.value)


# --- storing ---------------------------------------------------------------------------------


def test_a_mapping_round_trips_through_json() -> None:
    mapping = load_mapping((EXAMPLES / "enterprise.example.yaml").read_text(), "enterprise")
    stored = dump_json(mapping)
    assert stored["rules"][0] == {
        "group": "Engineering",
        "seat_type": "chat_code",
        "priority": 10,
        "line": mapping.rules[0].line,
    }
    assert from_json(stored) == mapping


def test_a_malformed_stored_mapping_is_refused() -> None:
    with pytest.raises(ValueError, match="malformed"):
        from_json({"plan": "enterprise", "rules": [{"group": "A"}]})
