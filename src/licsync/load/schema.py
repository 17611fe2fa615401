"""Schema problems: each jsonschema error said at the line and column of the value, in words."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from licsync.errors import Problem
from licsync.fastschema import Check, certainly_valid, fast_validator
from licsync.schemas import LICENSES_SCHEMA, load_schema
from licsync.yamlsafe import ESCAPE_MEANINGS, BadNumber, YamlDocument

if TYPE_CHECKING:  # jsonschema is imported for a document the fast check is not sure of
    import jsonschema

_SECRET_WORDS = ("password", "token", "secret", "key", "jwt", "credential")


def _validator() -> jsonschema.protocols.Validator:
    global _VALIDATOR  # noqa: PLW0603 - built once: compiling the schema per file is wasteful
    if _VALIDATOR is None:
        _VALIDATOR = fast_validator(load_schema(LICENSES_SCHEMA))
    return _VALIDATOR


_VALIDATOR: jsonschema.protocols.Validator | None = None


def _certain() -> Check:
    global _CERTAIN  # noqa: PLW0603 - compiled once, as the validator
    if _CERTAIN is None:
        compiled = certainly_valid(load_schema(LICENSES_SCHEMA))
        _CERTAIN = compiled if compiled is not None else _never
    return _CERTAIN


def _never(value: Any) -> bool:
    return False


_CERTAIN: Check | None = None


def schema_problems(doc: YamlDocument) -> Iterator[tuple[Problem, tuple[str | int, ...]]]:
    """The schema's complaints about a document, each with the path of the value (none, and
    jsonschema not even imported, for a document certainly valid: see fastschema)."""
    if _certain()(doc.data):
        return
    for error in _validator().iter_errors(doc.data):
        for problem in _explain(doc, error):
            yield problem, tuple(error.absolute_path)


def _explain(doc: YamlDocument, error: jsonschema.ValidationError) -> Iterator[Problem]:
    path = tuple(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(schema.get("properties", {}))
        for key in error.instance:
            if key in allowed:
                continue
            line, col = doc.position((*path, key), key=True)
            yield Problem(
                doc.file, line, col, dotted_path((*path, key)), _unknown_field(key, allowed)
            )
        return
    if kind in {"anyOf", "oneOf", "allOf"} and error.context:
        # Report the most specific branch, not "is not valid under any of the given schemas".
        from jsonschema.exceptions import best_match  # noqa: PLC0415 - see the imports

        best = best_match(error.context)
        if best is not None and best is not error:
            yield from _explain(doc, best)
            return
    line, col = doc.position(path)
    message = _message(error, schema)
    if isinstance(error.instance, str) and kind in {"pattern", "format", "enum", "maxLength"}:
        message += escape_hint(doc, path)
    yield Problem(doc.file, line, col, dotted_path(path), message)


def escape_hint(doc: YamlDocument, path: Sequence[str | int]) -> str:
    """Why a double-quoted value is not what was typed: ``"CORP\\bjorn"`` is a backspace."""
    found = doc.quoted_escape(path)
    if found is None:
        return ""
    escape, inner = found
    inner = inner.replace("\\\\", "\\")  # an escaped backslash was meant as one
    meaning = ESCAPE_MEANINGS.get(escape[1:], "something else")
    quoted = "'" + inner.replace("'", "''") + "'"
    return (
        f"; in double quotes YAML reads {escape} as {meaning}: write {inner} without quotes, "
        f"or in single quotes ({quoted}), where a backslash is just a backslash"
    )


def _unknown_field(key: object, allowed: Sequence[str]) -> str:
    text = str(key)
    if len(text) > 80:  # a runaway key is named by its head (and is no misspelling)
        return f"unknown field {text[:60]!r}... ({len(text):,} characters)"
    if any(word in text.lower() for word in _SECRET_WORDS) and not text.endswith("_env"):
        return (
            f"inline secrets are not allowed ({text!r}): put the secret in an environment "
            "variable and name it with a *_env field (key_file_env, token_env, password_env)"
        )
    close = difflib.get_close_matches(text, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    expected = ", ".join(allowed)
    return f"unknown field {text!r}{hint} (expected one of: {expected})"


def _message(error: jsonschema.ValidationError, schema: Mapping[str, Any]) -> str:
    kind = error.validator
    instance: Any = error.instance
    custom = schema.get("x-message")
    if kind in {"pattern", "format"} and custom:
        # x-conceal: what does not fit here may be the very secret that belongs elsewhere.
        return custom if schema.get("x-conceal") else f"{_short(instance)} {custom}"
    bound: Any = error.validator_value
    if kind == "required":
        missing = [name for name in bound if name not in instance]
        fields = ", ".join(repr(name) for name in missing)
        return f"missing required field {fields}"
    if kind == "enum":
        options = ", ".join(str(v) for v in bound)
        return f"{_short(instance)} is not one of: {options}"
    if kind == "type" and isinstance(instance, BadNumber):
        return f"{instance}: expected {_type_name(bound)}"
    if kind == "type":
        return f"expected {_type_name(bound)}, found {_describe(instance)}"
    if kind == "format":
        return f"{_short(instance)} is not a valid {bound}"
    if kind in {"minLength", "maxLength", "minimum", "maximum", "minProperties", "maxProperties"}:
        return _bound_message(kind, bound, instance)
    if kind == "pattern":
        return f"{_short(instance)} does not match the expected form"
    # jsonschema's own words quote the whole value: keep them to a line.
    return error.message if len(error.message) <= 200 else error.message[:197] + "..."


def _bound_message(kind: str, bound: object, instance: object) -> str:
    if kind == "minLength":
        return "must not be empty" if bound == 1 else f"must be at least {bound} characters"
    if kind == "maxLength":
        return f"is longer than {bound} characters"
    if kind == "minimum":
        return f"{instance} is below the minimum {bound}"
    if kind == "maximum":
        return f"{instance} is above the maximum {bound}"
    if kind == "minProperties":
        return "must not be empty"
    return "give exactly one of the allowed fields"


def _type_name(value: object) -> str:
    names = {
        "string": "text",
        "object": "a mapping",
        "array": "a list",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "null": "nothing",
    }
    if isinstance(value, list):
        return " or ".join(names.get(str(v), str(v)) for v in value)
    return names.get(str(value), str(value))


def _describe(instance: object) -> str:
    if isinstance(instance, BadNumber):
        return str(instance)
    if isinstance(instance, bool):
        return f"{str(instance).lower()} (true/false)"
    if instance is None:
        return "nothing (an empty value)"
    if isinstance(instance, dict):
        return "a mapping"
    if isinstance(instance, list):
        return "a list"
    if isinstance(instance, int | float):
        return f"the number {instance}"
    return _short(instance)


def _short(value: object) -> str:
    if isinstance(value, list | dict):
        return _describe(value)  # never the repr of a whole structure
    # Only the head is turned into text: the value may be megabytes long.
    text = repr(value[:80]) if isinstance(value, str) else repr(value)[:80]
    return text if len(text) <= 60 else text[:57] + "...'"


def dotted_path(path: Iterable[str | int]) -> str:
    """A value's path as a problem names it (``policy.safety.max_reclaims``)."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out
