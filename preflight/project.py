"""Read a Pulumi project and one of its stacks the way the Pulumi CLI does, offline.

- ``Pulumi.yaml``: ``name``, ``main`` (program file or directory), ``stackConfigDir``, and
  project-level ``config`` defaults.
- ``<stackConfigDir>/Pulumi.<stack>.yaml``: the ``config:`` map. Keys without a namespace
  belong to the project. Scalars reach the program as strings (``true``, ``3``), objects and
  lists as JSON text, as the CLI passes them.
- ``{secure: ...}`` values are never decrypted: the program receives the placeholder
  :data:`SECRET_PLACEHOLDER` and the key is marked secret (``Config.require_secret`` works,
  the value travels as a secret). A secure value nested in an object makes the whole key
  secret, as in the CLI.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECRET_PLACEHOLDER = "[secret]"


class UsageError(Exception):
    """A problem with the command line, the project or the stack file (exit status 2)."""


class _Loader(yaml.SafeLoader):
    """YAML 1.2 scalars, as the CLI reads them: ``yes``/``on`` and dates stay strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def load_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: invalid YAML: {exc}") from None


@dataclass
class Project:
    """What preflight needs from ``Pulumi.yaml``."""

    dir: Path
    name: str
    main: Path
    """The program: a directory holding ``__main__.py`` or a Python file."""
    stack_config_dir: Path
    description: str = ""
    config_defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def program_dir(self) -> Path:
        return self.main if self.main.is_dir() else self.main.parent

    @property
    def program_file(self) -> Path:
        return self.main / "__main__.py" if self.main.is_dir() else self.main

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        if not self.stack_config_dir.is_dir():
            return []
        return sorted(p.name[len("Pulumi."):-len(".yaml")]
                      for p in self.stack_config_dir.glob("Pulumi.*.yaml")
                      if not p.name.endswith(".policy.yaml"))


def load_project(project_dir: Path) -> Project:
    path = project_dir / "Pulumi.yaml"
    if not path.is_file():
        alt = project_dir / "Pulumi.yml"
        if not alt.is_file():
            raise UsageError(f"no Pulumi.yaml in {project_dir} (use --project-dir)")
        path = alt
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise UsageError(f"{path}: 'name' is required")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name not in (None, "python"):
        raise UsageError(f"{path}: runtime is {runtime_name!r}; preflight runs Python programs")
    main = project_dir / str(doc.get("main") or ".")
    if not main.exists():
        raise UsageError(f"{path}: main {doc.get('main')!r} does not exist")
    program = main / "__main__.py" if main.is_dir() else main
    if not program.is_file():
        raise UsageError(f"no program: {program} does not exist")
    config_dir = project_dir / str(doc.get("stackConfigDir") or ".")
    defaults = doc.get("config") or {}
    if not isinstance(defaults, dict):
        raise UsageError(f"{path}: 'config' must be a map")
    return Project(dir=project_dir, name=doc["name"], main=main, stack_config_dir=config_dir,
                   description=str(doc.get("description") or ""), config_defaults=defaults)


@dataclass
class StackConfig:
    """The config the program and the policy pack receive."""

    values: dict[str, str]
    secret_keys: list[str]
    path: Path
    warnings: list[str] = field(default_factory=list)


def _full_key(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _mask(value: Any) -> tuple[Any, bool]:
    """Replace every ``{secure: ...}`` by the placeholder; report whether any was found."""
    if _is_secure(value):
        return SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        found = False
        out = {}
        for k, v in value.items():
            out[k], hit = _mask(v)
            found = found or hit
        return out, found
    if isinstance(value, list):
        items = [_mask(v) for v in value]
        return [v for v, _ in items], any(hit for _, hit in items)
    return value, False


def config_string(value: Any) -> str:
    """The string the CLI hands the program for a config value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _project_default(value: Any) -> tuple[bool, Any]:
    """Project-level config: ``key: value`` or ``key: {type:, default:|value:, secret:}``."""
    if isinstance(value, dict) and ("type" in value or "default" in value or "value" in value):
        if "value" in value:
            return True, value["value"]
        if "default" in value:
            return True, value["default"]
        return False, None
    return True, value


def load_stack_config(project: Project, stack: str) -> StackConfig:
    path = project.stack_file(stack)
    if not path.is_file():
        known = project.stacks()
        hint = f" (stacks: {', '.join(known)})" if known else ""
        raise UsageError(f"stack file not found: {_display(path)}{hint}")
    doc = load_yaml(path) or {}
    if not isinstance(doc, dict):
        raise UsageError(f"{_display(path)}: expected a map with a 'config' key")
    raw = doc.get("config") or {}
    if not isinstance(raw, dict):
        raise UsageError(f"{_display(path)}: 'config' must be a map")
    warnings = []
    if doc.get("environment"):
        warnings.append(f"{_display(path)}: 'environment' (Pulumi ESC) is not resolved offline")

    merged: dict[str, Any] = {}
    secure_keys: set[str] = set()
    for key, value in project.config_defaults.items():
        present, default = _project_default(value)
        full = _full_key(project.name, str(key))
        if present:
            merged[full] = default
        if isinstance(value, dict) and value.get("secret") is True:
            secure_keys.add(full)
    for key, value in raw.items():
        merged[_full_key(project.name, str(key))] = value

    values: dict[str, str] = {}
    for key, value in merged.items():
        masked, secure = _mask(value)
        if secure:
            secure_keys.add(key)
        values[key] = config_string(masked)
    return StackConfig(values=values, secret_keys=sorted(k for k in secure_keys if k in values),
                       path=path, warnings=warnings)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when that is shorter."""
    rel = _display(path)
    return rel if not rel.startswith("..") else str(path)
