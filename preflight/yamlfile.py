"""YAML files read the way the Pulumi CLI reads them, but refusing what it would silently
reinterpret or choke on.

- YAML 1.2 core schema (``yes`` and ``on`` stay strings; dates stay strings).
- UTF-8 text only (a UTF-8 byte-order mark is allowed): Latin-1, UTF-16, gzip or binary
  bytes are refused with the file and the line of the first bad byte.
- Duplicate keys are refused (the CLI's reader refuses them; PyYAML keeps the last).
- Aliases are allowed but bounded: a structure that refers to itself, or aliases that
  expand to more than :data:`MAX_VALUES` values (a "billion laughs"), are refused, as is
  nesting deeper than :data:`MAX_DEPTH`.
- Only plain JSON-like values: ``!!set``, ``!!binary``, ``!!omap`` and application tags are
  refused, and so are ``.nan`` and ``.inf``, which JSON cannot carry.
- Every value keeps the line it was written on (:attr:`YamlDocument.lines`), for messages.

libyaml (through PyYAML) scans and composes the document; the values are built here, so
that every problem can name its file, line and key.

Every problem is one line, ``<file>:<line>: <key path>: <what is wrong>: <the fix>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.error import MarkedYAMLError, YAMLError
from yaml.events import CollectionEndEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DEPTH = 64
"""Deepest nesting of maps and lists accepted (the platform's own files use 6)."""
MAX_VALUES = 100_000
"""Most values a document may expand to once aliases are followed."""

PathItem = str | int

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_DATE_TAG = f"{_TAG}timestamp"  # YAML 1.1 dates: a string in YAML 1.2, as the CLI reads it
_MAP_TAG, _SEQ_TAG, _MERGE_TAG = f"{_TAG}map", f"{_TAG}seq", f"{_TAG}merge"


class YamlError(Exception):
    """The file cannot be read as plain YAML; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class YamlDocument:
    value: Any
    lines: dict[tuple[PathItem, ...], int] = field(default_factory=dict)
    """Line (1-based) where each key path's value starts; ``()`` is the document."""

    def line(self, path: tuple[PathItem, ...]) -> int:
        """The line of ``path``, or of its closest ancestor the file has."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def render_path(path: tuple[PathItem, ...]) -> str:
    out = ""
    for item in path:
        out += f"[{item}]" if isinstance(item, int) else (f".{item}" if out else str(item))
    return out


def read_text(path: Path, shown: str) -> str:
    """The file as text; refuses what is not UTF-8 (naming the line of the first bad byte)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YamlError([f"{shown}: cannot read: {exc.strerror}"]) from None
    return decode_text(data, shown)


def decode_text(data: bytes, shown: str) -> str:
    fix = "save it as UTF-8 text"
    if data.startswith(b"\x1f\x8b"):
        raise YamlError([f"{shown}: is gzip-compressed, not text: {fix}"])
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise YamlError([f"{shown}: is {name} text: {fix}"])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise YamlError([f"{shown}:{line}: byte 0x{data[exc.start]:02x} is not UTF-8: "
                         f"{fix}"]) from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise YamlError([f"{shown}:{line}: contains a NUL byte (a binary file?): {fix}"])
    return text


def load(path: Path, shown: str, under: tuple[PathItem, ...] = ()) -> YamlDocument:
    """Read and check ``path``; ``shown`` is how messages name it, and key paths inside
    ``under`` are named relative to it. Raises :class:`YamlError`."""
    return loads(read_text(path, shown), shown, under)


def loads(text: str, shown: str, under: tuple[PathItem, ...] = ()) -> YamlDocument:
    try:
        if _depth_bound(text) > MAX_DEPTH:  # composition recurses per level: look first
            _check_depth(yaml.parse(text, Loader=_Loader), shown)
        node = yaml.compose(text, Loader=_Loader)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        what = exc.problem or exc.context or "not valid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise YamlError([f"{where}: invalid YAML: {what}{context}"]) from None
    except YAMLError as exc:  # reader errors: characters YAML does not allow
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise YamlError([f"{shown}: invalid YAML: {first}"]) from None
    doc = YamlDocument(None)
    if node is None:
        return doc
    builder = _Builder(shown, doc, under)
    doc.value = builder.build(node, ())
    if builder.problems:
        raise YamlError(builder.problems)
    return doc


def _depth_bound(text: str) -> int:
    """An upper bound of the document's nesting, in one cheap pass: block nesting needs
    indentation or a ``- `` per level, flow nesting a bracket per level."""
    flow = deepest_flow = block = 0
    for line in text.splitlines():
        block = max(block, len(line) - len(line.lstrip(" ")) + line.count("- "))
        for char in line:
            if char in "[{":
                flow += 1
                deepest_flow = max(deepest_flow, flow)
            elif char in "]}":
                flow -= 1
    return block + deepest_flow + 1


def _check_depth(events: Iterator[Any], shown: str) -> None:
    """Where nesting gets deeper than :data:`MAX_DEPTH`."""
    depth = 0
    for event in events:
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise YamlError([f"{shown}:{line}: values are nested more than {MAX_DEPTH} "
                                 "levels deep: flatten the structure"])
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


class _Builder:
    """Nodes to plain values, with the checks above and a line per key path."""

    def __init__(self, shown: str, doc: YamlDocument, under: tuple[PathItem, ...]):
        self.under = under
        self.shown = shown
        self.doc = doc
        self.problems: list[str] = []
        self.sizes: dict[int, int] = {}
        self.reported: set[int] = set()
        self.too_deep = False
        self.open: set[int] = set()

    def problem(self, node: Node, path: tuple[PathItem, ...], text: str) -> None:
        if path[:len(self.under)] == self.under and len(path) > len(self.under):
            path = path[len(self.under):]
        where = f"{render_path(path)}: " if path else ""
        self.problems.append(f"{self.shown}:{node.start_mark.line + 1}: {where}{text}")

    def size(self, node: Node) -> int:
        """How many values ``node`` expands to, aliases followed (capped just above the
        limit; 0 for a structure that contains itself, which :meth:`build` reports)."""
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        self.sizes[id(node)] = 0  # a cycle counts nothing more
        if isinstance(node, MappingNode):
            children = [v for pair in node.value for v in pair]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            children = []
        total = 1
        for child in children:
            total = min(total + self.size(child), MAX_VALUES + 1)
        self.sizes[id(node)] = total
        return total

    def build(self, node: Node, path: tuple[PathItem, ...]) -> Any:
        if len(self.open) >= MAX_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self.problem(node, (), f"values are nested more than {MAX_DEPTH} levels "
                                       "deep: flatten the structure")
            return None
        self.doc.lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in self.open:
            self.problem(node, path, "an alias refers to a value that contains it: "
                                     "remove the self-reference")
            return None
        if self.size(node) > MAX_VALUES and self._whole_excess(node):
            if id(node) not in self.reported:  # once, however often it is referred to
                self.reported.add(id(node))
                self.problem(node, path, f"aliases expand to more than {MAX_VALUES} "
                                         "values: write the values out or use fewer aliases")
            return None
        tag = str(node.tag)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path, tag)
        if tag not in (_MAP_TAG, _SEQ_TAG):
            self.problem(node, path, f"the YAML tag {_short(tag)} is not supported: write a "
                                     "plain map or list")
            return None
        self.open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, MappingNode)
            return self.mapping(node, path)
        finally:
            self.open.discard(id(node))

    def _whole_excess(self, node: Node) -> bool:
        """The expansion is too large here as a whole, not in one child alone (blame lands
        on the smallest value that is too large)."""
        if isinstance(node, MappingNode):
            children = [v for _, v in node.value]
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        else:
            return True
        return all(self.size(child) <= MAX_VALUES for child in children)

    def scalar(self, node: ScalarNode, path: tuple[PathItem, ...], tag: str) -> Any:
        if tag == _DATE_TAG:
            return node.value
        if tag not in _SCALAR_TAGS:
            self.problem(node, path, f"the YAML tag {_short(tag)} is not supported: write a "
                                     "plain string, number, true/false or null")
            return None
        try:
            value = _SCALARS[tag](node.value)
        except ValueError:
            self.problem(node, path, f"{node.value!r} is not a valid {_short(tag)}: write it "
                                     "without the tag, or as the tag's type requires")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(node, path, f"{node.value} is not a finite number: write a number "
                                     "(JSON has no NaN or infinity)")
            return None
        return value

    def mapping(self, node: MappingNode, path: tuple[PathItem, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if str(key_node.tag) == _MERGE_TAG:
                merged |= self.merge(value_node, path)
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, path, "a key must be plain text, not a map or list")
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first:
                self.problem(key_node, (*path, key),
                             f"duplicate key (first at line {first[key]}): keep one")
                continue
            first[key] = line
            out[key] = self.build(value_node, (*path, key))
            self.doc.lines[(*path, key)] = line
        return {**{k: v for k, v in merged.items() if k not in out}, **out}

    def merge(self, node: Node, path: tuple[PathItem, ...]) -> dict[str, Any]:
        """``<<: *base`` or ``<<: [*a, *b]`` (earlier maps win, explicit keys win over all)."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        out: dict[str, Any] = {}
        for source in sources:
            value = self.build(source, path)
            if not isinstance(value, dict):
                if value is not None:
                    self.problem(source, path, "a merge (<<) takes a map or a list of maps")
                continue
            out = {**value, **out}
        return out


# --- YAML 1.2 core schema ------------------------------------------------------------------
# libyaml (through PyYAML) scans and composes; the tags of plain scalars are resolved here
# by the YAML 1.2 core schema, as the Pulumi CLI's reader does, not PyYAML's YAML 1.1 rules.

_INT_RE = re.compile(r"[-+]?[0-9]+")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOATS = {".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
                   "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
                   "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
                   ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}


def _int(text: str) -> int:
    if text[:2] in ("0o", "0x"):
        return int(text[2:], 8 if text[1] == "o" else 16)
    if not _INT_RE.fullmatch(text):
        raise ValueError(text)
    return int(text, 10)


def _float(text: str) -> float:
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    if not _FLOAT_RE.fullmatch(text):
        raise ValueError(text)
    return float(text)


def _bool(text: str) -> bool:
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    raise ValueError(text)


def _null(text: str) -> None:
    if text not in ("", "~", "null", "Null", "NULL"):
        raise ValueError(text)


_SCALARS: dict[str, Any] = {f"{_TAG}str": str, f"{_TAG}int": _int, f"{_TAG}float": _float,
                            f"{_TAG}bool": _bool, f"{_TAG}null": _null}


class _Resolver(yaml.resolver.BaseResolver):
    """Plain scalars by the YAML 1.2 core schema."""


for _tag, _pattern, _first in (
        ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                  r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+.0123456789"),
        ("merge", r"^(?:<<)$", "<")):
    _Resolver.add_implicit_resolver(f"{_TAG}{_tag}", re.compile(_pattern), list(_first))

_Parser = getattr(yaml, "CParser", None)
if _Parser is not None:  # libyaml: about 25 times faster than pure Python
    class _Loader(_Parser, _Resolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)  # type: ignore[misc]
            _Resolver.__init__(self)
else:  # pragma: no cover - PyYAML built without libyaml
    class _Loader(yaml.reader.Reader, yaml.scanner.Scanner,  # type: ignore[no-redef]
                  yaml.parser.Parser, yaml.composer.Composer, _Resolver):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _Resolver.__init__(self)


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag
