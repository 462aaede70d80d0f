"""SCIM filters and sorting as SQL: RFC 7644 §3.4.2.2 and §3.4.2.3 over the users and groups tables.

A filter becomes one WHERE clause and a sortBy one ORDER BY list, so that no request
loads a table into Python to filter, sort or page it. The meaning is the one of
scim2-models' ``ScimFilter.match``, which tests/test_filters.py holds this module to:

- strings compare through the comparison key: NFC, and lowercase unless caseExact;
- an unassigned attribute reads as null: ``eq null`` and ``ne "x"`` find it, nothing else does;
- a multi-valued attribute matches when one of its values does, and ``ne`` when none is equal;
- every clause is two-valued (never SQL NULL), so that ``not`` is an exact negation.

Where a value has an indexed column (schema.py) the column answers; the rest is read
from the JSON document, multi-valued attributes through json_each / jsonb_array_elements,
and a User's groups / a Group's members through the group_members rows.
"""

from __future__ import annotations

import base64
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from inspect import isclass
from typing import Any, Protocol, cast, get_args

from pydantic import ValidationError
from scim2_models import (
    BaseModel,
    Extension,
    InvalidFilterException,
    InvalidValueException,
    ScimFilter,
    SearchRequest,
    default_comparison_key,
)
from scim2_models.path import (
    ORDERING_OPERATORS,
    STRING_OPERATORS,
    AttributeBinding,
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)
from sqlalchemy import (
    BindParameter,
    Column,
    ColumnElement,
    FromClause,
    Integer,
    String,
    Table,
    and_,
    case,
    column,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import JSON

from scim_server.persistence.models import GroupMember, GroupRow, UserRow

from ..domain.seats import UNASSIGNED
from ..inputs import refuse_forbidden
from .schema import SEAT_URN, GroupModel, UserModel

Clause = ColumnElement[bool]
Value = ColumnElement[Any]

_USERS: Table = UserRow.__table__  # type: ignore[assignment]
_GROUPS: Table = GroupRow.__table__  # type: ignore[assignment]
_MEMBERSHIPS: Table = GroupMember.__table__  # type: ignore[assignment]

_DIALECTS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class _Resource:
    """What this module needs to know of one resource type and its table."""

    name: str
    model: Any
    table: Table
    # The multi-valued attribute stored as group_members rows rather than in ``data``.
    memberships: str
    # (field, sub-field) -> (column, whether it already holds the comparison key).
    columns: dict[tuple[str, str | None], tuple[Value, bool]]


def _columns(
    table: Table, resource: str, display_name: Value, keyed: bool
) -> dict[tuple[str, str | None], tuple[Value, bool]]:
    return {
        ("id", None): (table.c.id, False),
        ("external_id", None): (table.c.external_id, False),
        ("display_name", None): (display_name, keyed),
        ("meta", "created"): (table.c.created, False),
        ("meta", "last_modified"): (table.c.last_modified, False),
        # RFC 7643 §3.1: the same for every row of a table.
        ("meta", "resource_type"): (literal(resource), False),
    }


def _active() -> Value:
    """The active column where the document assigns active, else NULL.

    RFC 7643 §4.1.1 gives active no default: the column counts an unassigned one as
    active, but the resource shows none (resources.user_payload) and match() reads null.
    """
    assigned = _USERS.c.data["active"].as_string().is_not(None)
    return case((assigned, _USERS.c.active))


def _held_seat() -> Value:
    """The seat type held, NULL when none: an unassigned seatType is absent (SeatUser)."""
    return case((_USERS.c.seat_type != UNASSIGNED, _USERS.c.seat_type))


_RESOURCES = {
    "User": _Resource(
        "User",
        UserModel,
        _USERS,
        "groups",
        {
            **_columns(_USERS, "User", _USERS.c.display_name, keyed=False),
            ("user_name", None): (_USERS.c.user_name_key, True),
            ("active", None): (_active(), False),
            # The seat extension lives in columns (resources.seat_extension).
            ("seat_type", None): (_held_seat(), False),
            ("seat_source", None): (_USERS.c.seat_source, False),
        },
    ),
    "Group": _Resource(
        "Group",
        GroupModel,
        _GROUPS,
        "members",
        # Groups keep the comparison key of displayName; users only the value (models.py).
        _columns(_GROUPS, "Group", _GROUPS.c.display_name_key, keyed=True),
    ),
}

# Attributes that are not stored in a form a filter or a sort can read.
_UNREADABLE = {
    ("password", None): "'password' is never stored in clear (RFC 7643 §4.1.1)",
    ("meta", "location"): "'meta.location' is derived from the base URL, not stored",
    ("meta", "version"): "'meta.version' is not supported in filters nor sorting",
}
# Attributes computed when a resource is read, which neither a column nor the document
# holds: the seat extension keeps seatType in a column, and entitlements follow from it.
_DERIVED = {
    f"{SEAT_URN}:entitlements".lower(): (
        "follows from seatType (it lists the seat type's entitlements) and is not stored: "
        "filter or sort on seatType"
    ),
}


def parse_filter(text: str, resource: str) -> FilterNode:
    """The syntax tree of a filter on a resource type, or InvalidFilterException.

    Translating it is the one complete check: it refuses what the schema refuses
    (unknown attributes, ``gt`` on a boolean...) and what SQL cannot express here.
    """
    scim_filter = _bound(text, resource)
    _ResourceFilter(scim_filter, _Table(_resource(resource), "sqlite")).visit(scim_filter.ast)
    return scim_filter.ast


def filter_clause(text: str, resource: str, dialect: str) -> Clause:
    """A WHERE clause over UserRow or GroupRow; the caller adds the organization."""
    scim_filter = _bound(text, resource)
    table = _Table(_resource(resource), _dialect(dialect))
    return _ResourceFilter(scim_filter, table).visit(scim_filter.ast)


@dataclass(frozen=True)
class ColumnEquality:
    """A filter that is one column's equality: ``userName eq "bjensen"``.

    ``column`` is the key of a column of the resource's table that holds the comparison
    key itself (userName's key, a Group's displayName key) or a caseExact string (id,
    externalId), and ``key`` the value the filter asks of it, already in that form.
    """

    column: str
    key: str


# One attribute, ``eq``, one string without escapes: the lookups IdPs send before each
# write (Okta's userName, Entra's externalId). Anything else takes filter_clause.
_EQUALITY = re.compile(r'\s*([A-Za-z]+)\s+eq\s+"([^"\\]*)"\s*', re.IGNORECASE)


def column_equality(text: str, resource: str) -> ColumnEquality | None:
    """The filter as a ColumnEquality when it is one, else None.

    It finds the rows filter_clause finds (tests/test_filters.py holds it to that) for
    a few microseconds, where parsing the filter and building its clause cost a third
    of the CPU of the whole lookup.
    """
    if len(text) > MAX_FILTER_LENGTH:
        return None  # filter_clause refuses it
    match = _EQUALITY.fullmatch(text)
    if match is None:
        return None
    found = _equality_columns(resource).get(match[1].lower())
    if found is None:
        return None
    column, binding = found
    return ColumnEquality(column, _key(binding, match[2]))


@cache
def _equality_columns(resource: str) -> dict[str, tuple[str, AttributeBinding]]:
    """Attribute name (lowercase) -> (column key, binding), for the strings whose column
    holds what `_compare` compares: the value as stored, with no lower() around it."""
    columns: dict[str, tuple[str, AttributeBinding]] = {}
    for name in ("id", "externalId", "userName", "displayName"):
        scim_filter = _bound(f'{name} eq ""', resource)
        node = scim_filter.ast
        assert isinstance(node, Comparison)
        try:
            binding = _resolve(scim_filter, node.attr_path, comparison=True)
        except InvalidFilterException:
            continue  # userName of a Group
        entry = _resource(resource).columns.get((binding.field_name, binding.sub_field_name))
        if entry is None or binding.is_multivalued or _kind_of(binding.target_type) != "string":
            continue
        expr, keyed = entry
        if isinstance(expr, Column) and (keyed or binding.case_exact):
            columns[name.lower()] = (expr.key, binding)
    return columns


def sort_keys(
    sort_by: str | None, sort_order: str | None, resource: str, dialect: str
) -> list[Value]:
    """An ORDER BY list ending with the pk, so that pages never overlap nor skip a row."""
    table = _Table(_resource(resource), _dialect(dialect))
    descending = _is_descending(sort_order)
    rows = table.resource.table
    if sort_by is None:
        # Creation order, which ix_*_org_created serves; sortOrder orders "sortBy" only.
        return [rows.c.created.asc(), rows.c.pk.asc()]
    value = table.sort_value(_sort_binding(sort_by, table.resource.model))
    if value is None:
        return [rows.c.pk.asc()]
    # RFC 7644 §3.4.2.3: resources without a value "are ordered last if ascending and
    # first if descending", as SearchRequest.sort does; NULLS LAST/FIRST says so on
    # both databases, where SQLite alone would put NULLs first when ascending.
    ordered = value.desc().nulls_first() if descending else value.asc().nulls_last()
    return [ordered, rows.c.pk.asc()]


def _resource(name: str) -> _Resource:
    if name not in _RESOURCES:
        raise ValueError(f"unknown resource type {name!r}")
    return _RESOURCES[name]


def _dialect(name: str) -> str:
    if name not in _DIALECTS:
        raise ValueError(f"unsupported dialect {name!r}")
    return name


# ---- reading the filter


# How large a filter may be, the same on both databases: far beyond what an IdP sends
# (Okta and Entra look users and groups up with one to three terms, a few KB in a query
# string at most), and well within what SQLite evaluates (an expression tree at most
# 1,000 deep, where a chain of n terms is n to 2n deep: an `and` of 500 comparisons is
# refused). scim2-models bounds the nesting (32) but not the parentheses, which cost the
# parser time in proportion: the length is bounded before anything is parsed.
MAX_FILTER_LENGTH = 16_384
MAX_FILTER_TERMS = 200
# A sortBy or a PATCH path names one attribute, with at most a short value selection.
# scim2-models keeps paths up to this long parsed; a longer one is parsed again at each
# step of a PATCH's validation.
MAX_PATH_LENGTH = 1_024


def _bound(text: str, resource: str) -> ScimFilter[Any]:
    """The filter bound to the resource's model, which checks operators and values.

    RFC 7644 §3.4.2.2 wants JSON values, but Entra's documentation sends
    ``externalId eq 1a2b-3c``: only a filter that does not parse is retried, once, with
    its bare values quoted; if that does not make it parse, the original error stands.
    A filter that parses is parsed once (parsing costs more than the query it becomes).
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilterException(
            detail=f"the filter is longer than {MAX_FILTER_LENGTH:,} characters"
        )
    bound_filter = _bound_to(ScimFilter, _resource(resource).model)
    try:
        scim_filter = cast(ScimFilter[Any], bound_filter(text))
    except InvalidFilterException as error:
        quoted = _BARE_VALUE.sub(_quote_bare_value, text)
        if quoted == text:
            raise
        try:
            scim_filter = cast(ScimFilter[Any], bound_filter(quoted))
        except InvalidFilterException:
            raise error from None
    check_filter(scim_filter.ast)
    return scim_filter


def check_filter(root: FilterNode) -> None:
    """At most MAX_FILTER_TERMS comparisons and presence tests, those in brackets too; and
    no value whose escapes (``"\\u0000"``) decode to text no database stores (inputs.py).

    Also for the filters of PATCH paths (scim.requests), which scim2-models parses.
    """
    count, pending = 0, [root]
    while pending:
        node = pending.pop()
        if isinstance(node, LogicalExpr):
            pending.extend(node.terms)
        elif isinstance(node, Not):
            pending.append(node.expr)
        elif isinstance(node, ValuePath):
            pending.append(node.val_filter)
        else:
            count += 1
            if isinstance(node, Comparison) and isinstance(node.value, str):
                refuse_forbidden(node.value, f"the value compared to '{node.attr_path}'")
    if count > MAX_FILTER_TERMS:
        raise InvalidFilterException(
            detail=f"the filter has {count} terms, more than {MAX_FILTER_TERMS} terms"
        )


def _bound_to(generic: Any, model: Any) -> Any:
    """``generic[model]``: the model is a runtime value, which mypy cannot read as a type."""
    return generic[model]


# A quoted string, left alone, or a comparison operator and the unquoted value after it.
_BARE_VALUE = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*")'
    r'|(?<=\s)(?P<op>eq|ne|co|sw|ew|gt|ge|lt|le)(?P<gap>\s+)(?P<value>[^\s"()\[\]]+)',
    re.IGNORECASE,
)
_LITERAL = re.compile(
    r"true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.IGNORECASE
)


def _quote_bare_value(match: re.Match[str]) -> str:
    value = match["value"]
    if value is None or _LITERAL.fullmatch(value):
        return match[0]
    return f"{match['op']}{match['gap']}{json.dumps(value, ensure_ascii=False)}"


def _resolve(scim_filter: ScimFilter[Any], path: AttrPath, comparison: bool) -> AttributeBinding:
    """The attribute a path names; an unknown one is an invalidFilter (RFC 7644 §3.4.2.2)."""
    resolve = scim_filter.resolve_comparison if comparison else scim_filter.resolve
    binding = resolve(path, strict=True)
    if binding is None:  # only an unbound filter answers None
        raise InvalidFilterException(detail=f"cannot resolve '{path}'")
    return binding


def _expected(binding: AttributeBinding, node: Comparison) -> Any:
    """The filter's value in the attribute's type, as match() compares it."""
    expected = coerce_value(binding, node.value, node.op)
    if isinstance(expected, datetime) and expected.tzinfo is None:
        raise InvalidFilterException(
            detail=f"'{node.attr_path}' compares instants: give {node.value!r} a time zone, "
            "such as 2024-01-01T00:00:00Z (RFC 7643 §2.3.5)"
        )
    if isinstance(expected, datetime):
        try:  # as the columns hold it (persistence.types.UTCDateTime)
            expected = expected.astimezone(UTC)
        except OverflowError:  # the year 1 east of Greenwich, 9999 west of it
            raise InvalidFilterException(
                detail=f"{node.value!r} is out of range: it is no instant of the years 1 to "
                "9999 in UTC"
            ) from None
    return expected


# ---- the visitors


class _Logic(FilterVisitor[Clause]):
    """and, or, not: exact since every leaf below is two-valued."""

    def visit_not(self, node: Not) -> Clause:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Clause:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)


class _ResourceFilter(_Logic):
    """A filter on the resource itself."""

    def __init__(self, scim_filter: ScimFilter[Any], table: _Table) -> None:
        self.scim_filter = scim_filter
        self.table = table

    def visit_comparison(self, node: Comparison) -> Clause:
        # resolve_comparison reads ``emails co "x"`` as ``emails.value co "x"`` (RFC 7643 §2.4).
        binding = _resolve(self.scim_filter, node.attr_path, comparison=True)
        expected = _expected(binding, node)
        if binding.is_multivalued:
            return _compare_each(self.table.collection(binding), binding, node.op, expected)
        return _compare(self.table.operand(binding), node.op, expected)

    def visit_present(self, node: Present) -> Clause:
        binding = _resolve(self.scim_filter, node.attr_path, comparison=False)
        if binding.is_multivalued:
            return self.table.collection(binding).any(lambda scope: _present_in(scope, binding))
        return self.table.present(binding)

    def visit_value_path(self, node: ValuePath) -> Clause:
        binding = _resolve(self.scim_filter, node.attr_path, comparison=False)
        if not (binding.is_multivalued and _is_complex(binding)):
            raise InvalidFilterException(
                detail=f"'{node.attr_path}' holds no complex values to select (RFC 7644 §3.4.2.2)"
            )

        def matches(scope: _Scope) -> Clause:
            return _ElementFilter(self.scim_filter, node.attr_path, scope).visit(node.val_filter)

        return self.table.collection(binding).any(matches)


class _ElementFilter(_Logic):
    """The filter between brackets of a valuePath, on one value of the attribute."""

    def __init__(self, scim_filter: ScimFilter[Any], outer: AttrPath, scope: _Scope) -> None:
        self.scim_filter = scim_filter
        self.outer = outer
        self.scope = scope

    def _binding(self, path: AttrPath) -> AttributeBinding:
        if path.uri or path.sub_attr:
            raise InvalidFilterException(
                detail=f"'{path}' in '{self.outer}[...]' must name one of its sub-attributes"
            )
        return _resolve(
            self.scim_filter, AttrPath(self.outer.attr, path.attr, self.outer.uri), False
        )

    def visit_comparison(self, node: Comparison) -> Clause:
        binding = self._binding(node.attr_path)
        return _compare(self.scope.operand(binding), node.op, _expected(binding, node))

    def visit_present(self, node: Present) -> Clause:
        return _present(self.scope.operand(self._binding(node.attr_path)))

    def visit_value_path(self, node: ValuePath) -> Clause:
        raise InvalidFilterException(detail="value selections cannot nest (RFC 7644 §3.4.2.2)")


# ---- one value and what it is compared as


_KINDS: tuple[tuple[str, Any], ...] = (
    ("boolean", bool),  # before number: bool is an int in Python
    ("number", (int, float)),
    ("datetime", datetime),
    ("binary", bytes),
    ("complex", BaseModel),
)


def _kind_of(python_type: Any) -> str:
    if getattr(python_type, "__metadata__", None):  # Annotated, as Base64Bytes is
        python_type = get_args(python_type)[0]
    for kind, types in _KINDS:
        if isclass(python_type) and issubclass(python_type, types):
            return kind
    return "string"


def _is_complex(binding: AttributeBinding) -> bool:
    return _kind_of(binding.target_type) == "complex"


@dataclass(frozen=True)
class _Operand:
    """One value of an attribute as SQL: NULL when it is unassigned."""

    expr: Value
    binding: AttributeBinding
    dialect: str
    # The column holds the comparison key already (user_name_key, display_name_key).
    keyed: bool = False

    @property
    def kind(self) -> str:
        return _kind_of(self.binding.target_type)

    def key_form(self, ordering: bool = False) -> Value:
        """The SQL side of a string comparison, in the form comparison keys take."""
        form = self.expr if self.keyed or self.binding.case_exact else func.lower(self.expr)
        # match() orders strings by code point, as SQLite does; PostgreSQL needs "C" for it.
        return form.collate("C") if ordering and self.dialect == "postgresql" else form


def _key(binding: AttributeBinding, value: Any) -> str:
    return default_comparison_key(binding, str(value))


_OPERATORS: dict[CompareOperator, Callable[[Any, Any], Clause]] = {
    CompareOperator.eq: operator.eq,
    CompareOperator.gt: operator.gt,
    CompareOperator.ge: operator.ge,
    CompareOperator.lt: operator.lt,
    CompareOperator.le: operator.le,
}


def _compare(operand: _Operand, op: CompareOperator, expected: Any) -> Clause:
    """One value against the filter's, as scim2_models.path.visitor._compare does."""
    if expected is None:
        return _compare_to_null(operand.expr, op)
    if op in STRING_OPERATORS:
        return _compare_substring(operand, op, expected)
    left, right = _sides(operand, expected, ordering=op in ORDERING_OPERATORS)
    if op == CompareOperator.ne:
        return or_(operand.expr.is_(None), left != right)
    return and_(operand.expr.is_not(None), _OPERATORS[op](left, right))


def _compare_to_null(expr: Value, op: CompareOperator) -> Clause:
    # match() finds unassigned values with "eq null", assigned ones with "ne null";
    # no value is greater than null, nor contains it.
    if op == CompareOperator.eq:
        return expr.is_(None)
    if op == CompareOperator.ne:
        return expr.is_not(None)
    return false()


def _sides(operand: _Operand, expected: Any, ordering: bool) -> tuple[Value, Any]:
    if operand.kind == "string":
        return operand.key_form(ordering), _key(operand.binding, expected)
    if operand.kind == "binary":
        # Stored as the base64 text scim2-models dumps (RFC 7643 §2.3.6); coerce_value decoded ours.
        return operand.expr, base64.b64encode(expected).decode()
    return operand.expr, expected


def _compare_substring(operand: _Operand, op: CompareOperator, expected: Any) -> Clause:
    # co, sw and ew find strings in strings only: "meta.created co 2024" is false, as in match().
    if operand.kind != "string" or not isinstance(expected, str):
        return false()
    fragment = _key(operand.binding, expected)
    found = _substring_match(operand.key_form(), op, fragment, operand.dialect)
    return and_(operand.expr.is_not(None), found)


def _substring_match(left: Value, op: CompareOperator, fragment: str, dialect: str) -> Clause:
    """A pattern in which the filter's value is literal text.

    SQLite's LIKE ignores ASCII case, which a caseExact attribute must not: GLOB does
    not, and lower() already folded the others. PostgreSQL's LIKE is case-sensitive.
    """
    if dialect == "sqlite":
        escaped = re.sub(r"([*?\[])", r"[\1]", fragment)
        return left.op("GLOB", is_comparison=True)(_surround(op, escaped, "*"))
    escaped = re.sub(r"([\\%_])", r"\\\1", fragment)
    return left.like(_surround(op, escaped, "%"), escape="\\")


def _surround(op: CompareOperator, text: str, wildcard: str) -> str:
    if op == CompareOperator.co:
        return f"{wildcard}{text}{wildcard}"
    return f"{text}{wildcard}" if op == CompareOperator.sw else f"{wildcard}{text}"


def _present(operand: _Operand) -> Clause:
    return _present_value(operand.expr, operand.kind)


def _present_value(expr: Value, kind: str) -> Clause:
    """RFC 7644 §3.4.2.2 "pr": a non-empty, non-null value; false and 0 are values."""
    if kind in ("string", "binary"):
        return and_(expr.is_not(None), expr != "")
    return expr.is_not(None)


# ---- JSON


def _json_scalar(node: Value, kind: str) -> Value:
    """A JSON value as SQL: booleans and numbers keep their JSON type (RFC 7643 §2.3)."""
    if kind == "boolean":
        return node.as_boolean()
    if kind == "number":
        return node.as_float()
    return node.as_string()


def _json_operand(node: Value, binding: AttributeBinding, dialect: str) -> _Operand:
    kind = _kind_of(binding.target_type)
    if kind == "complex":
        raise InvalidFilterException(
            detail=f"'{binding.urn}' is complex: compare one of its sub-attributes"
        )
    if kind == "datetime":  # no served schema keeps one in the document
        raise InvalidFilterException(detail=f"'{binding.urn}' is not stored as a dateTime")
    return _Operand(_json_scalar(node, kind), binding, dialect)


def _any_field_present(model: Any, member: Callable[[str], Value]) -> Clause:
    """RFC 7644 §3.4.2.2: a complex value is present when one of its sub-attributes is."""
    return or_(
        *(
            _present_value(_json_scalar(member(str(info.serialization_alias)), kind), kind)
            for name, info in model.model_fields.items()
            if (kind := _kind_of(model.get_field_root_type(name))) != "complex"
        )
    )


def _alias(model: Any, field_name: str) -> str:
    """The name a field has in the stored document (camelCase, ``$ref``)."""
    return str(model.model_fields[field_name].serialization_alias)


# ---- where values are: the row, the values of a multi-valued attribute


class _Scope(Protocol):
    """One value of a multi-valued attribute, for the filter applied to it."""

    def operand(self, binding: AttributeBinding) -> _Operand: ...

    def whole(self) -> Clause: ...


class _Collection(Protocol):
    def any(self, predicate: Callable[[_Scope], Clause]) -> Clause: ...


def _present_in(scope: _Scope, binding: AttributeBinding) -> Clause:
    return scope.whole() if binding.sub_field_name is None else _present(scope.operand(binding))


def _compare_each(
    collection: _Collection, binding: AttributeBinding, op: CompareOperator, expected: Any
) -> Clause:
    """A comparison on a multi-valued attribute, as match() reads it.

    RFC 7644 §3.4.2.2 has it match when one value does; for "ne", which the RFC
    leaves open, match() requires that no value be equal. An unassigned attribute
    (no value at all: RFC 7643 §2.5 makes an empty array the same state) reads as
    null, so "eq null" finds it and "ne null" does not.
    """
    if op == CompareOperator.ne:
        matched = not_(
            collection.any(lambda s: _compare(s.operand(binding), CompareOperator.eq, expected))
        )
    else:
        matched = collection.any(lambda s: _compare(s.operand(binding), op, expected))
    has_values = collection.any(lambda s: true())
    if op == CompareOperator.eq and expected is None:
        return or_(not_(has_values), matched)
    if op == CompareOperator.ne and expected is None:
        return and_(has_values, matched)
    return matched


@dataclass(frozen=True)
class _Table:
    """The row a filter is evaluated on: its indexed columns, then its JSON document."""

    resource: _Resource
    dialect: str

    def operand(self, binding: AttributeBinding) -> _Operand:
        key = _readable(binding)
        if key in self.resource.columns:
            expr, keyed = self.resource.columns[key]
            return _Operand(expr, binding, self.dialect, keyed)
        return _json_operand(self._document(binding), binding, self.dialect)

    def present(self, binding: AttributeBinding) -> Clause:
        if not _is_complex(binding):
            return _present(self.operand(binding))
        if binding.field_name == "meta":
            return true()  # every stored resource has meta.created
        path = self._path(binding)
        return _any_field_present(binding.field_type, lambda name: self._data[(*path, name)])

    def collection(self, binding: AttributeBinding) -> _Collection:
        _readable(binding)
        if binding.field_name == self.resource.memberships:
            return _Memberships(self.resource.name, self.dialect)
        if binding.field_name == "schemas":
            return _Schemas(self.resource, self._data, self.dialect)
        return _JsonArray(
            self._data, self._path(binding, head=True), binding.field_type, self.dialect
        )

    def sort_value(self, binding: AttributeBinding) -> Value | None:
        """What RFC 7644 §3.4.2.3 sorts on, None for a value all rows share."""
        try:
            value, kind = self._sort_value(binding)
        except InvalidFilterException as exc:
            raise InvalidValueException(detail=exc.detail) from exc
        if isinstance(value, BindParameter):
            return None
        # Code point order for strings, as SearchRequest.sort compares them.
        return value.collate("C") if kind == "string" and self.dialect == "postgresql" else value

    def _sort_value(self, binding: AttributeBinding) -> tuple[Value, str]:
        if not binding.is_multivalued:
            operand = self.operand(binding)
            return _sort_form(operand), operand.kind
        collection = self.collection(binding)
        if not isinstance(collection, _JsonArray):
            raise InvalidFilterException(
                detail=f"'{binding.urn}' has no primary nor first value to sort on"
            )
        first = collection.primary_or_first(lambda scope: _sort_form(scope.operand(binding)))
        return first, _kind_of(binding.target_type)

    @property
    def _data(self) -> Value:
        return self.resource.table.c.data

    def _document(self, binding: AttributeBinding) -> Value:
        return self._data[self._path(binding)]

    def _path(self, binding: AttributeBinding, head: bool = False) -> tuple[str, ...]:
        """Where the attribute is in ``data``: an extension's under its URN (schema.py)."""
        if isclass(binding.field_type) and issubclass(binding.field_type, Extension):
            raise InvalidFilterException(
                detail=f"name the attributes of '{binding.urn}' by the schema URN, "
                f"as in '{binding.field_type.__schema__}:attribute'"
            )
        path = [_alias(binding.model, binding.field_name)]
        if binding.sub_field_name and not head:
            path.append(_alias(binding.field_type, binding.sub_field_name))
        if issubclass(binding.model, Extension):
            path.insert(0, str(binding.model.__schema__))
        return tuple(path)


def _readable(binding: AttributeBinding) -> tuple[str, str | None]:
    """Where a filter or a sort may read the attribute: its (field, sub-field) key."""
    key = (binding.field_name, binding.sub_field_name)
    if key in _UNREADABLE:
        raise InvalidFilterException(detail=_UNREADABLE[key])
    if binding.urn.lower() in _DERIVED:
        raise InvalidFilterException(detail=f"'{binding.urn}' {_DERIVED[binding.urn.lower()]}")
    return key


def _sort_form(operand: _Operand) -> Value:
    # RFC 7644 §3.4.2.3: strings sort case-insensitively unless caseExact.
    return operand.key_form() if operand.kind == "string" else operand.expr


@dataclass(frozen=True)
class _JsonArray:
    """A multi-valued attribute kept as a JSON array in ``data`` (emails, roles...)."""

    data: Value
    path: tuple[str, ...]
    item_model: Any
    dialect: str

    def any(self, predicate: Callable[[_Scope], Clause]) -> Clause:
        elements = self._elements()
        scope = _JsonElement(elements.c.value, self.item_model, self.dialect)
        return select(1).select_from(elements).where(predicate(scope)).exists()

    def primary_or_first(self, value: Callable[[_Scope], Value]) -> Value:
        """RFC 7644 §3.4.2.3: "the value of the primary attribute, if any, or else the first"."""
        elements = self._elements()
        scope = _JsonElement(elements.c.value, self.item_model, self.dialect)
        primary = elements.c.value["primary"].as_boolean()
        position = elements.c.ordinality if self.dialect == "postgresql" else elements.c.key
        first = select(value(scope)).select_from(elements)
        first = first.order_by(case((primary.is_(True), 0), else_=1), position)
        return first.limit(1).scalar_subquery()

    def _elements(self) -> FromClause:
        if self.dialect == "postgresql":
            array = func.jsonb_array_elements(self.data[self.path])
            return array.table_valued(column("value", JSONB), with_ordinality="ordinality")
        path = "$" + "".join(f'."{name}"' for name in self.path)
        array = func.json_each(self.data, path)
        return array.table_valued(column("value", JSON), column("key", Integer))


@dataclass(frozen=True)
class _JsonElement:
    value: Value
    item_model: Any
    dialect: str

    def operand(self, binding: AttributeBinding) -> _Operand:
        name = _alias(self.item_model, str(binding.sub_field_name))
        return _json_operand(self.value[name], binding, self.dialect)

    def whole(self) -> Clause:
        return _any_field_present(self.item_model, lambda name: self.value[name])


@dataclass(frozen=True)
class _Memberships:
    """A User's groups or a Group's members: rows of group_members, not JSON."""

    resource: str
    dialect: str

    def any(self, predicate: Callable[[_Scope], Clause]) -> Clause:
        joined, own, scope = self._members() if self.resource == "Group" else self._groups()
        return select(1).select_from(joined).where(own, predicate(scope)).exists()

    def _members(self) -> tuple[FromClause, Clause, _Member]:
        links, users = _MEMBERSHIPS, _USERS.alias()
        # The display a Group shows (repositories.members_of): the client's, else the user's.
        display = func.coalesce(links.c.display, users.c.display_name, users.c.user_name)
        # RFC 7643 §4.2: the members here are Users.
        scope = _Member(users.c.id, display, False, "User", self.dialect)
        joined = links.join(users, users.c.pk == links.c.user_pk)
        return joined, links.c.group_pk == _GROUPS.c.pk, scope

    def _groups(self) -> tuple[FromClause, Clause, _Member]:
        links, groups = _MEMBERSHIPS, _GROUPS.alias()
        # RFC 7643 §4.1.2: groups do not nest here, so every membership is "direct".
        scope = _Member(groups.c.id, groups.c.display_name_key, True, "direct", self.dialect)
        joined = links.join(groups, groups.c.pk == links.c.group_pk)
        return joined, links.c.user_pk == _USERS.c.pk, scope


@dataclass(frozen=True)
class _Member:
    """One membership, seen from the group (a member) or from the user (a group)."""

    value: Value
    display: Value
    display_keyed: bool
    type: str
    dialect: str

    def operand(self, binding: AttributeBinding) -> _Operand:
        name = binding.sub_field_name
        if name == "value":
            return _Operand(self.value, binding, self.dialect)
        if name == "display":
            return _Operand(self.display, binding, self.dialect, self.display_keyed)
        if name == "type":
            return _Operand(literal(self.type, String()), binding, self.dialect)
        raise InvalidFilterException(detail=f"'{binding.urn}' is derived, not stored")

    def whole(self) -> Clause:
        return true()  # every membership has a value


@dataclass(frozen=True)
class _Schemas:
    """RFC 7643 §3 "schemas": the core schema, and each extension the document holds."""

    resource: _Resource
    data: Value
    dialect: str

    def any(self, predicate: Callable[[_Scope], Clause]) -> Clause:
        terms = [predicate(_Literal(str(self.resource.model.__schema__), self.dialect))]
        for urn in self.resource.model.get_extension_models():
            held = self.data[(urn,)].as_string().is_not(None)
            terms.append(and_(held, predicate(_Literal(str(urn), self.dialect))))
        return or_(*terms)


@dataclass(frozen=True)
class _Literal:
    text: str
    dialect: str

    def operand(self, binding: AttributeBinding) -> _Operand:
        return _Operand(literal(self.text, String()), binding, self.dialect)

    def whole(self) -> Clause:
        return true()


# ---- sorting


def _is_descending(sort_order: str | None) -> bool:
    # RFC 7644 §3.4.2.3: "ascending" or "descending", ascending by default.
    if sort_order is None:
        return False
    if sort_order.lower() not in ("ascending", "descending"):
        raise InvalidValueException(
            detail=f"sortOrder must be 'ascending' or 'descending', not {sort_order!r}"
        )
    return sort_order.lower() == "descending"


def _sort_binding(sort_by: str, model: Any) -> AttributeBinding:
    """The attribute sortBy names; SearchRequest refuses complex, binary and write-only ones."""
    if len(sort_by) > MAX_PATH_LENGTH:
        raise InvalidValueException(detail=f"sortBy is longer than {MAX_PATH_LENGTH:,} characters")
    try:
        request = _bound_to(SearchRequest, model)(sort_by=sort_by)
    except ValidationError as exc:
        raise InvalidValueException(detail=f"sortBy: {exc.errors()[0]['msg']}") from exc
    binding = request.sort_binding(model)
    if binding is None:
        raise InvalidValueException(detail=f"cannot sort on {sort_by!r}")
    return binding
