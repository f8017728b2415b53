"""Answers to data sources (invokes): the user's invokes file first, then the stand-in account.

The invokes file sits beside the stack files (``<stackConfigDir>/preflight.invokes.yaml``,
e.g. ``stacks/preflight.invokes.yaml``; ``--invokes FILE`` names another) and answers data
sources with the values a real account would give::

    invokes:
      - token: aws:ec2/getVpc:getVpc       # the data source (as in the unanswered list)
        args: {tags: {Name: shared}}       # optional: calls whose arguments include these
        stacks: [prod]                     # optional: only these stacks
        result:                            # what the data source returns (engine names)
          id: vpc-0a1b2c3d4e5f67890
          cidrBlock: 10.20.0.0/16

An entry answers a call when its token matches, its stack list (if any) names the stack and
its ``args`` are contained in the call's arguments (objects key by key, lists and scalars
equal). The most specific entry wins (most argument values, then one that names stacks); on
a tie, the first. A call that
neither the file nor the stand-in account answers returns an empty result and is reported
by token and arguments; when the program then fails, the error names it and this file.

``Resource.get(name, id)`` reads are looked up the same way, with the resource type as the
token and ``{id: ...}`` as the arguments.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .account import StandInAccount
from .project import UsageError, display_path, load_yaml

FILE_NAME = "preflight.invokes.yaml"
FILE_SOURCE = "invokes file"
_TOKEN = re.compile(r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_./-]*:[A-Za-z0-9_]+$")
_ENTRY_KEYS = ("token", "args", "stacks", "result")


@dataclass(frozen=True)
class InvokeAnswer:
    token: str
    args: Mapping[str, Any]
    result: Mapping[str, Any]
    stacks: tuple[str, ...] = ()

    def matches(self, token: str, stack: str, args: Mapping[str, Any]) -> bool:
        return (token == self.token and (not self.stacks or stack in self.stacks)
                and _contains(args, self.args))

    @property
    def weight(self) -> tuple[int, bool]:
        """More argument values is more specific; so is naming the stack."""
        return _leaves(self.args), bool(self.stacks)


def _contains(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and _contains(actual[k], v) for k, v in wanted.items())
    if isinstance(wanted, float | int) and isinstance(actual, float | int) \
            and not isinstance(wanted, bool):
        return float(wanted) == float(actual)
    return bool(actual == wanted)


def _leaves(value: Any) -> int:
    if isinstance(value, Mapping):
        return sum(_leaves(v) for v in value.values())
    return 1


def load_invokes(path: Path) -> list[InvokeAnswer]:
    """The answers in ``path``; every problem is reported at once (UsageError)."""
    where = display_path(path)
    doc = load_yaml(path)
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise UsageError(f"{where}: expected a map with an 'invokes' list")
    problems = [f"{where}: {key}: unknown key; the file has one key, 'invokes'"
                for key in doc if key != "invokes"]
    entries = doc.get("invokes")
    entries = [] if entries is None else entries
    if not isinstance(entries, list):
        problems.append(f"{where}: invokes: expected a list of entries with token and result")
        entries = []
    answers = []
    for i, entry in enumerate(entries):
        at = f"{where}: invokes[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{at}: expected a map with token, args, stacks and result")
            continue
        for key in entry:
            if key not in _ENTRY_KEYS:
                problems.append(f"{at}.{key}: unknown key (allowed: {', '.join(_ENTRY_KEYS)})")
        token = entry.get("token")
        if not isinstance(token, str) or not _TOKEN.match(token):
            problems.append(f"{at}.token: expected a data source token such as "
                            f"'aws:ec2/getVpc:getVpc' (got {token!r})")
        args = entry.get("args", {})
        if not isinstance(args, dict):
            problems.append(f"{at}.args: expected a map of the call's arguments")
        stacks = entry.get("stacks", [])
        if not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks):
            problems.append(f"{at}.stacks: expected a list of stack names")
        result = entry.get("result")
        if not isinstance(result, dict):
            problems.append(f"{at}.result: expected a map of what the data source returns")
        if not problems:
            answers.append(InvokeAnswer(str(token), _plain(args), _plain(result),
                                        tuple(stacks)))
    if problems:
        raise UsageError("\n".join(problems) if len(problems) > 1 else problems[0])
    return answers


def _plain(value: Any) -> Any:
    """YAML values as JSON would carry them (dates and the like become strings)."""
    return json.loads(json.dumps(value, default=str))


@dataclass
class Lookup:
    """One data source (or ``Resource.get``) the program called, and who answered it."""

    token: str
    args: dict[str, Any]
    source: str
    """``invokes file``, ``exact``, ``stand-in`` or ``""`` (unanswered)."""
    count: int = 1

    @property
    def answered(self) -> bool:
        return bool(self.source)

    @property
    def function(self) -> str:
        """The Python name of a data source token: ``aws:ec2/getVpc:getVpc`` ->
        ``aws.ec2.get_vpc``; other tokens as they are."""
        parts = self.token.split(":")
        if len(parts) != 3 or not parts[2][:1].islower():
            return self.token
        module = parts[1].split("/")[0]
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", parts[2]).lower()
        return ".".join(p for p in (parts[0], "" if module == "index" else module, snake) if p)

    def describe(self) -> str:
        args = json.dumps(self.args, sort_keys=True, separators=(", ", ": "), default=str)
        return f"{self.token} ({self.function}) with {args}"


@dataclass
class Answers:
    """Answers invokes for one stack and keeps the ledger of what was asked."""

    stack: str
    account: StandInAccount
    file_answers: list[InvokeAnswer] = field(default_factory=list)
    file: Path | None = None
    """The invokes file (existing or not) that the error messages point to."""
    lookups: list[Lookup] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answer(self, token: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
        plain = _plain(dict(args))
        candidates = [a for a in self.file_answers if a.matches(token, self.stack, plain)]
        value: dict[str, Any] | None = None
        if candidates:
            best = max(candidates, key=lambda a: a.weight)  # max keeps the first on ties
            value, source = dict(best.result), FILE_SOURCE
        else:
            stand_in = self.account.answer(token, plain)
            if stand_in is not None:
                value, source = stand_in.value, stand_in.source
            else:
                source = ""
        self._record(token, plain, source)
        return value

    def _record(self, token: str, args: dict[str, Any], source: str) -> None:
        with self._lock:
            for item in self.lookups:
                if item.token == token and item.args == args:
                    item.count += 1
                    return
            self.lookups.append(Lookup(token, args, source))

    @property
    def unanswered(self) -> list[Lookup]:
        return [item for item in self.lookups if not item.answered]

    def hint(self) -> str:
        """Which invokes had no answer, and where to give one (for a failed program)."""
        missing = self.unanswered
        if not missing:
            return ""
        where = display_path(self.file) if self.file else FILE_NAME
        names = "; ".join(item.describe() for item in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        return (f"data source{'s' if len(missing) > 1 else ''} without an offline answer: "
                f"{names}{more}; answer {'them' if len(missing) > 1 else 'it'} in {where}")


def invokes_file(stack_config_dir: Path) -> Path:
    """Where the invokes file of a project lives by default."""
    return stack_config_dir / FILE_NAME


__all__ = ["FILE_NAME", "Answers", "InvokeAnswer", "Lookup", "invokes_file", "load_invokes"]
