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

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .yamlfile import YamlDocument, YamlError
from .yamlfile import load as load_document

SECRET_PLACEHOLDER = "[secret]"
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey",
                   "encryptionsalt")
"""What the CLI reads from a stack file besides ``config``."""


class UsageError(Exception):
    """A problem with the command line, the project or the stack file (exit status 2).
    The message is one line per problem."""


def load_yaml(path: Path) -> Any:
    return load_yaml_document(path).value


def load_yaml_document(path: Path, under: tuple[str, ...] = ()) -> YamlDocument:
    try:
        return load_document(path, display_path(path), under)
    except YamlError as exc:
        raise UsageError(str(exc)) from None


def did_you_mean(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


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
        # Pulumi.<stack>.preflight.yaml (and .policy.yaml) beside a stack file are its
        # companions, not stacks.
        names = {p.name[len("Pulumi."):-len(".yaml")]
                 for p in self.stack_config_dir.glob("Pulumi.*.yaml")}
        return sorted(n for n in names
                      if n.rsplit(".", 1)[-1] not in ("preflight", "policy")
                      or n.rsplit(".", 1)[0] not in names)


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
    lines: dict[str, int] = field(default_factory=dict)
    """Line of each key the stack file sets (full ``<namespace>:<name>`` keys)."""
    document: YamlDocument | None = None
    """The stack file as read, with the line of every key (for report locations)."""


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
    """The stack's config as the CLI hands it to the program. Refuses (one line per problem,
    all at once) what the CLI would reject or silently drop: keys the stack file format does
    not have, malformed config keys, one key written twice, and plaintext credentials."""
    path = project.stack_file(stack)
    if not path.is_file():
        known = project.stacks()
        hint = f" (stacks: {', '.join(known)})" if known else ""
        raise UsageError(f"stack file not found: {_display(path)}{hint}")
    document = load_yaml_document(path, ("config",))
    shown = display_path(path)
    doc = {} if document.value is None else document.value
    if not isinstance(doc, dict):
        raise UsageError(f"{shown}:1: expected a map with a 'config' key")
    problems: list[str] = []
    for key in doc:
        if key not in STACK_FILE_KEYS:
            problems.append(f"{shown}:{document.line((key,))}: {key}: unknown key"
                            f"{did_you_mean(key, list(STACK_FILE_KEYS))}; a stack file has "
                            f"{', '.join(STACK_FILE_KEYS)}")
    raw = doc.get("config") or {}
    if not isinstance(raw, dict):
        raise UsageError(f"{shown}:{document.line(('config',))}: config: must be a map of "
                         "<namespace>:<name> keys")
    warnings = []
    if doc.get("environment"):
        warnings.append(f"{shown}: 'environment' (Pulumi ESC) is not resolved offline")

    merged: dict[str, Any] = {}
    secure_keys: set[str] = set()
    for key, value in project.config_defaults.items():
        present, default = _project_default(value)
        full = _full_key(project.name, str(key))
        if present:
            merged[full] = default
        if isinstance(value, dict) and value.get("secret") is True:
            secure_keys.add(full)
    written: dict[str, str] = {}
    lines: dict[str, int] = {}
    for key, value in raw.items():
        line = document.line(("config", key))
        where = f"{shown}:{line}: {key}"
        if not _CONFIG_KEY_RE.fullmatch(key):
            problems.append(f"{where}: not a config key: write <namespace>:<name>, e.g. "
                            f"{project.name}:{key.rsplit(':', 1)[-1] or 'name'}")
            continue
        full = _full_key(project.name, key)
        if full in written:
            problems.append(f"{where}: the same key as '{written[full]}' (line "
                            f"{lines[full]}): keep one")
            continue
        written[full], lines[full] = key, line
        problems += [f"{where}{sub}: {what}" for sub, what in _secure_problems(value)]
        problems += [f"{shown}:{document.line(('config', key, *sub))}: {full}"
                     f"{_render(sub)}: {what}"
                     for sub, what in plaintext_credentials(full, value)]
        merged[full] = value
    if problems:
        raise UsageError("\n".join(problems))

    values: dict[str, str] = {}
    for key, value in merged.items():
        masked, secure = _mask(value)
        if secure:
            secure_keys.add(key)
        values[key] = config_string(masked)
    return StackConfig(values=values, secret_keys=sorted(k for k in secure_keys if k in values),
                       path=path, warnings=warnings, lines=lines, document=document)


_CONFIG_KEY_RE = re.compile(r"(?:[A-Za-z0-9_.-]+:)?[A-Za-z0-9_.-]+")
"""``<namespace>:<name>`` or a bare ``<name>`` (the project's namespace)."""


def _secure_problems(value: Any, sub: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    """``{secure: ...}`` holds the ciphertext string ``pulumi config set --secret`` wrote."""
    if isinstance(value, dict):
        if "secure" in value and (len(value) != 1 or not isinstance(value["secure"], str)):
            return [(_render(sub), "secure: must be the only key and hold the ciphertext "
                                   "string that pulumi config set --secret writes")]
        return [p for k, v in value.items() for p in _secure_problems(v, (*sub, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _secure_problems(v, (*sub, i))]
    return []


def plaintext_credentials(key: str, value: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Where a config value holds a credential in plaintext: the key's own name says so
    (``aws:secretKey``), or a value anywhere inside it looks like one (an access key id, a
    private key, a token). Never repeats the value."""
    from policies.guardrails.credentials import credential_reason

    found: list[tuple[tuple[Any, ...], str]] = []
    name = key.rsplit(":", 1)[-1]

    def visit(item: Any, sub: tuple[Any, ...]) -> None:
        if _is_secure(item):
            return
        if isinstance(item, dict):
            for k, v in item.items():
                visit(v, (*sub, k))
        elif isinstance(item, list):
            for i, v in enumerate(item):
                visit(v, (*sub, i))
        elif isinstance(item, str) and item:
            # Nested names are the program's own (an env var named *_KEY holding a secret
            # ARN is a reference); only what the value itself looks like counts there.
            reason = credential_reason(name if not sub else "", item)
            if reason:
                found.append((sub, f"plaintext credential rejected: {reason} (not shown "
                                   "here); deploy with OIDC or an IAM role, or encrypt "
                                   f"it with pulumi config set --secret{_set_hint(key, sub)}"))

    visit(value, ())
    return found


def _set_hint(key: str, sub: tuple[Any, ...]) -> str:
    return f" {key}" if not sub else f" --path '{key}{_render(sub)}'"


def _render(sub: tuple[Any, ...]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in sub)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when that is shorter."""
    rel = _display(path)
    return rel if not rel.startswith("..") else str(path)


def installed_pack() -> Path | None:
    """The policy pack installed beside preflight (``pip install microservices-platform``
    ships it with its PulumiPolicy.yaml), or None."""
    try:
        import policies
    except ImportError:
        return None
    where = Path(policies.__file__).resolve().parent
    return where if (where / "PulumiPolicy.yaml").is_file() else None


def default_pack_dir(project_dir: Path) -> tuple[Path, bool]:
    """The pack to run when none is given: the project's own ``policies`` directory, else the
    one installed beside preflight. The flag says whether it is the installed one."""
    own = project_dir / "policies"
    if own.is_dir():
        return own, False
    installed = installed_pack()
    if installed is None:
        raise UsageError("no policy pack: pass --policy-pack DIR "
                         f"({display_path(own)} does not exist)")
    return installed, True
