"""The console's form macros (templates/console/macros.html), rendered with no app and no
database: the next pages build their forms from them (GOV.UK's error summary pattern)."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

ENV = Environment(loader=PackageLoader("scim_server", "templates"), autoescape=select_autoescape())
MACROS: Any = ENV.get_template("console/macros.html").module


def test_the_error_summary_links_each_message_to_its_field() -> None:
    html = str(
        MACROS.error_summary(
            [("seats-chat", "Enter a whole number"), ("seats-chat_code", "Too low")]
        )
    )
    assert 'role="alert"' in html and "There is a problem" in html
    assert re.findall(r'<a href="#([^"]+)">([^<]+)</a>', html) == [
        ("seats-chat", "Enter a whole number"),
        ("seats-chat_code", "Too low"),
    ]


def test_no_errors_render_no_summary() -> None:
    assert str(MACROS.error_summary([])).strip() == ""


def test_a_text_input_has_its_label_and_is_described_by_its_hint_and_error() -> None:
    html = str(
        MACROS.text_input(
            "seats-chat", "seats.chat", "Chat seats", value=50, hint="At least 50",
            error="Seats cannot be removed during the term", type="number",
        )
    )  # fmt: skip
    assert '<label class="label" for="seats-chat">Chat seats</label>' in html
    assert 'id="seats-chat" name="seats.chat" type="number" value="50"' in html
    assert 'aria-describedby="seats-chat-hint seats-chat-error"' in html
    assert '<p id="seats-chat-error" class="field-error">' in html
    assert "field-with-error" in html


def test_a_select_marks_the_chosen_option_and_escapes_what_it_shows() -> None:
    html = str(
        MACROS.select(
            "seat-ana", "seat_type", "Seat type for ana@acme.example",
            [("chat", "Chat"), ("chat_code", "Chat + Claude Code"), ("x", "<b>")], selected="chat_code",
        )
    )  # fmt: skip
    assert '<label class="label" for="seat-ana">Seat type for ana@acme.example</label>' in html
    assert '<option value="chat_code" selected>Chat + Claude Code</option>' in html
    assert '<option value="chat">Chat</option>' in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "aria-describedby" not in html


def test_a_person_is_shown_by_name_and_email() -> None:
    class Member:
        display_name = "Ana Lima"
        email = "ana@acme.example"
        user_name = "ana"

    html = str(MACROS.person(Member()))
    assert "Ana Lima" in html and "ana@acme.example" in html
