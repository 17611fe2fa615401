"""A fast path for validating long arrays against the JSON Schema, without a second truth.

jsonschema spends tens of microseconds per array item (reference lookups, validator evolution),
which is seconds for a site with 100,000 allocations. Items are almost always valid, so this
module compiles an ``items`` subschema into a plain Python predicate that answers "certainly
valid" or "not sure". Certainly-valid items skip jsonschema; everything else goes through it
unchanged, so every error message still comes from jsonschema and the schema file stays the
one description of the format.

The compiler understands a small set of keywords and gives up (no fast path) on anything else,
so a schema change can make validation slower, never more lenient.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

__all__ = ["fast_validator"]

Check = Callable[[Any], bool]

# Keywords that only annotate: they never make an instance invalid.
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
    }
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)  # the same test jsonschema's "date" applies


class _Unsupported(Exception):
    """The subschema uses something the fast path does not model; jsonschema handles it."""


def fast_validator(schema: Mapping[str, Any]) -> Validator:
    """A jsonschema validator for ``schema`` whose ``items`` keyword skips certainly-valid items.

    The result reports exactly the errors the plain validator reports.
    """
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
            yield from _ORIGINAL_ITEMS(validator, items, instance, subschema)
            return
        for index, item in enumerate(instance):
            if not check(item):
                yield from validator.descend(  # type: ignore[attr-defined]
                    instance=item, schema=items, path=index
                )

    cls = jsonschema.validators.extend(base, validators={"items": items})  # type: ignore[no-untyped-call]
    validator: Validator = cls(schema, format_checker=base.FORMAT_CHECKER)
    return validator


def _original_items() -> Callable[..., Iterator[jsonschema.ValidationError]]:
    return jsonschema.Draft202012Validator.VALIDATORS["items"]  # type: ignore[no-any-return]


_ORIGINAL_ITEMS = _original_items()


def _compile_or_none(subschema: Any, root: Mapping[str, Any]) -> Check | None:
    try:
        return _compile(subschema, root, depth=0)
    except _Unsupported:
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
    if depth > 16:
        raise _Unsupported("deep")
    if subschema is True:
        return _always
    if not isinstance(subschema, Mapping):
        raise _Unsupported("boolean false or odd schema")
    checks: list[Check] = []
    for keyword, value in subschema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword == "$ref":
            checks.append(_compile(_resolve(value, root), root, depth + 1))
        elif keyword == "type":
            checks.append(_type_check(value))
        elif keyword == "enum":
            checks.append(_enum_check(list(value)))
        elif keyword == "pattern":
            checks.append(_pattern_check(re.compile(value)))
        elif keyword in ("minLength", "maxLength"):
            checks.append(_length_check(int(value), at_least=keyword == "minLength"))
        elif keyword == "format":
            checks.append(_format_check(value))
        elif keyword == "required":
            checks.append(_required_check(tuple(value)))
        elif keyword == "properties":
            props = {name: _compile(sub, root, depth + 1) for name, sub in value.items()}
            closed = subschema.get("additionalProperties") is False
            checks.append(_properties_check(props, closed=closed))
        elif keyword == "additionalProperties":
            if value is not False or "properties" not in subschema:
                raise _Unsupported("additionalProperties other than false beside properties")
        else:
            raise _Unsupported(keyword)
    return _all_of(tuple(checks))


def _always(value: Any) -> bool:
    return True


def _enum_check(options: list[Any]) -> Check:
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
    def required(value: Any) -> bool:
        return not isinstance(value, dict) or all(name in value for name in names)

    return required


def _all_of(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 1:
        return checks[0]

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
