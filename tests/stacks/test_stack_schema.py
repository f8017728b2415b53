"""The stack file's JSON Schema: generated from the spec types, current, referenced by every
stack file, accepting the real stacks and refusing what validation refuses for structure."""

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components import stack_schema
from components.spec import _ALIASES, NAMESPACE, PlatformSpec

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "stack-file.schema.json"
STACKS = ("dev", "staging", "prod")
MODELINE = "# yaml-language-server: $schema=../docs/stack-file.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def errors(schema: dict[str, Any], document: Any) -> list[tuple[str, str]]:
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(("/".join(map(str, e.absolute_path)), e.message)
                  for e in validator.iter_errors(document))


def stack(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())


def test_committed_schema_is_current(schema: dict[str, Any]) -> None:
    # Regenerate with: python -m components.stack_schema docs/stack-file.schema.json
    assert SCHEMA_FILE.read_text() == stack_schema.render()
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_has_the_spec_keys_and_their_docstrings(schema: dict[str, Any]) -> None:
    config = schema["properties"]["config"]
    assert sorted(config["properties"]) == sorted(f"{NAMESPACE}:{k}" for k in _ALIASES)
    assert config["required"] == sorted(f"{NAMESPACE}:{k}" for k in _ALIASES
                                        if _ALIASES[k] in PlatformSpec.__required_keys__)
    network = schema["$defs"]["NetworkSpec"]
    assert network["properties"]["azCount"] == {
        "type": "integer",
        "description": "Availability zones to span, 2-6 (default 3, or as many as "
                       "`availabilityZones` names; prod needs 3 or more)."}
    assert network["required"] == ["cidr"] and network["additionalProperties"] is False
    # Every key an editor completes says what it is.
    undocumented = [(name, key) for name, node in schema["$defs"].items()
                    for key, prop in node.get("properties", {}).items()
                    if not prop.get("description")]
    undocumented += [("config", key) for key, prop in config["properties"].items()
                     if not prop.get("description")]
    assert undocumented == []


@pytest.mark.parametrize("name", STACKS)
def test_every_stack_file_names_the_schema_and_passes_it(name: str,
                                                         schema: dict[str, Any]) -> None:
    path = ROOT / "stacks" / f"Pulumi.{name}.yaml"
    first = path.read_text().splitlines()[0]
    assert first == MODELINE
    assert (path.parent / first.split("$schema=", 1)[1]).resolve() == SCHEMA_FILE
    assert errors(schema, stack(name)) == []


def test_schema_refuses_unknown_keys_wrong_types_and_missing_keys(
        schema: dict[str, Any]) -> None:
    document = copy.deepcopy(stack("prod"))
    config = document["config"]
    config[f"{NAMESPACE}:network"]["natStratgy"] = "single"
    config[f"{NAMESPACE}:network"]["azCount"] = "3"
    config[f"{NAMESPACE}:services"]["web"]["desiredCount"] = True
    del config[f"{NAMESPACE}:region"]
    config["aws:region"] = "eu-west-1"
    document["stackConfig"] = {}
    assert errors(schema, document) == [
        ("", "Additional properties are not allowed ('stackConfig' was unexpected)"),
        ("config", "'microservices-platform:region' is a required property"),
        ("config", "Additional properties are not allowed ('aws:region' was unexpected)"),
        ("config/microservices-platform:network",
         "Additional properties are not allowed ('natStratgy' was unexpected)"),
        ("config/microservices-platform:network/azCount", "'3' is not of type 'integer'"),
        ("config/microservices-platform:services/web/desiredCount",
         "True is not of type 'integer'"),
    ]
