"""A fast path for validating long arrays against the JSON Schema, without a second truth.

jsonschema spends tens of microseconds per array item (reference lookups, validator evolution),
which is seconds for a site with 100,000 allocations. Items are almost always valid, so this
module compiles an ``items`` subschema into a plain Python predicate that answers "certainly
valid" or "not sure". Certainly-valid items skip jsonschema; everything else goes through it
unchanged, so every error message still comes from jsonschema and the schema file stays the
one description of the format.

The compiler understands a small set of keywords and gives up (no fast path) on anything else,
so a schema change can make validation slower, never more lenient. The whole schema compiles
too (:func:`certainly_valid`): a document it answers for is valid without jsonschema being
imported at all, about 40 ms of every ``validate``, ``plan`` and ``apply`` (jsonschema,
referencing, attrs and the metaschemas). ``if`` needs an exact answer, not a sure one: its
subschema compiles only from keywords that can be decided both ways (:func:`_exact`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where a document needs jsonschema's own verdict
    import jsonschema
    from jsonschema.protocols import Validator

__all__ = ["certainly_valid", "fast_validator"]

Check = Callable[[Any], bool]
_Keyword = Callable[[str, Any, Mapping[str, Any], Mapping[str, Any], int], list["Check"]]

# Keywords that only annotate (or, $defs, hold subschemas for $ref): they never make an
# instance invalid.
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "$comment",
        "examples",
        "default",
        "deprecated",
        "x-message",
        "x-conceal",
        "$schema",
        "$id",
        "$defs",
    }
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)  # the same test jsonschema's "date" applies


class _Unsupported(Exception):
    """The subschema uses something the fast path does not model; jsonschema handles it."""


def certainly_valid(schema: Mapping[str, Any]) -> Check | None:
    """A predicate true only of documents valid against the whole ``schema`` (false: not sure,
    ask jsonschema); None when the schema uses what the compiler does not model."""
    return _compile_or_none(schema, schema)


def fast_validator(schema: Mapping[str, Any]) -> Validator:
    """A jsonschema validator for ``schema`` whose ``items`` keyword skips certainly-valid items.

    The result reports exactly the errors the plain validator reports.
    """
    import jsonschema  # noqa: PLC0415 - only for a document the fast path is not sure of

    original_items = jsonschema.Draft202012Validator.VALIDATORS["items"]
    base = jsonschema.validators.validator_for(schema)
    compiled: dict[int, Check | None] = {}

    def items(
        validator: Validator, items: Any, instance: Any, subschema: Mapping[str, Any]
    ) -> Iterator[jsonschema.ValidationError]:
        if not validator.is_type(instance, "array"):
            return
        key = id(items)
        if key not in compiled:
            compiled[key] = _compile_or_none(items, schema)
        check = compiled[key]
        if check is None or "prefixItems" in subschema or items is False:
            yield from original_items(validator, items, instance, subschema)
            return
        for index, item in enumerate(instance):
            if not check(item):
                yield from validator.descend(  # type: ignore[attr-defined]
                    instance=item, schema=items, path=index
                )

    cls = jsonschema.validators.extend(base, validators={"items": items})  # type: ignore[no-untyped-call]
    validator: Validator = cls(schema, format_checker=base.FORMAT_CHECKER)
    return validator


def _compile_or_none(subschema: Any, root: Mapping[str, Any]) -> Check | None:
    try:
        return _compile(subschema, root, depth=0)
    except (_Unsupported, TypeError, ValueError, re.error):
        # A schema the compiler cannot read (a list where it expects a word, a bound that is
        # not a number, a pattern Python rejects) is jsonschema's to apply, as the rest.
        return None


def _resolve(ref: str, root: Mapping[str, Any]) -> Any:
    if not ref.startswith("#/"):
        raise _Unsupported(ref)
    node: Any = root
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise _Unsupported(ref)
        node = node[part]
    return node


def _compile(subschema: Any, root: Mapping[str, Any], depth: int) -> Check:
    """A predicate true only of instances certainly valid against ``subschema``."""
    return _combined(subschema, root, depth, _sure)


def _combined(subschema: Any, root: Mapping[str, Any], depth: int, keyword: _Keyword) -> Check:
    """The checks ``keyword`` makes of each of ``subschema``'s keywords, all to hold."""
    if depth > 16:
        raise _Unsupported("deep")
    if subschema is True:
        return _always
    if not isinstance(subschema, Mapping):
        raise _Unsupported("boolean false or odd schema")
    checks: list[Check] = []
    for name, value in subschema.items():
        if name not in _ANNOTATIONS:
            checks.extend(keyword(name, value, subschema, root, depth))
    return _all_of(tuple(checks))


def _sure(
    keyword: str, value: Any, subschema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> list[Check]:
    """One keyword's checks for :func:`_compile` (none: it constrains nothing alone)."""
    if keyword == "$ref":
        return [_compile(_resolve(value, root), root, depth + 1)]
    if keyword == "type":
        return [_type_check(value)]
    if keyword in ("enum", "const"):
        return [_enum_check(list(value) if keyword == "enum" else [value])]
    if keyword == "pattern":
        return [_pattern_check(re.compile(value))]
    if keyword in ("minLength", "maxLength"):
        return [_length_check(int(value), at_least=keyword == "minLength")]
    if keyword == "format":
        return [_format_check(value)]
    if keyword == "required":
        return [_required_check(tuple(value))]
    if keyword == "properties":
        props = {name: _compile(sub, root, depth + 1) for name, sub in value.items()}
        return [_properties_check(props, closed=subschema.get("additionalProperties") is False)]
    if keyword == "additionalProperties":
        if value is not False or "properties" not in subschema:
            raise _Unsupported("additionalProperties other than false beside properties")
        return []  # checked with "properties"
    if keyword in ("minimum", "maximum"):
        return [_bound_check(_number(value), at_least=keyword == "minimum")]
    if keyword in ("minProperties", "maxProperties"):
        return [_size_check(int(value), at_least=keyword == "minProperties")]
    if keyword == "items":
        return [_items_check(_compile(value, root, depth + 1))]
    if keyword == "allOf":
        return [_compile(sub, root, depth + 1) for sub in value]
    if keyword == "if":
        return [_if_check(subschema, root, depth)]
    if keyword in ("then", "else"):
        return []  # with "if" (without it, JSON Schema 2020-12 ignores them)
    raise _Unsupported(keyword)


def _if_check(subschema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> Check:
    """``if``/``then``/``else``: which branch applies must be known exactly, then that branch
    must certainly hold."""
    condition = _exact(subschema["if"], root, depth + 1)
    then = _compile(subschema.get("then", True), root, depth + 1)
    otherwise = _compile(subschema.get("else", True), root, depth + 1)

    def branch(value: Any) -> bool:
        return then(value) if condition(value) else otherwise(value)

    return branch


def _exact(subschema: Any, root: Mapping[str, Any], depth: int) -> Check:
    """A predicate true exactly of the instances valid against ``subschema`` (an ``if``'s):
    only keywords whose JSON Schema meaning Python decides the same way both ways."""
    return _combined(subschema, root, depth, _decided)


def _decided(
    keyword: str, value: Any, subschema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> list[Check]:
    """One keyword's exact check for :func:`_exact`."""
    if keyword == "$ref":
        return [_exact(_resolve(value, root), root, depth + 1)]
    if keyword == "type" and isinstance(value, str) and value in _EXACT_TYPES:
        return [_TYPES[value]]
    options = value if keyword == "enum" else [value]
    if keyword in ("const", "enum") and _all_text(options):
        return [_one_of_texts(frozenset(options))]
    if keyword == "required":
        return [_required_check(tuple(value))]
    if keyword == "properties" and "additionalProperties" not in subschema:
        props = {name: _exact(sub, root, depth + 1) for name, sub in value.items()}
        return [_properties_check(props, closed=False)]
    raise _Unsupported(f"{keyword} in an if")


# Not "integer" (JSON Schema counts 1.0 one, the fast test does not) nor "number" (jsonschema
# counts any numbers.Number, a Decimal too).
_EXACT_TYPES = frozenset({"string", "object", "array", "boolean", "null"})


def _all_text(options: Any) -> bool:
    return isinstance(options, list) and all(isinstance(option, str) for option in options)


def _one_of_texts(options: frozenset[str]) -> Check:
    """Exactly JSON Schema's ``enum`` of strings: no other value equals a string."""

    def one_of(value: Any) -> bool:
        return isinstance(value, str) and value in options

    return one_of


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Unsupported("a bound that is not a number")
    return value


def _bound_check(bound: float, *, at_least: bool) -> Check:
    def bounded(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True  # a bound applies to numbers only
        return value >= bound if at_least else value <= bound

    return bounded


def _size_check(bound: int, *, at_least: bool) -> Check:
    def size(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        return len(value) >= bound if at_least else len(value) <= bound

    return size


def _items_check(check: Check) -> Check:
    def items(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        for item in value:  # a plain loop: no generator per item  # noqa: SIM110
            if not check(item):
                return False
        return True

    return items


def _always(value: Any) -> bool:
    return True


def _enum_check(options: list[Any]) -> Check:
    if not all(option is None or isinstance(option, str | int | float) for option in options):
        # Python's == equates [True] with [1] inside containers; JSON Schema does not.
        raise _Unsupported("an enum or const option that is not a single value")

    def enum(value: Any) -> bool:
        # JSON Schema's enum does not equate true with 1 the way Python's == does.
        return any(value == option and type(value) is type(option) for option in options)

    return enum


def _pattern_check(regex: re.Pattern[str]) -> Check:
    def pattern(value: Any) -> bool:
        return not isinstance(value, str) or regex.search(value) is not None

    return pattern


def _length_check(bound: int, *, at_least: bool) -> Check:
    def length(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        return len(value) >= bound if at_least else len(value) <= bound

    return length


def _required_check(names: tuple[str, ...]) -> Check:
    if len(names) == 1:  # the usual case (an allocation's user): no generator per value
        (name,) = names

        def required_one(value: Any) -> bool:
            return not isinstance(value, dict) or name in value

        return required_one

    def required(value: Any) -> bool:
        return not isinstance(value, dict) or all(name in value for name in names)

    return required


def _all_of(checks: tuple[Check, ...]) -> Check:
    # Two or three checks (most subschemas) are called straight, without a loop per value.
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks

        def both(value: Any) -> bool:
            return first(value) and second(value)

        return both
    if len(checks) == 3:
        first, second, third = checks

        def all_three(value: Any) -> bool:
            return first(value) and second(value) and third(value)

        return all_three

    def all_of(value: Any) -> bool:
        for check in checks:  # a plain loop: no generator per value on the hot path  # noqa: SIM110
            if not check(value):
                return False
        return True

    return all_of


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _type_check(value: Any) -> Check:
    names = value if isinstance(value, list) else [value]
    unknown = [name for name in names if name not in _TYPES]
    if unknown:
        raise _Unsupported(f"type {unknown[0]}")
    tests = tuple(_TYPES[name] for name in names)
    if len(tests) == 1:
        return tests[0]

    def any_type(v: Any) -> bool:
        return any(test(v) for test in tests)

    return any_type


def _format_check(name: str) -> Check:
    if name != "date":
        raise _Unsupported(f"format {name}")

    def is_date(v: Any) -> bool:
        if not isinstance(v, str) or not _DATE.match(v):
            return not isinstance(v, str)
        try:
            dt.date.fromisoformat(v)
        except ValueError:
            return False
        return True

    return is_date


def _properties_check(props: dict[str, Check], *, closed: bool) -> Check:
    def properties(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, item in value.items():
            check = props.get(name)
            if check is None:
                if closed:
                    return False  # additionalProperties: false
            elif not check(item):
                return False
        return True

    return properties
