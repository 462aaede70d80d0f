"""Hypothesis strategies for hostile input: what an attacker, a broken IdP or a typo sends.

JSON of the wrong types, too deep, too large, with huge numbers, lone surrogates, NUL and
odd Unicode; SCIM filters generated from the RFC 7644 §3.4.2.2 grammar, then mutated;
PATCH and Bulk operations; headers and Content-Types; ids in URLs; YAML mapping files
with alias bombs, tags and depth; raw HTTP that no client library would send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SEAT = "urn:ietf:params:scim:schemas:extension:seat:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

# Placeholders the tests replace with real ids, so that strategies need no fixture (and
# @example can name them): a user and a group of the fuzzed organization, a user of another.
A_USER = "@user-id@"
A_GROUP = "@group-id@"
OTHER_USER = "@other-user-id@"
IDS = [A_USER, A_GROUP, OTHER_USER]


# --- JSON text that json.dumps would not write ------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text sent as it is: a 5,000-digit number, 1e999, nesting deeper than a recursion."""

    text: str


def dumps(value: Any, ascii: bool = True) -> str:
    """JSON text, with Raw leaves spliced in as they are; non-ASCII as \\u escapes or not."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        items = (f"{dumps(str(k), ascii)}:{dumps(v, ascii)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(item, ascii) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii)


@st.composite
def encoded(draw: st.DrawFn, documents: st.SearchStrategy[Any]) -> bytes:
    """A document's bytes: non-ASCII as \\u escapes, or as UTF-8 (a lone surrogate's invalid bytes)."""
    ascii = draw(st.booleans())
    return dumps(draw(documents), ascii).encode("utf-8", "surrogatepass")


# --- scalars --------------------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "x\ud83d",
    "\ufeff",
    "\u202eevil",
    "\u200b",
    "\u2028",
    "\uffff",
    "İ",
    "ß",
    "ﬃ",
    "\uff20",  # fullwidth @
    "\U0001d518\U0001d52b\U0001d526",  # Fraktur, outside the BMP
    "e\u0301" * 50,
    "%",
    "_",
    "\\",
    '"',
    "' OR 1=1 --",
    "%s%n{0}",
    "${jndi:ldap://x}",
    "../../etc/passwd",
    "<script>",
    "null",
    "true",
    "1e999",
    "2024-02-30T25:61:61Z",
]
LENGTHS = [254, 255, 256, 1_000, 10_000, 100_000]


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.text(max_size=40),
        st.text(st.characters(codec=None, categories=["Cs", "Cc", "Cf", "Co", "Zl"]), max_size=8),
        st.builds(
            lambda n, c: c * n, st.sampled_from(LENGTHS), st.sampled_from(["x", "é", "\U0001d518"])
        ),
        st.builds(lambda a, b: a + b, st.sampled_from(ODD_TEXT), st.text(max_size=10)),
    )


HUGE_NUMBERS = [
    Raw("1" * 5_000),
    Raw("-" + "9" * 5_000),
    Raw("1e999"),
    Raw("-1e999"),
    Raw("1E400"),
    Raw("-0.0"),
    Raw("0." + "0" * 1_000 + "1"),
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
]


def hostile_numbers() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(),
        st.integers(min_value=2**31 - 2, max_value=2**31 + 2),
        st.integers(min_value=2**63 - 2, max_value=2**63 + 2),
        st.sampled_from([10**30, -(10**30), 0, -1]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(HUGE_NUMBERS),
    )


def hostile_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), hostile_numbers(), hostile_text())


def deep(depth: int, opener: str = "[") -> Raw:
    closer = {"[": "]", "{": "}"}[opener]
    if opener == "{":
        return Raw('{"a":' * depth + "1" + closer * depth)
    return Raw(opener * depth + closer * depth)


DEPTHS = [64, 200, 999, 1_000, 5_000, 100_000]


def deep_values() -> st.SearchStrategy[Raw]:
    return st.builds(deep, st.sampled_from(DEPTHS), st.sampled_from(["[", "{"]))


def hostile_json(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON at all, leaning on what breaks servers."""
    return st.recursive(
        st.one_of(hostile_scalars(), deep_values()),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(hostile_text(), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def maybe(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes anything hostile in its place."""
    return st.one_of(plausible, plausible, hostile_json(4))


# --- SCIM resources -----------------------------------------------------------------------------

NAMES = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)


def user_names() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda n, u: f"{n}-{u.hex[:8]}@fuzz.example", NAMES, st.uuids()),
        hostile_text(),
    )


def users() -> st.SearchStrategy[Any]:
    """User bodies: every attribute plausible or hostile, extensions, unknown keys."""
    core = st.fixed_dictionaries(
        {"schemas": maybe(st.just([USER])), "userName": user_names()},
        optional={
            "displayName": maybe(st.text(max_size=20)),
            "externalId": maybe(st.uuids().map(str)),
            "name": maybe(st.fixed_dictionaries({}, optional={"givenName": hostile_text(), "familyName": hostile_text()})),
            "emails": maybe(st.lists(st.fixed_dictionaries({"value": maybe(st.emails())}, optional={"type": maybe(st.just("work")), "primary": maybe(st.booleans())}), max_size=3)),
            "phoneNumbers": maybe(st.lists(st.fixed_dictionaries({"value": hostile_text()}), max_size=2)),
            "active": maybe(st.sampled_from([True, False, "False", "true"])),
            "password": hostile_text(),
            "title": hostile_text(),
            "locale": hostile_text(),
            "groups": hostile_json(4),
            "meta": hostile_json(4),
            "id": hostile_text(),
            ENTERPRISE: maybe(st.fixed_dictionaries({}, optional={"employeeNumber": hostile_text(), "manager": maybe(st.fixed_dictionaries({"value": hostile_text()}))})),
            SEAT: maybe(st.fixed_dictionaries({}, optional={"seatType": maybe(st.sampled_from(["chat", "chat_code", "unassigned", "premium"])), "entitlements": hostile_json(3), "seatSource": hostile_json(2)})),
        },
    )  # fmt: skip
    return st.one_of(core, core, core, hostile_json())


def groups() -> st.SearchStrategy[Any]:
    members = st.lists(
        st.fixed_dictionaries(
            {"value": maybe(st.sampled_from(IDS))},
            optional={"display": hostile_text(), "$ref": hostile_text(), "type": hostile_text()},
        ),
        max_size=4,
    )
    core = st.fixed_dictionaries(
        {"schemas": maybe(st.just([GROUP])), "displayName": maybe(st.text(min_size=1, max_size=30))},
        optional={"members": maybe(members), "externalId": maybe(st.uuids().map(str)), "id": hostile_text()},
    )  # fmt: skip
    return st.one_of(core, core, core, hostile_json())


# --- SCIM filters: RFC 7644 §3.4.2.2, then mutated ---------------------------------------------

USER_ATTRIBUTES = [
    "userName", "displayName", "externalId", "id", "active", "title", "locale",
    "name.givenName", "name.familyName", "name.formatted", "emails", "emails.value",
    "emails.type", "emails.primary", "phoneNumbers.value", "groups", "groups.value",
    "meta.created", "meta.lastModified", "meta.resourceType", "meta.version", "password",
    f"{ENTERPRISE}:employeeNumber", f"{ENTERPRISE}:manager.value", f"{ENTERPRISE}:manager",
    f"{SEAT}:seatType", f"{SEAT}:entitlements", f"{SEAT}:seatSource", f"{USER}:userName",
    "members", "members.value", "members.display", "schemas", "nosuch", "name.nosuch",
    "urn:ietf:params:scim:schemas:extension:nosuch:2.0:User:x",
]  # fmt: skip
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "EQ", "Eq"]


def attribute_paths() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(USER_ATTRIBUTES),
        st.from_regex(r"\A[A-Za-z][\w$-]{0,12}(\.[A-Za-z][\w$-]{0,8})?\Z"),
    )


def comparison_values() -> st.SearchStrategy[str]:
    """compValue: false / null / true / number / string (a JSON string), or Entra's bare word."""
    return st.one_of(
        st.sampled_from(
            ["true", "false", "null", "0", "-1", "1.5", "1e999", "1" * 400, "2024-01-01T00:00:00Z"]
        ),
        hostile_text().map(lambda text: json.dumps(text)),
        st.just('"2011-05-13T04:42:34Z"'),
        st.from_regex(r"\A[A-Za-z0-9]{1,10}\Z"),
    )


def attribute_expressions() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a: f"{a} pr", attribute_paths()),
        st.builds(lambda a, o, v: f"{a} {o} {v}", attribute_paths(), st.sampled_from(OPERATORS), comparison_values()),
    )  # fmt: skip


def filters() -> st.SearchStrategy[str]:
    """FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")" (RFC 7644 §3.4.2.2)."""
    return st.recursive(
        attribute_expressions(),
        lambda inner: st.one_of(
            st.builds(lambda a, op, b: f"{a} {op} {b}", inner, st.sampled_from(["and", "or", "AND", "Or"]), inner),
            st.builds(lambda f: f"not ({f})", inner),
            st.builds(lambda f: f"({f})", inner),
            st.builds(lambda a, f: f"{a}[{f}]", st.sampled_from(["emails", "members", "phoneNumbers", "groups", "addresses"]), inner),
        ),
        max_leaves=8,
    )  # fmt: skip


def wide_filter(terms: int, operator: str) -> str:
    return f" {operator} ".join(f'userName eq "user{i}@fuzz.example"' for i in range(terms))


def nested_filter(depth: int) -> str:
    return "(" * depth + 'userName eq "x"' + ")" * depth


MUTATION_TOKENS = [
    '"',
    "(",
    ")",
    "[",
    "]",
    " ",
    "\\",
    " and ",
    " or ",
    "not",
    "\x00",
    "\ud800",
    ".",
    ":",
]


@st.composite
def mutated(draw: st.DrawFn, source: st.SearchStrategy[str]) -> str:
    """A grammatical string with a few edits: a cut, an insertion, a repeat, a truncation."""
    text = draw(source)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["cut", "insert", "repeat", "truncate", "case"]))
        if kind == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 5)) :]
        elif kind == "insert":
            token = draw(st.one_of(st.sampled_from(MUTATION_TOKENS), st.text(max_size=3)))
            text = text[:at] + token + text[at:]
        elif kind == "repeat":
            text = text[:at] + text[at:] * draw(st.integers(2, 4))
        elif kind == "truncate":
            text = text[:at]
        else:
            text = text.swapcase()
    return text


def hostile_filters() -> st.SearchStrategy[str]:
    return st.one_of(
        filters(),
        mutated(filters()),
        st.builds(
            wide_filter,
            st.sampled_from([10, 100, 999, 1_001, 3_000]),
            st.sampled_from(["and", "or"]),
        ),
        st.builds(nested_filter, st.sampled_from([50, 500, 1_000, 10_000])),
        hostile_text(),
    )


def search_parameters() -> st.SearchStrategy[dict[str, Any]]:
    """A query string's or a SearchRequest's parameters (RFC 7644 §3.4.2, §3.4.3)."""
    attribute_list = st.lists(attribute_paths(), max_size=3).map(",".join)
    return st.fixed_dictionaries(
        {},
        optional={
            "filter": hostile_filters(),
            "sortBy": st.one_of(attribute_paths(), hostile_text()),
            "sortOrder": st.one_of(st.sampled_from(["ascending", "descending", "up"]), hostile_text()),
            "startIndex": st.one_of(hostile_numbers().map(str), hostile_text()),
            "count": st.one_of(hostile_numbers().map(str), hostile_text()),
            "attributes": st.one_of(attribute_list, hostile_text()),
            "excludedAttributes": st.one_of(attribute_list, hostile_text()),
        },
    )  # fmt: skip


def search_requests() -> st.SearchStrategy[Any]:
    """POST .search bodies: the parameters as JSON, of right and wrong types (finding 7)."""
    return st.one_of(
        st.fixed_dictionaries(
            {"schemas": maybe(st.just([SEARCH_REQUEST]))},
            optional={
                "filter": maybe(hostile_filters()),
                "sortBy": maybe(attribute_paths()),
                "sortOrder": maybe(st.sampled_from(["ascending", "descending"])),
                "startIndex": maybe(hostile_numbers()),
                "count": maybe(hostile_numbers()),
                "attributes": maybe(st.lists(attribute_paths(), max_size=3)),
                "excludedAttributes": maybe(st.lists(attribute_paths(), max_size=3)),
            },
        ),
        hostile_json(),
    )  # fmt: skip


# --- PATCH and Bulk ------------------------------------------------------------------------------


def patch_paths() -> st.SearchStrategy[str]:
    return st.one_of(
        attribute_paths(),
        st.builds(lambda a, f: f"{a}[{f}]", st.sampled_from(["emails", "members", "phoneNumbers"]), filters()),
        st.builds(lambda a, f, s: f"{a}[{f}].{s}", st.sampled_from(["emails", "members"]), filters(), st.sampled_from(["value", "type", "display"])),
        mutated(st.builds(lambda f: f"members[{f}]", filters())),
        hostile_text(),
    )  # fmt: skip


def patch_operations() -> st.SearchStrategy[Any]:
    values = st.one_of(
        hostile_json(6),
        st.lists(st.fixed_dictionaries({"value": maybe(st.sampled_from(IDS))}), max_size=3),
        st.fixed_dictionaries({}, optional={"active": maybe(st.booleans()), "displayName": hostile_text(), "userName": user_names(), "members": hostile_json(4)}),
    )  # fmt: skip
    operation = st.fixed_dictionaries(
        {"op": maybe(st.sampled_from(["add", "replace", "remove", "Add", "Replace", "REMOVE", "move"]))},
        optional={"path": maybe(patch_paths()), "value": values},
    )  # fmt: skip
    return st.one_of(
        st.fixed_dictionaries(
            {
                "schemas": maybe(st.just([PATCH_OP])),
                "Operations": maybe(st.lists(operation, max_size=4)),
            }
        ),
        hostile_json(),
    )


def bulk_requests() -> st.SearchStrategy[Any]:
    paths = st.one_of(
        st.sampled_from(["/Users", "/Groups", "/Users/bulkId:u1", "/Groups/bulkId:g1", "/Nope", "Users", ""]),
        st.builds(lambda endpoint, i: f"/{endpoint}/{i}", st.sampled_from(["Users", "Groups"]), st.sampled_from(IDS)),
        hostile_text(),
    )  # fmt: skip
    data = st.one_of(
        users(), groups(), patch_operations(), st.just({"schemas": [USER], "userName": "bulkId:u1"})
    )
    operation = st.fixed_dictionaries(
        {"method": maybe(st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET", "post"]))},
        optional={"path": maybe(paths), "bulkId": maybe(st.sampled_from(["u1", "g1", "x"])), "data": data, "version": hostile_text()},
    )  # fmt: skip
    return st.one_of(
        st.fixed_dictionaries(
            {"schemas": maybe(st.just([BULK_REQUEST])), "Operations": maybe(st.lists(operation, max_size=5))},
            optional={"failOnErrors": maybe(st.integers(0, 5))},
        ),
        hostile_json(),
    )  # fmt: skip


# --- headers, content types, ids, tokens ------------------------------------------------------------

CONTENT_TYPES = [
    None, "application/scim+json", "application/json", "application/scim+json; charset=utf-8",
    "application/json; charset=utf-16", "application/json; charset=latin-1", "text/plain",
    "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml",
    "application/yaml", "text/yaml", "application/yaml; charset=utf-32", "*/*", "application/",
    "application/scim+json; charset=\"", "application/json;;;", "ÿ/ÿ",
]  # fmt: skip
ACCEPTS = [
    None, "*/*", "application/json", "application/scim+json", "application/yaml", "text/html",
    "text/csv;q=0", "application/json;q=abc", "*/*;q=0", "ÿ",
]  # fmt: skip


CONTROLS = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F])  # all but the tab


def header_values() -> st.SearchStrategy[bytes]:
    """What httpx sends as a header value: no control but the tab, no surrounding blanks.

    The rest (control characters, folding, bare CR) only raw_requests can send."""
    return st.one_of(
        st.binary(max_size=40).map(lambda b: b.translate(None, CONTROLS).strip(b" \t")),
        st.sampled_from([b"", b'W/"1"', b'""', b"*", b"\xff\xfe", b"x" * 8_000]),
    )


def resource_ids() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(IDS),
        st.uuids().map(str),
        st.sampled_from(
            ["0", "-1", "%00", "%2F", "..", ".", "%ff", "%ED%A0%80", "a" * 5_000, "null"]
        ),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=30),
    )


# The tokens a test has, by kind: the fuzzed organization's SCIM token and its members'
# admin-API tokens by role; another organization's SCIM and owner tokens.
TOKEN_KINDS = ["scim", "owner", "admin", "member", "other_scim", "other_owner"]


def authorizations() -> st.SearchStrategy[str | None]:
    """An Authorization header: a token's kind (the test puts it in), garbage, or none."""
    garbage = st.one_of(
        st.sampled_from(["", "Bearer", "bearer scim_", "Basic YTpi", "Bearer scim_00000000_" + "0" * 40, "Bearer " + "x" * 9_000]),
        st.builds(lambda t: f"Bearer {t}".strip(), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)),
    )  # fmt: skip
    kinds = st.sampled_from(TOKEN_KINDS).map(lambda kind: f"@{kind}@")
    return st.one_of(kinds, kinds, garbage, st.none())


# --- YAML mapping files ------------------------------------------------------------------------------


def alias_bomb(width: int, depth: int, where: str) -> str:
    """'Billion laughs': each level an anchored list of `width` aliases of the level below."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, depth):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    top = f"*l{depth - 1}"
    placed = {
        "plan": f"plan: {top}\nrules: []",
        "rules": f"plan: enterprise\nrules: {top}",
        "group": f"plan: enterprise\nrules:\n  - group: {top}\n    seat_type: chat",
        "priority": f"plan: enterprise\nrules:\n  - group: x\n    seat_type: chat\n    priority: {top}",
    }[where]
    return "\n".join(lines) + "\n" + placed + "\n"


TAGGED = [
    "!!int x", "!!int 0x_", "!!binary AAAA", "!!binary '!!!'", "!!float nope", "!!timestamp 2024-13-45",
    "!!python/object/apply:os.system ['true']", "!!python/object:builtins.dict {}", "!!python/name:os.system",
    "!!set {a, b}", "!!omap [a: 1]", "!!map {}", "!foo bar", "!<tag:yaml.org,2002:int> x", "!!null x",
    "!!bool maybe", "1" * 5_000, "0b" + "1" * 5_000, "1_000_000_000_000_000_000_000", ".inf", "-.nan",
]  # fmt: skip


def yaml_scalars() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(TAGGED),
        hostile_text().map(lambda text: json.dumps(text)),  # a double-quoted YAML scalar
        st.sampled_from(
            ["enterprise", "enterprise_legacy", "chat", "chat_code", "Engineering", "~", "''"]
        ),
    )


def mapping_files() -> st.SearchStrategy[str]:
    def rule(group: str, seat_type: str, priority: str | None) -> str:
        text = f"  - group: {group}\n    seat_type: {seat_type}\n"
        return text + (f"    priority: {priority}\n" if priority is not None else "")

    rules = st.lists(
        st.builds(rule, yaml_scalars(), yaml_scalars(), st.none() | yaml_scalars()), max_size=4
    )
    shaped = st.builds(
        lambda plan, body: f"plan: {plan}\nrules:\n{''.join(body)}", yaml_scalars(), rules
    )
    return st.one_of(
        shaped,
        shaped,
        st.builds(alias_bomb, st.integers(2, 9), st.integers(2, 9), st.sampled_from(["plan", "rules", "group", "priority"])),
        st.builds(lambda depth: "plan: enterprise\nrules: " + "[" * depth + "]" * depth + "\n", st.sampled_from(DEPTHS)),
        st.builds(lambda depth: "plan: enterprise\nrules:\n" + "".join("  " * i + "- \n" for i in range(1, depth)), st.sampled_from([10, 100, 500])),
        st.sampled_from(["", "---\n---\n", "%YAML 1.1\n---\nplan: enterprise", "plan: enterprise\nplan: enterprise", "\t- x", "a: &a [*a]", "<<: {plan: enterprise}", "plan: enterprise\nrules:\n  - <<: *nope"]),
        hostile_text(),
    )  # fmt: skip


# --- raw HTTP ------------------------------------------------------------------------------------------

METHODS = [
    "GET",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "HEAD",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "get",
    "G\x00T",
    "BREW",
    "M" * 30,
]
TARGETS = [
    "/scim/v2/Users", "/scim/v2/Groups", "/api/v1/organization", "/sso/acme/login", "/healthz",
    "*", "http://127.0.0.1/scim/v2/Users", "scim/v2/Users", "/scim/v2/Users?filter=%ZZ",
    "/scim/v2/Users/%00", "/api/v1/members/%ED%A0%80", "//scim/v2//Users", "/scim/v2/../api/v1/organization",
]  # fmt: skip
VERSIONS = [
    "HTTP/1.1",
    "HTTP/1.0",
    "HTTP/2.0",
    "HTTP/1.1x",
    "HTTP/9.9",
    "http/1.1",
    "",
    "HTTP/1.1 extra",
]


@st.composite
def raw_requests(draw: st.DrawFn) -> tuple[str, bytes]:
    """(the path, for the protocol of the answer; the request's bytes), mostly complete."""
    method = draw(st.sampled_from(METHODS))
    path = draw(st.sampled_from(TARGETS))
    target = path.encode() + draw(
        st.sampled_from(
            [b"", b"\xff", b"\x7f", b" ", b"\t", b"?x=\xe9", b"#frag", b"?" + b"q" * 40_000]
        )
    )
    version = draw(st.sampled_from(VERSIONS)).encode()
    headers = [b"Host: 127.0.0.1"]
    headers += draw(st.lists(st.sampled_from([
        b"Content-Type: application/scim+json\x7f", b"Content-Type: \xff", b"X-Bad Name: 1", b"X-Bad\x00: 1",
        b"Content-Length: -1", b"Content-Length: 1, 2", b"Content-Length: 99999999999999999999",
        b"Transfer-Encoding: chunked", b"Transfer-Encoding: br", b"Transfer-Encoding: chunked, chunked",
        b"Expect: 100-continue", b"Expect: magic", b"X-Folded: a\r\n b", b"X-Long: " + b"h" * 9_000,
        b"X-Request-Id: \xe9\xff", b"Authorization: Bearer \x01", b": empty name", b"X-Many: 1",
        b"Authorization: @scim@", b"Authorization: @owner@", b"Authorization: @scim@",
    ]), max_size=4))  # fmt: skip
    if draw(st.booleans()):
        headers += [b"X-Many: 1"] * draw(st.sampled_from([50, 101, 200]))
    body = draw(
        st.sampled_from(
            [b"", b"{}", b"zz\r\nbad chunk\r\n", b"5\r\nhello\r\n0\r\n\r\n", b"\x00" * 10]
        )
    )
    line = method.encode() + b" " + target + (b" " + version if version else b"")
    head = b"\r\n".join([line, *headers])
    if body and not any(h.startswith((b"Content-Length", b"Transfer-Encoding")) for h in headers):
        head += b"\r\nContent-Length: " + str(len(body)).encode()
    return path.split("?", 1)[0], head + b"\r\n\r\n" + body
