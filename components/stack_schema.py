"""The JSON Schema of a stack file, generated from the spec types.

Every stack file names it on its first line (``# yaml-language-server: $schema=...``), so
editors with the YAML language server complete keys, show each one's description and flag
unknown keys and wrong types while typing. It carries the structure the spec's TypedDicts
define (keys, types, required keys, descriptions from the field docstrings); what the
components' ``check_*`` functions judge (ranges, formats, cross-references, the tier's
minimums) is left to validation, which preflight and ``pulumi up`` run::

    python -m components.stack_schema docs/stack-file.schema.json
"""

import ast
import inspect
import json
import re
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.alias_generators import to_camel

from .spec import NAMESPACE, PlatformSpec

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_LITERAL = re.compile(r"``([^`]+)``")


def _typed_dicts(tp: Any, found: dict[str, type]) -> dict[str, type]:
    """Every TypedDict reachable from ``tp``, by class name (pydantic's ``$defs`` key)."""
    if hasattr(tp, "__required_keys__"):
        if found.get(tp.__name__) is tp:
            return found
        found[tp.__name__] = tp
        for hint in typing.get_type_hints(tp).values():
            _typed_dicts(hint, found)
    for arg in typing.get_args(tp):
        _typed_dicts(arg, found)
    return found


def _field_docs(cls: type) -> dict[str, str]:
    """``field: type`` followed by a string literal, in ``cls`` and the TypedDicts it
    extends (nearest first)."""
    docs: dict[str, str] = {}
    for base in [*getattr(cls, "__orig_bases__", ()), *cls.__bases__]:
        if hasattr(base, "__required_keys__"):
            docs.update(_field_docs(base))
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    for stmt, following in zip(body.body, body.body[1:], strict=False):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[stmt.target.id] = following.value.value
    return docs


def _describe(text: str) -> str:
    """A docstring as an editor shows it: ``snake_case`` field names in the stack file's
    camelCase, reStructuredText literals as Markdown ones, on one line."""
    def literal(match: re.Match[str]) -> str:
        word = match[1]
        return f"`{to_camel(word) if re.fullmatch(r'[a-z][a-z0-9]*(_[a-z0-9]+)+', word) else word}`"
    return re.sub(r"\s*\n\s*", " ", _LITERAL.sub(literal, inspect.cleandoc(text))).strip()


def _document(node: dict[str, Any], cls: type) -> dict[str, Any]:
    """A TypedDict's schema with its docstring and its fields' docstrings as descriptions,
    and without pydantic's generated titles."""
    docs = {to_camel(name): _describe(text) for name, text in _field_docs(cls).items()}
    out = {k: v for k, v in node.items() if k != "title"}
    if cls.__doc__:
        out["description"] = _describe(cls.__doc__)
    out["properties"] = {
        name: {**{k: v for k, v in prop.items() if k != "title"},
               **({"description": docs[name]} if name in docs else {})}
        for name, prop in node.get("properties", {}).items()}
    return out


def platform_json_schema() -> dict[str, Any]:
    """The namespace's values as the spec validates their structure (camelCase keys, no
    unknown ones, strict types), described by the spec types' docstrings."""
    raw = TypeAdapter(PlatformSpec).json_schema(by_alias=True)
    classes = _typed_dicts(PlatformSpec, {})
    defs = raw.pop("$defs", {})
    unknown = sorted(set(defs) - set(classes))
    if unknown:
        raise RuntimeError(f"no spec type for schema definitions {unknown}")
    return {**_document(raw, PlatformSpec),
            "$defs": {name: _document(node, classes[name]) for name, node in defs.items()}}


def stack_file_schema() -> dict[str, Any]:
    """The whole ``Pulumi.<stack>.yaml``: the top-level keys the Pulumi CLI reads, and under
    ``config`` the platform's namespace and nothing else (the platform refuses settings of
    other namespaces)."""
    spec = platform_json_schema()
    return {
        "$schema": SCHEMA_DIALECT,
        "title": f"Stack file of {NAMESPACE} (Pulumi.<stack>.yaml)",
        "description": spec["description"],
        "type": "object",
        "properties": {
            "config": {
                "description": "Stack configuration: the platform's settings, each under "
                               f"the `{NAMESPACE}:` namespace.",
                "type": "object",
                "properties": {f"{NAMESPACE}:{key}": value
                               for key, value in spec["properties"].items()},
                "required": sorted(f"{NAMESPACE}:{key}" for key in spec.get("required", [])),
                "additionalProperties": False,
            },
            "environment": {"description": "Pulumi ESC environments the stack imports "
                                           "(not resolved by preflight)."},
            "secretsprovider": {"type": "string",
                                "description": "The stack's secrets provider."},
            "encryptedkey": {"type": "string",
                             "description": "The secrets provider's encrypted data key."},
            "encryptionsalt": {"type": "string",
                               "description": "Salt of the passphrase secrets provider."},
        },
        "additionalProperties": False,
        "$defs": spec["$defs"],
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        Path(args[0]).write_text(render(), encoding="utf-8")
        print(f"wrote {args[0]}")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
