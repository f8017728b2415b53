"""The resource graph the analyses read: every registration with its engine-format
(camelCase) inputs, parent and dependencies, as preflight recorded it.

Inputs are decoded lazily, per resource and only when an analysis reads them, straight from
the protobuf ``Struct`` the program sent: values unknown at preview become :data:`UNKNOWN`,
secrets their plain value (nothing here is shown verbatim), resource references their URN,
assets and archives :data:`ASSET`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import rpc

from ..capture import STACK_TYPE, Registration

# Wire-format signatures of the engine protocol (sdk/proto: the resource monitor's property
# values): the unknown sentinel, and the special-object key with its secret, resource
# reference and output-value signatures.
_UNKNOWN_SIG = rpc.UNKNOWN
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


UNKNOWN: Any = _Marker("UNKNOWN")
"""A value unknown at preview (an id or output of another resource)."""
ASSET: Any = _Marker("ASSET")
"""An asset or archive (code, files)."""


def decode(value: Any) -> Any:
    """A protobuf ``Value``/``Struct``/``ListValue`` as plain Python."""
    if isinstance(value, struct_pb2.Value):
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            return decode(value.struct_value)
        if kind == "list_value":
            return [decode(v) for v in value.list_value.values]
        if kind == "null_value" or kind is None:
            return None
        return getattr(value, kind)
    if isinstance(value, struct_pb2.ListValue):
        return [decode(v) for v in value.values]
    if isinstance(value, struct_pb2.Struct):
        fields = value.fields
        if _SIG_KEY in fields:
            sig = fields[_SIG_KEY].string_value
            if sig == _SECRET_SIG:
                return decode(fields["value"]) if "value" in fields else UNKNOWN
            if sig == _RESOURCE_SIG:
                return fields["urn"].string_value
            if sig == _OUTPUT_SIG:
                return decode(fields["value"]) if "value" in fields else UNKNOWN
            return ASSET
        return {k: decode(v) for k, v in fields.items()}
    if value == _UNKNOWN_SIG:
        return UNKNOWN
    return value


def _plain(value: Any) -> Any:
    """Already-decoded inputs (component tests) with the SDK's unknowns as UNKNOWN."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return UNKNOWN if value == _UNKNOWN_SIG else value
    return UNKNOWN if type(value).__name__ == "Unknown" else ASSET


class Node:
    """One resource of the graph (the shape policies/guardrails/az_loss.py reads)."""

    __slots__ = ("_props", "graph", "reg")

    def __init__(self, reg: Registration, graph: ResourceGraph) -> None:
        self.reg = reg
        self.graph = graph
        self._props: dict[str, Any] | None = None

    @property
    def type(self) -> str:
        return self.reg.type

    @property
    def name(self) -> str:
        return self.reg.name

    @property
    def urn(self) -> str:
        return self.reg.urn

    @property
    def parent(self) -> Node | None:
        return self.graph.by_urn.get(self.reg.parent)

    @property
    def props(self) -> dict[str, Any]:
        if self._props is None:
            reg = self.reg
            if reg.properties is not None:
                self._props = {k: decode(v) for k, v in reg.properties.fields.items()}
            else:
                self._props = _plain(reg.inputs)
        return self._props

    def get(self, path: str, default: Any = None) -> Any:
        """``get("a.b.c")``: UNKNOWN if a step is unknown, ``default`` if missing or None."""
        value: Any = self.props
        for part in path.split("."):
            if value is UNKNOWN:
                return UNKNOWN
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return default
            if value is None:
                return default
        return value

    def deps(self, prop: str | None = None, types: Sequence[str] | None = None) -> list[Node]:
        """Resources behind input ``prop`` (any input and ``dependsOn`` if None), in URN
        order: the SDK collects them in a set, so the order it sends them in changes from
        run to run."""
        reg = self.reg
        if prop is None:
            urns = [u for us in reg.property_dependencies.values() for u in us]
            urns += reg.dependencies
        else:
            urns = reg.property_dependencies.get(prop, [])
        out: list[Node] = []
        for urn in sorted(urns):
            node = self.graph.by_urn.get(urn)
            if node is not None and (types is None or node.type in types) and node not in out:
                out.append(node)
        return out

    def region(self) -> str:
        """The ``region`` of the provider that manages the resource ("" if none is set)."""
        ref = self.reg.provider
        provider = (self.graph.by_urn.get(ref.rsplit("::", 1)[0]) if ref
                    else self.graph.default_provider(self.reg.package))
        region = provider.get("region") if provider is not None else None
        return region if isinstance(region, str) else ""

    def group(self) -> str:
        """The name of the component that owns the resource (its own name if none does)."""
        node = self.parent
        while node is not None:
            if not node.reg.custom and node.type != STACK_TYPE:
                return node.name
            node = node.parent
        return self.name

    def __repr__(self) -> str:
        return f"Node({self.type}, {self.name})"


class ResourceGraph:
    """All recorded resources, by URN and by type."""

    def __init__(self, registrations: Iterable[Registration]) -> None:
        self.nodes: list[Node] = []
        self.by_urn: dict[str, Node] = {}
        self.by_type: dict[str, list[Node]] = {}
        for reg in registrations:
            node = Node(reg, self)
            self.nodes.append(node)
            self.by_urn[reg.urn] = node
            self.by_type.setdefault(reg.type, []).append(node)

    def default_provider(self, package: str) -> Node | None:
        for node in self.by_type.get(f"pulumi:providers:{package}", ()):
            if node.name.startswith("default"):
                return node
        return None

    def of_type(self, *types: str) -> list[Node]:
        return [n for t in types for n in self.by_type.get(t, ())]

    def referencing(self, target: Node, types: Sequence[str],
                    prop: str | None = None) -> list[Node]:
        """Resources of ``types`` whose input ``prop`` (or any) depends on ``target``."""
        return [n for n in self.of_type(*types) if target in n.deps(prop)]
