"""Group-mapping files (SEATS.md §5): YAML in, a validated `Mapping` out, every error at once.

    plan: enterprise          # must equal the organization's plan
    rules:
      - group: Engineering    # a SCIM group's displayName, externalId or id; or a groups-claim value
        seat_type: chat_code
        priority: 10          # optional; higher wins (see domain.mappings.Mapping)

Reading is safe: `yaml.SafeLoader` only, so a file builds plain data and nothing else.
marshmallow checks the shape; the catalog and the rules' precedence check the meaning.
Each error carries its 1-based line in the file, and all are reported together.

Decisions where SEATS.md is silent:
- A rule cannot map to `unassigned`: mappings route groups to seats, and automatic
  assignment treats "no mapping" and "full" alike (SEATS.md §4). To keep someone without
  a seat, an admin assigns them `unassigned` by hand, which pins it.
- Two rules whose groups are equal case-insensitively are duplicates (both lines are
  named): displayNames and groups-claim values compare case-insensitively, so the two
  rules decide for the same groups.
- A rule is unreachable when a rule that ranks above it names exactly the same group:
  every group it matches, that rule matches too, so it never decides a seat type. (A
  rule differing only in case still decides for an externalId or id spelled its way,
  so it is a duplicate, not unreachable.)
- `rules: []` is valid (the mapping routes nobody); `priority: null` means no priority.
- A key given twice in one YAML mapping is an error: YAML would silently keep the last.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate

from .domain.mappings import Mapping, Rule, name_key, precedence
from .domain.plans import CATALOG, Plan
from .domain.seats import UNASSIGNED
from .errors import InvalidInput
from .inputs import forbidden_character

Path = tuple[str, ...]


@dataclass(frozen=True, order=True)
class MappingError:
    line: int  # 1-based, in the file
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class MappingErrors(InvalidInput):
    """A mapping file that cannot be used; the admin API answers 422 with every error."""

    code = "invalid_mapping"

    def __init__(self, errors: list[MappingError]) -> None:
        self.errors = sorted(errors)
        lines = "\n".join(str(error) for error in self.errors)
        super().__init__(
            f"the mapping file is not valid:\n{lines}",
            errors=[{"line": e.line, "message": e.message} for e in self.errors],
        )


# --- the shape ------------------------------------------------------------------------------


def _name(max_length: int = 255) -> fields.String:
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=max_length, error=f"must be 1 to {max_length} characters"),
            # YAML escapes ("\0", "\ud800") decode to text no database stores: inputs.py.
            _storable,
        ],
        error_messages={
            "required": "is missing",
            "null": "must not be empty",
            "invalid": "must be a string (quote values such as 123, yes or 2024-01-01)",
        },
    )


def _storable(value: str) -> None:
    problem = forbidden_character(value)
    if problem is not None:
        raise ValidationError(f"must not hold {problem}")


class RuleSchema(Schema):
    error_messages = {
        "unknown": "unknown key; a rule has group, seat_type and priority",
        "type": "a rule must be a mapping of group, seat_type and priority",
    }

    group = _name()
    seat_type = _name(64)
    priority = fields.Integer(
        strict=True, allow_none=True, error_messages={"invalid": "must be an integer"}
    )


class MappingSchema(Schema):
    error_messages = {
        "unknown": "unknown key; a mapping file has plan and rules",
        "type": "a mapping file must be a mapping of plan and rules",
    }

    plan = _name(64)
    rules = fields.List(
        fields.Nested(RuleSchema, error_messages={"null": "a rule must be a mapping, not empty"}),
        required=True,
        error_messages={
            "invalid": "must be a list of rules",
            "null": "must be a list of rules (write [] for none)",
            "required": "is missing",
        },
    )


class StoredRuleSchema(RuleSchema):
    line = fields.Integer(strict=True, allow_none=True)


class StoredMappingSchema(MappingSchema):
    """The JSON a mapping is stored as: the file's content, with each rule's line."""

    rules = fields.List(fields.Nested(StoredRuleSchema), required=True)


# --- reading --------------------------------------------------------------------------------


def load_mapping(text: str, expected_plan: str | None = None) -> Mapping:
    """The mapping a file describes; raises MappingErrors listing every problem."""
    data, lines, errors = _parse(text)
    errors += _shape_errors(data, lines)
    errors += _meaning_errors(data, lines, expected_plan)
    if errors:
        raise MappingErrors(errors)
    valid = MappingSchema().load(data)
    rules = tuple(
        Rule(rule["group"], rule["seat_type"], rule.get("priority"), lines.line(("rules", str(i))))
        for i, rule in enumerate(valid["rules"])
    )
    return Mapping(valid["plan"], rules)


def decode(raw: bytes, media_type: str = "application/yaml") -> str:
    """A file's bytes as text (UTF-8, a BOM dropped); MappingErrors at the line of a bad byte.

    The CLI reads files and the admin API reads bodies as bytes: both decode here, so a
    file in another encoding is an error with its line, like any other. A file said to be
    JSON must be JSON: it is stored and served as such (YAML would accept more).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not valid UTF-8: byte 0x{raw[exc.start]:02x} ({exc.reason}); save as UTF-8"
        raise MappingErrors([MappingError(line, message)]) from exc
    if media_type == "application/json" and text.strip():
        _check_json(text)
    return text


def _check_json(text: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise MappingErrors([MappingError(exc.lineno, message)]) from exc
    except ValueError:
        pass  # a number of more digits than Python reads: JSON; the YAML reading names its line
    except RecursionError as exc:
        raise MappingErrors([MappingError(1, f"not valid JSON: {_TOO_DEEP}")]) from exc


def dump_json(mapping: Mapping) -> dict[str, Any]:
    """A JSON-ready dict for a database column; `from_json` reads it back."""
    return dict(StoredMappingSchema().dump(mapping))


def from_json(data: Any) -> Mapping:
    """A mapping stored by `dump_json`: validated once already, so a failure is corruption."""
    try:
        valid = StoredMappingSchema().load(data)
    except ValidationError as exc:
        raise ValueError(f"the stored mapping is malformed: {exc.messages}") from exc
    return Mapping(valid["plan"], tuple(Rule(**rule) for rule in valid["rules"]))


class _Lines:
    """Where each key (or list item) starts in the file, by path such as ("rules", "0")."""

    def __init__(self) -> None:
        self.starts: dict[Path, int] = {(): 1}
        self.errors: list[MappingError] = []

    def line(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor found (a missing key, a merge)."""
        while path not in self.starts:
            path = path[:-1]
        return self.starts[path]

    def index(self, node: yaml.Node, path: Path = ()) -> None:
        # Only as deep as a rule's keys: deeper values are errors anyway, and aliases
        # could make a full walk of the node graph exponential.
        if len(path) >= 3:
            return
        for key, child, start in _children(node):
            here = (*path, key)
            if here in self.starts:
                message = f"key given twice (before at line {self.starts[here]})"
                self.errors.append(MappingError(start, f"{_dotted(here)}: {message}"))
                # YAML keeps the last value given: the lines must point into it.
                for stale in [p for p in self.starts if p[: len(here)] == here]:
                    del self.starts[stale]
            self.starts[here] = start
            self.index(child, here)


def _children(node: yaml.Node) -> Iterator[tuple[str, yaml.Node, int]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                yield str(key.value), value, key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield str(i), item, item.start_mark.line + 1


def _parse(text: str) -> tuple[Any, _Lines, list[MappingError]]:
    lines = _Lines()
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None, lines, []
        _bound(node)  # before anything reads the values an alias stands for
        lines.starts[()] = node.start_mark.line + 1
        lines.index(node)  # before constructing: merge keys rewrite the nodes
        return loader.construct_document(node), lines, lines.errors
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = ", ".join(p for p in (exc.context, exc.problem) if p)
        raise MappingErrors([MappingError(line, f"not valid YAML: {problem}")]) from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise MappingErrors([MappingError(line, f"not valid YAML: {exc.reason}")]) from exc
    except RecursionError as exc:
        # PyYAML composes nested collections recursively: "[[[[…" would exhaust the stack.
        line = loader.get_mark().line + 1 if loader is not None else 1
        raise MappingErrors([MappingError(line, f"not valid YAML: {_TOO_DEEP}")]) from exc
    finally:
        if loader is not None:
            loader.dispose()


# What a file may expand to, checked on the composed nodes before anything is built or
# read from them. An alias shares its anchor's node, so 475 bytes of nested aliases
# ("billion laughs") stand for a billion values, which each reader of the built data
# (marshmallow, str()) would walk: 11 to 30 s and 1.2 GB before this bound.
MAX_YAML_VALUES = 100_000  # scalars and collections, once per alias that reaches them
MAX_YAML_ALIASES = 1_000
MAX_YAML_DEPTH = 16  # collections one inside the other; a mapping file nests three
_TOO_DEEP = (
    f"collections nested too deeply (more than {MAX_YAML_DEPTH}; a mapping file nests three)"
)


def _bound(root: yaml.Node) -> None:
    """MappingErrors at the first node past a bound: values, aliases, depth, or an alias
    inside the collection it names. One walk of the distinct nodes, depth first, with each
    node's expanded size and depth kept, so that an alias costs what a reference does."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth) once walked
    open_nodes: set[int] = set()
    aliases = 0
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]
    while pending:
        node, walked = pending.pop()
        children = _child_nodes(node)
        if walked:
            open_nodes.discard(id(node))
            values = 1 + sum(sizes[id(child)][0] for child in children)
            nested = max((sizes[id(child)][1] for child in children), default=0)
            depth = nested + (not isinstance(node, yaml.ScalarNode))
            if values > MAX_YAML_VALUES:
                _refuse(node, f"the file holds more than {MAX_YAML_VALUES:,} values once its "
                        "aliases are expanded")  # fmt: skip
            if depth > MAX_YAML_DEPTH:
                _refuse(node, _TOO_DEEP)
            sizes[id(node)] = (values, depth)
        elif id(node) in sizes:
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                _refuse(node, f"the file uses more than {MAX_YAML_ALIASES:,} aliases")
        elif id(node) in open_nodes:
            _refuse(node, "an alias stands inside the collection it names")
        else:
            open_nodes.add(id(node))
            pending.append((node, True))
            pending.extend((child, False) for child in children)


def _child_nodes(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse(node: yaml.Node, problem: str) -> None:
    raise MappingErrors([MappingError(node.start_mark.line + 1, f"not valid YAML: {problem}")])


class _Loader(yaml.SafeLoader):
    """SafeLoader, whose constructors fail as YAML errors with their line.

    `!!int x` raised ValueError, `!!bool x` KeyError, `!!timestamp x` AttributeError, and
    an integer of more digits than Python reads (5,000, say) ValueError: 500s. `!!binary`
    is not read at all: a mapping file holds text, and marshmallow would read bytes as a
    string. `!!python/…` tags have no constructor here, as in SafeLoader.
    """


def _with_line(construct: Callable[..., Any]) -> Callable[..., Any]:
    def constructed(loader: _Loader, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            shown = str(node.value) if len(str(node.value)) <= 40 else f"{str(node.value)[:40]}…"
            message = f"{node.tag} cannot be read from {shown!r}: {_short(exc)}"
            raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from exc

    return constructed


_Loader.yaml_constructors = {
    tag: construct if inspect.isgeneratorfunction(construct) else _with_line(construct)
    for tag, construct in yaml.SafeLoader.yaml_constructors.items()
    if tag != "tag:yaml.org,2002:binary"
}


def _short(exc: Exception, limit: int = 80) -> str:
    message = str(exc)
    return message if len(message) <= limit else f"{message[:limit]}…"


def _dotted(path: Path) -> str:
    """("rules", "2", "group") as rules[2].group, the way the messages name a place."""
    parts = [f"[{p}]" if i == 1 and path[0] == "rules" else f".{p}" for i, p in enumerate(path)]
    return "".join(parts).lstrip(".")


# --- the checks -----------------------------------------------------------------------------


def _shape_errors(data: Any, lines: _Lines) -> list[MappingError]:
    if data is None:
        return [MappingError(1, "the file is empty: it needs a plan and rules")]
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return [_error(lines, (), f"the file must be a mapping of plan and rules, not {kind}")]
    return [
        _error(lines, path, message) for path, message in _flatten(MappingSchema().validate(data))
    ]


def _flatten(messages: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, path if key == "_schema" else (*path, str(key)))
    else:
        for message in messages:
            yield path, str(message)


def _meaning_errors(data: Any, lines: _Lines, expected_plan: str | None) -> list[MappingError]:
    if not isinstance(data, dict):
        return []
    plan = CATALOG.get(str(data.get("plan"))) or CATALOG.get(expected_plan or "")
    raw = data["rules"] if isinstance(data.get("rules"), list) else []
    named = [(i, rule) for i, rule in enumerate(map(_written, raw)) if rule is not None]
    # A rule whose priority is broken is reported as such, not ranked.
    ranked = [(i, rule) for i, rule in named if _priority_ok(raw[i])]
    errors = [
        *_plan_errors(data.get("plan"), lines, expected_plan),
        *(_seat_type_error(plan, i, rule, lines) for i, rule in named if plan and rule.seat_type),
        *_duplicate_errors(named, lines),
        *_unreachable_errors(ranked, lines),
    ]
    return [error for error in errors if error is not None]


def _written(rule: Any) -> Rule | None:
    """What can be checked of a rule as written: its group, and its seat type if a string."""
    if not isinstance(rule, dict) or not isinstance(rule.get("group"), str) or not rule["group"]:
        return None
    seat_type = rule.get("seat_type")
    priority = rule.get("priority") if _priority_ok(rule) else None
    return Rule(rule["group"], seat_type if isinstance(seat_type, str) else "", priority)


def _priority_ok(rule: dict[Any, Any]) -> bool:
    value = rule.get("priority")
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _plan_errors(plan: Any, lines: _Lines, expected: str | None) -> list[MappingError]:
    if not isinstance(plan, str) or not plan:
        return []
    line = lines.line(("plan",))
    if plan not in CATALOG:
        known = ", ".join(CATALOG)
        return [MappingError(line, f"plan: unknown plan {plan!r}; the plans are {known}")]
    if expected is not None and plan != expected:
        message = f"plan: this file is for {plan}, but the organization's plan is {expected}"
        return [MappingError(line, message)]
    return []


def _seat_type_error(plan: Plan, i: int, rule: Rule, lines: _Lines) -> MappingError | None:
    if plan.seat_type(rule.seat_type) is not None:
        return None
    known = f"{plan.id} has {', '.join(s.id for s in plan.seat_types)}"
    other = next((p.id for p in CATALOG.values() if p.seat_type(rule.seat_type)), None)
    if rule.seat_type == UNASSIGNED:
        message = f"a rule cannot map to {UNASSIGNED}: mappings route groups to seats ({known})"
    elif other is not None:
        message = f"{rule.seat_type!r} is a seat type of {other}, not of {plan.id} ({known})"
    else:
        message = f"unknown seat type {rule.seat_type!r} ({known})"
    return _error(lines, ("rules", str(i), "seat_type"), message)


def _duplicate_errors(named: list[tuple[int, Rule]], lines: _Lines) -> list[MappingError]:
    errors = []
    for same in _by(named, lambda rule: name_key(rule.group)):
        (first_i, first), *others = same
        for i, rule in others:
            case = "" if rule.group == first.group else " (names compare case-insensitively)"
            where = f"lines {_line(lines, first_i)} and {_line(lines, i)}"
            message = f"duplicate rule: group {rule.group!r} is listed at {where}{case}"
            errors.append(_error(lines, ("rules", str(i), "group"), message))
    return errors


def _unreachable_errors(valid: list[tuple[int, Rule]], lines: _Lines) -> list[MappingError]:
    errors = []
    for same in _by(valid, lambda rule: rule.group):
        (winner_i, winner), *losers = sorted(same, key=lambda item: precedence(*item))
        for i, rule in losers:
            high, low = winner.priority or 0, rule.priority or 0
            why = f"priority {high} over {low}" if high > low else "same priority, earlier"
            message = (
                f"unreachable rule: the rule at line {_line(lines, winner_i)} for the same "
                f"group always wins ({why}), so this one never applies"
            )
            errors.append(_error(lines, ("rules", str(i)), message))
    return errors


def _by(rules: list[tuple[int, Rule]], key: Callable[[Rule], str]) -> list[list[tuple[int, Rule]]]:
    """The rules sharing a key, in file order, for every key shared by two or more."""
    groups: dict[str, list[tuple[int, Rule]]] = {}
    for i, rule in rules:
        groups.setdefault(key(rule), []).append((i, rule))
    return [same for same in groups.values() if len(same) > 1]


def _line(lines: _Lines, i: int) -> int:
    return lines.line(("rules", str(i)))


def _error(lines: _Lines, path: Path, message: str) -> MappingError:
    """An error at `path`, named in the message too: rules[2].seat_type: ..."""
    return MappingError(lines.line(path), f"{_dotted(path)}: {message}" if path else message)
