"""Checking an entry against the JSON Schema, with messages a contributor can act on.

jsonschema's own messages ("Additional properties are not allowed ('tittle' was unexpected)") are accurate but
not friendly, and carry no line numbers. This module turns each schema error into a `Problem` at the line of the
offending value, with a "did you mean" where a misspelling can be guessed. Valid entries take a fast path
(a compiled validator); the detailed walk only runs for entries that fail it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import fastjsonschema
from rapidfuzz import fuzz, process

from kb.codecache import load_code, store_code
from kb.load import LoadedEntry
from kb.problems import ERROR, Problem

if TYPE_CHECKING:  # jsonschema is imported only when an entry fails the fast check: it adds a tenth of a second
    from jsonschema import Draft202012Validator, ValidationError

TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of keys",
    "null": "nothing",
}
PATTERN_HINTS = {
    "id": "lowercase letters, digits and single hyphens, e.g. agin-liebes-2025-self-compassion",
    "related": "the id of another entry, e.g. mitchell-2021-mdma-ptsd",
    "added": "write the date as YYYY-MM-DD",
    "reviewed": "write the date as YYYY-MM-DD",
    "date": "write the date as YYYY-MM-DD",
    "url": "a web address starting with https:// (or http://)",
    "orcid": "like 0000-0002-1825-0097, without https://orcid.org/",
    "pages": "first-last, e.g. 1025-1033, or a single page",
    "p": "a number between 0 and 1, or a bound such as '<0.001'",
    "pmid": "digits only, e.g. 34262206",
    "phase": "1, 2, 3, 4 or a combined phase such as 2/3",
}


@functools.lru_cache(maxsize=1)
def study_schema() -> dict:
    """The record schema shipped in the package (kb/schema/study.schema.json)."""
    text = resources.files("kb").joinpath("schema/study.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _fast_validator():
    """The schema compiled to Python, with the author's `oneOf` read as `anyOf`: it accepts the same entries,
    because a person has `family` and may not have `name` and an organisation the reverse, so at most one
    alternative ever fits; `anyOf` stops at the first that does instead of raising an error inside the other for
    every author (a fifth of the check's time). Other `oneOf`s, should the schema gain any, are kept as written.

    Compiling takes a seventh of a second, so the compiled code is kept between runs (kb.codecache)."""
    schema = copy.deepcopy(study_schema())
    author = schema["$defs"]["author"]
    author["anyOf"] = author.pop("oneOf")
    key = hashlib.sha256(f"{fastjsonschema.VERSION} {json.dumps(schema, sort_keys=True)}".encode()).hexdigest()[:32]
    kept = load_code("schema", key)
    if not (isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[0], str)):
        validator = fastjsonschema.compile(schema)
        code = compile(fastjsonschema.compile_to_code(schema), "<study.schema.json>", "exec")
        store_code("schema", key, (validator.__name__, code))
        return validator
    name, code = kept
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the code fastjsonschema generated from our own schema (see kb.codecache)
    return namespace[name]


@functools.lru_cache(maxsize=1)
def _full_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(study_schema())


def schema_problems(entry: LoadedEntry) -> list[Problem]:
    """Every schema error in the entry, sorted by position."""
    try:
        _fast_validator()(entry.data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    problems = []
    for error in _full_validator().iter_errors(entry.data):
        problems += _explain(error, entry)
    if not problems:  # never let an entry the schema refuses pass because no explanation fitted
        problems.append(
            _at(entry, (), "the entry does not match the record schema", "compare it with entries/_template.yaml")
        )
    return sorted(set(problems), key=lambda p: (p.line, p.col, p.message))


def _explain(error: ValidationError, entry: LoadedEntry) -> list[Problem]:
    keys = tuple(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties":
        return _unknown_keys(error, entry, keys)
    if validator == "oneOf":
        return _explain_one_of(error, entry)
    message, hint = _describe(error, keys)
    return [_at(entry, keys, message, hint)]


def _at(entry: LoadedEntry, keys: tuple, message: str, hint: str | None = None, at_key: bool = False) -> Problem:
    line, col = entry.locate(keys, at_key=at_key)
    return Problem(entry.path, line, col, ERROR, message, hint)


def _where(keys: tuple) -> str:
    """A readable field path: citation.authors[2].family."""
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "the entry"


MAX_UNKNOWN_KEYS = 10  # reported one by one per mapping; the rest are counted in one line
SUGGESTION_SCORE = 80  # only close spellings are suggested ("fnidings" -> "findings", never "id")


def _unknown_keys(
    error: ValidationError, entry: LoadedEntry, keys: tuple, allowed: list[str] | None = None
) -> list[Problem]:
    allowed = allowed or list(error.schema.get("properties", {}))
    unknown = [key for key in error.instance if key not in allowed]
    problems = [_unknown_key(entry, keys, key, allowed, error.instance) for key in unknown[:MAX_UNKNOWN_KEYS]]
    if len(unknown) > MAX_UNKNOWN_KEYS:
        last = unknown[MAX_UNKNOWN_KEYS]
        more = len(unknown) - MAX_UNKNOWN_KEYS
        message = f"{more:,} more unknown key{'' if more == 1 else 's'} in {_where(keys)}, from here on"
        problems.append(_at(entry, (*keys, last), message, f"allowed keys here: {', '.join(allowed)}", at_key=True))
    return problems


def _unknown_key(entry: LoadedEntry, keys: tuple, key: Any, allowed: list[str], present: dict) -> Problem:
    """An unknown key, with the allowed key it is a close misspelling of; when that key is already in the same
    mapping, say so and where (a second copy under a typo, not a key to rename)."""
    missing = [name for name in allowed if name not in present]
    close = {"scorer": fuzz.ratio, "score_cutoff": SUGGESTION_SCORE}  # whole-word similarity: no partial matches
    match = process.extractOne(str(key), missing, **close) if missing else None
    taken = process.extractOne(str(key), [k for k in allowed if k in present], **close)
    if match:
        hint = f"did you mean '{match[0]}'?"
    elif taken:
        line = entry.locate((*keys, taken[0]), at_key=True)[0]
        hint = f"'{taken[0]}' is already here, on line {line}: merge the two or delete one"
    else:
        hint = f"allowed keys here: {', '.join(allowed)}"
    return _at(entry, (*keys, key), f"unknown key '{key}' in {_where(keys)}", hint, at_key=True)


def _explain_one_of(error: ValidationError, entry: LoadedEntry) -> list[Problem]:
    """Authors are either a person (family/given) or an organisation (name): explain the branch they meant."""
    instance = error.instance
    branch = 1 if isinstance(instance, dict) and "name" in instance and "family" not in instance else 0
    inner = [e for e in error.context if e.schema_path and e.schema_path[0] == branch]
    if not isinstance(instance, dict) or not inner:
        keys = tuple(error.absolute_path)
        hint = "a person is {family: ..., given: ...}; an organisation is {name: ...}"
        return [_at(entry, keys, f"{_where(keys)} is neither a person nor an organisation", hint)]
    every_key = [key for option in error.validator_value for key in option.get("properties", {})]
    problems = []
    for sub in inner:
        if sub.validator == "additionalProperties":
            problems += _unknown_keys(sub, entry, tuple(sub.absolute_path), every_key)
        elif not (sub.validator == "required" and "family" not in instance and "name" not in instance):
            problems += _explain(sub, entry)
    keys = tuple(error.absolute_path)
    if "family" not in instance and "name" not in instance:
        message = f"{_where(keys)} needs 'family' (a person) or 'name' (an organisation)"
        problems.append(_at(entry, keys, message))
    if not problems:  # every key belongs to one shape or the other, but both shapes are mixed in one author
        message = f"{_where(keys)} mixes a person's keys (family, given) with an organisation's (name)"
        problems.append(
            _at(entry, keys, message, "a person is {family: ..., given: ...}; an organisation is {name: ...}")
        )
    return problems


def _describe(error: ValidationError, keys: tuple) -> tuple[str, str | None]:
    where = _where(keys)
    field = next((k for k in reversed(keys) if isinstance(k, str)), "")
    validator, value = error.validator, error.instance
    if validator == "required":
        missing = [k for k in error.validator_value if not isinstance(value, dict) or k not in value]
        return f"missing required key '{missing[0]}' in {where}", None
    if validator == "type":
        expected = error.validator_value
        wanted = " or ".join(TYPE_NAMES.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        return f"{where} must be {wanted}, not {_show(value)}", _type_hint(expected, value)
    if validator == "enum":
        options = [str(o) for o in error.validator_value]
        match = process.extractOne(str(value), options, score_cutoff=60)
        hint = f"did you mean '{match[0]}'?" if match else None
        return f"{where} is {_show(value)}; allowed: {', '.join(options)}", hint
    if validator == "pattern" or validator == "maxLength" and field in PATTERN_HINTS:
        if error.validator_value == "\\S":
            return f"{where} must not be empty", None
        return f"{where} has an invalid value {_show(value)}", PATTERN_HINTS.get(field)
    if validator in ("minLength", "minItems"):
        return f"{where} must not be empty", None
    if validator == "uniqueItems":
        return f"{where} lists the same value twice", None
    if validator in ("minimum", "exclusiveMinimum", "maximum"):
        return f"{where} is {_show(value)}, out of range ({validator} {error.validator_value})", None
    return f"{where}: {error.message}", None


def _type_hint(expected: Any, value: Any) -> str | None:
    if value is None:
        return "fill it in, or delete the line if the field is optional"
    if expected == "array" and isinstance(value, str):
        return f"write a list: [{value}] or one '- item' per line"
    if "string" in expected and isinstance(value, (int, float)):
        return f'put quotes around it: "{value}"'
    if expected == "integer" and isinstance(value, str) and value.strip().isdigit():
        return "remove the quotes"
    return None


def _show(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"'{shown}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return repr(value)
