"""`scim-server mappings check|plan|apply|show`: the operator's side of group mappings (SEATS.md §5)."""

from __future__ import annotations

import pytest

from scim_server.mappings_file import MappingErrors, decode


def test_a_file_is_read_as_utf8_without_its_byte_order_mark() -> None:
    assert decode("\ufeffplan: enterprise\n".encode()) == "plan: enterprise\n"


def test_a_file_not_in_utf8_is_an_error_at_the_line_of_the_bad_byte() -> None:
    with pytest.raises(MappingErrors) as raised:
        decode(b"plan: enterprise\nrules:\n  - group: Ing\xe9nieurs\n")
    [error] = raised.value.errors
    assert error.line == 3
    assert error.message.startswith("not valid UTF-8: byte 0xe9")
