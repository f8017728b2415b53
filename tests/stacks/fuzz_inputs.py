"""Seeded mutations of the real stack files and policy configs, and the judge that runs each
through what preflight and the program run before anything is registered.

A mutation is text (the file as a user might have broken it). The judge answers
``("refused", lines)`` or ``("accepted", config)``; anything else it raises is a defect.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from components.spec import SpecError, parse_stack_config
from preflight.policy_config import (
    PolicyConfig,
    check_policy_config,
    config_schema,
    read_policy_config,
)
from preflight.project import Project, UsageError, load_stack_config
from preflight.yamlfile import MAX_DEPTH, loads

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")

# Values a key may be given instead of its own: every JSON type, edges and hostile text.
ODD_VALUES: list[Any] = [
    0, -1, 7, 10**12, 1.5, True, False, None, "", " ", "text", "*", "../../../../etc",
    "/etc", "a" * 300, "eu-west-1\n", "bell\x07", "AKIAIOSFODNN7EXAMPLE", "ümlaut",
    [], [1], ["x", "x"], {}, {"zz": 1},
]
YAML_TOKENS = ["!!set ", "!!binary ", "!!omap ", "!custom ", "&anchor ", "*missing ",
               ".nan", ".inf", "-.inf", "<<: *missing", "? [a, b]", "{", "]", "'", '"',
               "\t", "@", "`", "%YAML 1.1", "---", "...", "|", ">-"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)


def _misspell(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word + "x"
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:] if word[i] != word[i + 1] \
        else word[:i] + word[i + 1:]


class Mutator:
    """Mutations of one document (its text and its parsed form)."""

    def __init__(self, text: str, doc: Any, rng: random.Random):
        self.text, self.doc, self.rng = text, doc, rng

    def structural(self) -> tuple[str, str]:
        rng, doc = self.rng, copy.deepcopy(self.doc)
        paths = [p for p, _ in _paths(doc) if len(p) >= 2]
        path = rng.choice(paths)
        parent, key = _get(doc, path[:-1]), path[-1]
        kind = rng.choice(["retype", "retype", "delete", "rename", "add", "number", "string",
                           "list"])
        value = parent[key]
        if kind == "retype":
            parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif kind == "delete":
            del parent[key]
        elif kind == "rename" and isinstance(parent, dict):
            parent[_misspell(rng, str(key))] = parent.pop(key)
        elif kind == "add" and isinstance(value, dict):
            value[rng.choice(["zzUnknown", "enabled", "password", "Name", "x"])] = \
                copy.deepcopy(rng.choice(ODD_VALUES))
        elif kind == "number" and isinstance(value, int) and not isinstance(value, bool):
            parent[key] = rng.choice([0, -value, value * 1000 + 1, 2**31, value + 1])
        elif kind == "string" and isinstance(value, str):
            parent[key] = rng.choice([value + "\n", value.upper(), value[::-1], "",
                                      value + "\x00", "a" * 400, value.replace("-", "_"),
                                      "ghp_" + "a" * 36, value + "..", "../" + value])
        elif kind == "list" and isinstance(value, list):
            parent[key] = rng.choice([[], value + value, value[1:], [value]])
        else:
            parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        return f"{kind} {'.'.join(map(str, path))}", _dump(doc)

    def textual(self) -> tuple[str, str | bytes]:
        rng, text = self.rng, self.text
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        kind = rng.choice(["dup-line", "token", "token", "drop-char", "truncate", "indent",
                           "bytes", "bomb", "self-ref", "deep"])
        if kind == "dup-line":
            lines.insert(i, lines[i])
        elif kind == "token":
            line = lines[i]
            at = rng.randrange(len(line) + 1)
            lines[i] = line[:at] + rng.choice(YAML_TOKENS) + line[at:]
        elif kind == "drop-char":
            if lines[i].strip():
                at = rng.randrange(len(lines[i]))
                lines[i] = lines[i][:at] + lines[i][at + 1:]
        elif kind == "truncate":
            return kind, text[:rng.randrange(len(text))]
        elif kind == "indent":
            lines[i] = (" " if rng.random() < 0.5 else "   ") + lines[i]
        elif kind == "bytes":
            how = rng.choice(["latin-1", "utf-16", "gzip", "nul", "bom"])
            data = text.encode()
            if how == "latin-1":
                return f"{kind} {how}", text.replace("e", "\u00e9", 1).encode("latin-1")
            if how == "utf-16":
                return f"{kind} {how}", text.encode("utf-16")
            if how == "gzip":
                return f"{kind} {how}", gzip.compress(data)
            if how == "nul":
                return f"{kind} {how}", data[:len(data) // 2] + b"\x00" + data[len(data) // 2:]
            return f"{kind} {how}", b"\xef\xbb\xbf" + data  # accepted: a UTF-8 BOM
        elif kind in ("bomb", "self-ref", "deep"):
            return kind, text + _hostile(kind, self.indent_of_entries(),
                                         rng.randrange(MAX_DEPTH + 1, 3 * MAX_DEPTH))
        return f"{kind} line {i + 1}", "".join(lines)

    def indent_of_entries(self) -> str:
        return "  " if self.text.startswith("config:") or "\nconfig:" in self.text else ""


def _hostile(kind: str, indent: str, depth: int) -> str:
    if kind == "bomb":
        out = [f"{indent}zz:a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for prev, name in zip("abcdefg", "bcdefgh", strict=True):
            out.append(f"{indent}zz:{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
        return "\n".join(out) + "\n"
    if kind == "self-ref":
        return f"{indent}zz:loop: &loop {{next: *loop}}\n"
    return f"{indent}zz:deep: " + "[" * depth + "]" * depth + "\n"


# --- stack files ------------------------------------------------------------------------------

def stack_mutations(rng: random.Random, count: int) -> Iterator[tuple[str, str, str | bytes]]:
    """``(stack, what was done, the mutated file)``, half structural, half textual."""
    sources = {s: (ROOT / "stacks" / f"Pulumi.{s}.yaml").read_text() for s in STACKS}
    docs = {s: loads(t, s).value for s, t in sources.items()}
    for n in range(count):
        stack = STACKS[n % len(STACKS)]
        mutator = Mutator(sources[stack], docs[stack], rng)
        what, data = mutator.structural() if n % 2 == 0 else mutator.textual()
        yield stack, what, data


def judge_stack(project: Project, data: str | bytes) -> tuple[str, Any]:
    """What preflight and the program decide before registering anything."""
    path = project.stack_file("fuzz")
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    try:
        config = load_stack_config(project, "fuzz")
    except UsageError as exc:
        return "refused", str(exc).splitlines()
    try:
        parse_stack_config(config.values, str(ROOT), config.secret_keys)
    except SpecError as exc:
        return "refused", exc.lines("stacks/Pulumi.fuzz.yaml")
    return "accepted", config


# --- policy configs ---------------------------------------------------------------------------

def policy_mutations(rng: random.Random, count: int,
                     policies: list[str]) -> Iterator[tuple[str, str, str | bytes]]:
    sources = {s: (ROOT / "stacks" / f"Pulumi.{s}.policy.json").read_text() for s in STACKS}
    for n in range(count):
        stack = STACKS[n % len(STACKS)]
        what, data = _policy_mutation(rng, json.loads(sources[stack]), policies)
        yield stack, what, data


def _policy_mutation(rng: random.Random, doc: dict[str, Any],
                     policies: list[str]) -> tuple[str, str | bytes]:
    kind = rng.choice(["retype", "level", "name", "all-prop", "dup", "exception", "param",
                       "delete", "bytes", "nan", "valid-level"])
    name = rng.choice(sorted(doc))
    if kind == "retype":
        doc[name] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif kind == "level":
        doc[name] = rng.choice(["fatal", "Mandatory", "warn", "", "error"])
    elif kind == "name":
        doc[_misspell(rng, name)] = doc.pop(name)
    elif kind == "all-prop":
        doc["all"] = {"enforcementLevel": "mandatory",
                      rng.choice(["minAzCount", "exceptions", "x"]): 3}
    elif kind == "dup":
        body = json.dumps(doc, indent=2)
        return f"{kind} {name}", body[:-2] + f',\n  "{name}": "disabled"\n}}'
    elif kind == "exception":
        flaw = rng.choice(["resource", "reason", "expires", "extra", "type"])
        exc: Any = {"resource": "prod-web", "reason": "a long enough reason",
                    "expires": "2027-06-30"}
        if flaw == "resource":
            exc["resource"] = rng.choice(["*", "**", "?*", "*-*", "", "urn:pulumi:*"])
        elif flaw == "reason":
            exc["reason"] = rng.choice(["", "short", 42])
        elif flaw == "expires":
            bad = rng.choice([None, "soon", "2027-13-01", "31/12/2027"])
            if bad is None:
                del exc["expires"]
            else:
                exc["expires"] = bad
        elif flaw == "extra":
            exc["owner"] = "me"
        else:
            exc = rng.choice(["prod-web", ["prod-web"], 3])
        name = rng.choice(policies)
        doc[name] = {"exceptions": [exc]}
        kind = f"{kind}-{flaw}"
    elif kind == "param":
        name = "multi-az-footprint"
        doc[name] = {"minAzCount": rng.choice([0, -1, "3", 2.5, True, None, [3]])}
    elif kind == "delete":
        doc.pop(name)
    elif kind == "bytes":
        how = rng.choice(["latin-1", "utf-16", "gzip"])
        text = json.dumps(doc, ensure_ascii=False).replace("e", "\u00e9", 1)
        return f"{kind} {how}", (gzip.compress(text.encode()) if how == "gzip"
                                 else text.encode(how))
    elif kind == "nan":
        return kind, json.dumps(doc).replace("3", rng.choice(["NaN", "Infinity"]), 1)
    else:  # a valid change: another level for one policy
        name = rng.choice(policies)
        doc[name] = rng.choice(["advisory", "mandatory", "disabled"])
    return f"{kind} {name}", json.dumps(doc, indent=2)


def judge_policy_config(path: Path, data: str | bytes,
                        schemas: dict[str, dict[str, Any]]) -> tuple[str, Any]:
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    try:
        config = read_policy_config(path)
        check_policy_config(config, config_schema(schemas), "microservices-platform")
    except UsageError as exc:
        return "refused", str(exc).splitlines()
    return "accepted", PolicyConfig(config)


Judge = Callable[..., tuple[str, Any]]
