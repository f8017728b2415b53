"""The policy config file (the format of ``pulumi preview --policy-pack-config``), read
strictly and checked against a JSON Schema built from the pack's own policies.

``{"all": <level>, "<policy>": <level> | {"enforcementLevel": <level>, <property>: ...}}``

- Reading (before anything runs): UTF-8 JSON, no key twice (JSON parsers keep the last,
  so ``"all"`` twice silently became the second), no NaN or infinity.
- Against the pack (as soon as it has started, before the program registers anything):
  entries are a level or an object, ``all`` carries only a level, every name is one of the
  pack's policies, every property one its schema declares, with the type, range and
  pattern the schema gives. The schema is :func:`config_schema`, built
  from each policy's ``configSchema`` as the pack announces it.

Every problem is one line naming the file and the key path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .project import UsageError, did_you_mean, display_path
from .yamlfile import YamlError, read_text, render_path

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL = {"enum": list(LEVELS)}
_ALL = {"anyOf": [_LEVEL, {"type": "object", "properties": {"enforcementLevel": _LEVEL},
                           "additionalProperties": False}]}


class PolicyConfig(dict[str, Any]):
    """The file's content, remembering which file it came from (for messages)."""

    source: str = ""


def read_policy_config(path: Path) -> PolicyConfig:
    """Read the file; refuse what is not a JSON object with each key once (raises
    :class:`UsageError`). Its entries are checked once the pack has said what policies it
    has (:func:`check_policy_config`), so every problem is reported in one pass."""
    shown = display_path(path)
    try:
        text = read_text(path, shown)
    except YamlError as exc:
        raise UsageError(str(exc)) from None
    duplicates: list[tuple[dict[str, Any], str, int]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                duplicates.append((out, key, sum(1 for k, _ in items if k == key)))
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows: write a number")

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{shown}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise UsageError(f"{shown}: {exc}") from None
    except RecursionError:
        raise UsageError(f"{shown}: values are nested too deeply: flatten the "
                         "structure") from None
    if duplicates:
        raise UsageError("\n".join(
            f"{shown}: {render_path(path)}: duplicate key (written {count} times; JSON keeps "
            "only the last): keep one"
            for path, count in _duplicate_paths(doc, duplicates)))
    config = PolicyConfig(doc) if isinstance(doc, dict) else PolicyConfig()
    config.source = shown
    if not isinstance(doc, dict):
        raise UsageError(f"{shown}: must be a JSON object of policy names (got "
                         f"{_json(doc)})")
    return config


def _duplicate_paths(doc: Any, found: list[tuple[dict[str, Any], str, int]]
                     ) -> list[tuple[tuple[Any, ...], int]]:
    """Where the objects holding duplicate keys sit in the document."""
    where: dict[int, tuple[Any, ...]] = {}

    def visit(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, dict):
            where[id(value)] = path
            for k, v in value.items():
                visit(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                visit(v, (*path, i))

    visit(doc, ())
    seen: set[tuple[Any, ...]] = set()
    out = []
    for holder, key, count in found:
        path = (*where.get(id(holder), ()), key)
        if path not in seen:
            seen.add(path)
            out.append((path, count))
    return out


def config_schema(policies: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    """The JSON Schema of a policy config file for a pack whose policies take these
    properties (``{policy: {property: JSON Schema}}``, as each policy's ``configSchema``
    declares them). ``None``: any policy names, any properties (the pack-independent
    format)."""
    if policies is None:
        entry = {"anyOf": [_LEVEL, {"type": "object",
                                    "properties": {"enforcementLevel": _LEVEL}}]}
        return {"type": "object", "properties": {"all": _ALL}, "additionalProperties": entry}
    return {
        "type": "object",
        "properties": {"all": _ALL, **{
            name: {"anyOf": [_LEVEL, {"type": "object",
                                      "properties": {"enforcementLevel": _LEVEL, **props},
                                      "additionalProperties": False}]}
            for name, props in sorted(policies.items())}},
        "additionalProperties": False,
    }


def check_policy_config(config: PolicyConfig, schema: Mapping[str, Any],
                        pack: str = "") -> None:
    """Raise :class:`UsageError` with one line per problem of ``config`` against
    ``schema``."""
    if not config:
        return  # nothing to check: no schema config_schema builds requires a property
    from jsonschema import Draft202012Validator  # ~50 ms: only when there is a config

    validator = Draft202012Validator(schema,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(dict(config)),
                    key=lambda e: [str(p) for p in e.absolute_path])
    lines: list[str] = []
    for error in errors:
        for line in _lines(error, config.source or "policy config", pack):
            if line not in lines:
                lines.append(line)
    if lines:
        raise UsageError("\n".join(lines))


_WORDS = {"object": "an object", "array": "a list", "string": "a string",
          "integer": "a whole number", "number": "a number", "boolean": "true or false"}


def _lines(error: ValidationError, shown: str, pack: str) -> Iterable[str]:
    path = tuple(error.absolute_path)
    where = f"{shown}: {render_path(path)}" if path else shown
    kind, value, schema = error.validator, error.instance, error.schema
    if kind == "anyOf":  # an entry: a level, or an object of settings
        if isinstance(value, str):
            yield (f"{where}: enforcement level must be one of {', '.join(LEVELS)} "
                   f"(got {value!r})")
        elif isinstance(value, dict):
            for sub in error.context or ():
                if sub.relative_schema_path and sub.relative_schema_path[0] == 1:
                    yield from _lines(sub, shown, pack)
        else:
            yield (f"{where}: must be an enforcement level ({', '.join(LEVELS)}) or an object "
                   f"of settings (got {_json(value)})")
    elif kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(value) - set(allowed)):
            hint = did_you_mean(key, allowed)
            if not path:
                pack_name = f" {pack}" if pack else ""
                yield (f"{shown}: {key}: unknown policy{hint}: the pack{pack_name} has no "
                       "policy of that name")
            elif path == ("all",):
                yield (f"{where}.{key}: 'all' sets only enforcementLevel: put {key} under "
                       "the policy it configures")
            else:
                yield f"{where}.{key}: unknown setting{hint}; allowed: {', '.join(allowed)}"
    elif kind == "enum" and path and path[-1] == "enforcementLevel":
        yield f"{where}: enforcement level must be one of {', '.join(LEVELS)} (got {value!r})"
    elif kind == "type":
        expected = schema.get("type")
        types = [str(t) for t in (expected if isinstance(expected, list) else [expected])]
        words = " or ".join(_WORDS.get(t, t) for t in types)
        yield f"{where}: must be {words} (got {_json(value)})"
    elif kind == "required":
        for name in error.validator_value:
            if isinstance(value, dict) and name not in value:
                about = schema.get("properties", {}).get(name, {}).get("description")
                yield f"{where}.{name}: is required" + (f": {about}" if about else "")
    elif kind == "pattern" and schema.get("description"):
        yield f"{where}: {value!r} is not allowed: use {schema['description']}"
    elif kind == "format":
        about = f": use {schema['description']}" if schema.get("description") else ""
        yield f"{where}: {value!r} is not a valid {error.validator_value}{about}"
    elif kind in ("minLength", "maxLength"):
        bound = "at least" if kind == "minLength" else "at most"
        yield (f"{where}: must be {bound} {_json(error.validator_value)} characters (got "
               f"{len(value)})")
    elif kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        yield f"{where}: must be {bound} {_json(error.validator_value)} (got {_json(value)})"
    else:
        yield f"{where}: {error.message}"


def _json(value: Any) -> str:
    """A value as quoted in a message (protobuf hands every number over as a float)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
