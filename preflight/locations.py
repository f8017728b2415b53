"""Where each resource comes from, for reports that point at a line to change.

Two origins, both recorded while the program runs, neither guessed from messages:

- **the stack file**: the key whose name the resource's name carries (``services.orders``
  for ``dev-orders-service``, ``databases.orders-db`` for ``dev-orders-db-cluster``). Only
  keys that hold a map count (a named entry, not a property such as ``cpu: 256``); the
  longest key wins, then one whose collection names the resource's kind (``tables.catalog``
  for a DynamoDB table, ``functions.catalog`` for a Lambda function), then the shallower
  and the earlier. The line comes from the stack file as read
  (:attr:`.yamlfile.YamlDocument.lines`), not from a second parse.
- **the program**: the line that registered it. The SDK sends the call stack with every
  registration (``RegisterResourceRequest.stackTrace``); the first frame inside the program
  directory that is not an installed package or preflight itself is the user's line (for
  a component's child, the line in the component that creates it).

The root stack resource belongs to the stack file; a default provider to its package's
first config key (``aws:region``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from .capture import Registration
    from .yamlfile import YamlDocument

_PREFLIGHT_DIR = Path(__file__).resolve().parent
_INSTALLED = {"site-packages", "dist-packages"}


@dataclass(frozen=True)
class Place:
    path: str
    """As code scanning wants it: relative to the working directory when inside it."""
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Origin:
    stack_file: Place | None = None
    """The stack-file key the resource was made from."""
    program: Place | None = None
    """The program line that registered it."""

    @property
    def primary(self) -> Place | None:
        return self.stack_file or self.program


def repo_path(path: Path) -> str:
    """``path`` relative to the working directory when inside it, else as given."""
    try:
        resolved, cwd = path.resolve(), Path.cwd()
        return Path(os.path.relpath(resolved, cwd)).as_posix() \
            if resolved.is_relative_to(cwd) else path.as_posix()
    except (OSError, ValueError):
        return path.as_posix()


@dataclass(frozen=True)
class _Key:
    tokens: tuple[str, ...]
    ancestors: tuple[tuple[str, ...], ...]
    """The tokens of the keys it sits under (``github.environments`` for ``deploy``)."""
    kind: str
    """The collection it sits in, singular (``tables`` -> ``table``), for the kind check."""
    depth: int
    line: int


class StackKeys:
    """The stack file's named entries (keys under ``config`` that hold a map)."""

    def __init__(self, document: YamlDocument | None, stack: str):
        self.stack = stack
        self.keys: list[_Key] = []
        self.namespaces: dict[str, int] = {}
        if document is None or not isinstance(document.value, dict):
            return
        config = document.value.get("config")
        if not isinstance(config, dict):
            return
        for key in config:
            namespace = str(key).split(":", 1)[0] if ":" in str(key) else ""
            self.namespaces.setdefault(namespace, document.line(("config", key)))
        self._walk(document, config, ("config",), ())

    def _walk(self, document: YamlDocument, value: dict[str, Any],
              path: tuple[str, ...], ancestors: tuple[tuple[str, ...], ...]) -> None:
        collection = "-".join(ancestors[-1]) if ancestors else ""
        kind = collection[:-1] if collection.endswith("s") else collection
        for key, item in value.items():
            if not isinstance(item, dict):
                continue
            name = str(key).rsplit(":", 1)[-1] if len(path) == 1 else str(key)
            tokens = tuple(name.lower().split("-"))
            self.keys.append(_Key(tokens, ancestors, kind, len(path),
                                  document.line((*path, key))))
            self._walk(document, item, (*path, key), (*ancestors, tokens))

    def line_for(self, name: str, types: Iterable[str]) -> int | None:
        """The line of the key whose name ``name`` carries, or None."""
        if name.startswith(f"{self.stack}-"):
            name = name[len(self.stack) + 1:]
        tokens = tuple(name.lower().split("-"))
        kinds = [t.lower() for t in types]

        def carries(part: tuple[str, ...]) -> bool:
            n = len(part)
            return any(tokens[i:i + n] == part for i in range(len(tokens) - n + 1))

        best: tuple[int, int, int, bool, int, int] | None = None
        for key in self.keys:
            if not carries(key.tokens):
                continue
            # The name carries the key and, the more the better, the keys above it.
            chain = len(key.tokens) + sum(len(a) for a in key.ancestors if carries(a))
            score = (chain, len(key.tokens), len("-".join(key.tokens)),
                     bool(key.kind) and any(key.kind in t for t in kinds),
                     -key.depth, -key.line)
            if best is None or score > best:
                best = score
        return -best[5] if best is not None else None


def program_place(reg: Registration, program_dir: Path,
                  files: dict[str, str | None] | None = None) -> Place | None:
    """The first frame of the registration's call stack in the user's program. ``files``
    keeps each frame file's answer for the next registration (thousands share a few files)."""
    files = {} if files is None else files
    for uri, line in reg.frames():
        if not uri.startswith("file:") or line <= 0:
            continue
        if uri not in files:
            path = Path(unquote(urlparse(uri).path))
            files[uri] = None if (not path.is_relative_to(program_dir.resolve())
                                  or path.is_relative_to(_PREFLIGHT_DIR)
                                  or _INSTALLED.intersection(path.parts)) else repo_path(path)
        file = files[uri]
        if file is not None:
            return Place(file, line)
    return None


def locate(regs: list[Registration], document: YamlDocument | None, stack: str,
           stack_file: str, program_dir: Path) -> dict[str, Origin]:
    """Every resource's origin, by URN."""
    keys = StackKeys(document, stack)
    by_urn = {r.urn: r for r in regs}
    files: dict[str, str | None] = {}
    out: dict[str, Origin] = {}
    for reg in regs:
        types = [reg.type]
        parent = by_urn.get(reg.parent)
        while parent is not None and len(types) < 32:
            types.append(parent.type)
            parent = by_urn.get(parent.parent)
        line: int | None
        if reg.type == "pulumi:pulumi:Stack":
            line = 1
        elif reg.type.startswith("pulumi:providers:"):
            line = keys.namespaces.get(reg.type.rsplit(":", 1)[-1])
        else:
            line = keys.line_for(reg.name, types)
        out[reg.urn] = Origin(Place(stack_file, line) if line is not None else None,
                              program_place(reg, program_dir, files))
    return out
