"""The Pulumi SDK as preflight runs it: a batch process that runs a program and exits.

What a long-lived or deploying SDK pays for and an offline preview does not need, each
switched on here only where it changes nothing the program registers (the tests compare
every recorded ``RegisterResource`` request, byte for byte, with and without):

- ``lazy-imports``: a generated provider SDK's modules are imported when the program first
  asks for one of their names, not all of a package at once (:mod:`.lazy_imports`).
- ``gc``: what is imported before the program (the SDK, the provider modules) is moved out
  of the collector's sight (``gc.freeze``), and the cyclic collector runs rarely while the
  program registers resources (thresholds raised, not switched off, so memory stays bounded).
- ``source-positions``: the SDK records, for every resource, the call stack that created
  it (``traceback.extract_stack``, which also reads every frame's source line, and a
  ``pathlib`` URI per frame). The same ``StackTrace`` is built from the frames directly,
  with each file's URI computed once; installed only after it has given the SDK's own
  answer on a probe.

- ``outputs``: the SDK gives every property of a resource an ``Output`` built from four
  futures and a task that gathers them, whether or not the program ever reads it (most are
  never read). Here each property gets one future that its resolver completes with the
  same ``_OutputData`` (value, known, secret, dependencies), the way the SDK itself builds
  a resource's ``urn`` and ``id``: with ``urns``, about 60 % fewer event-loop callbacks and
  a quarter less memory for the program at 1,650 resources.
- ``plain-values``: the SDK serialises every input value through one coroutine that tests
  it against a dozen kinds (outputs, resources, assets, input types...) after unwrapping
  its declared type; a ``str``, ``int``, ``float``, ``bool`` or ``None`` comes out
  unchanged, so it is returned at once.
- ``urns``: every registration also computes the URN a mock monitor would answer with,
  through three chained ``Output`` objects; with a plain name, type and parent URN (as the
  SDK passes them) the same string is known at once.

``PREFLIGHT_DISABLE=lazy-imports,gc,...`` switches levers off (to measure each one, or to
rule one out when something looks wrong); ``PREFLIGHT_DISABLE=all`` switches off every one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

LEVERS = ("lazy-imports", "gc", "source-positions", "outputs", "plain-values", "urns")

GC_THRESHOLD = 50_000
"""Allocations between young-generation collections while a program runs (Python's
default is 700): the SDK allocates a few thousand objects per resource, most of them
freed by reference counting; the cycles it leaves are collected every so often, not after
every few resources."""


def enabled(lever: str) -> bool:
    """Whether ``lever`` is on (``PREFLIGHT_DISABLE`` names those that are not)."""
    off = {part.strip() for part in os.environ.get("PREFLIGHT_DISABLE", "").split(",")}
    return lever not in off and "all" not in off


def prepare() -> list[str]:
    """Switch on the levers that act at import time (idempotent); returns every lever on
    (``gc`` acts in :func:`program_gc`)."""
    on = []
    if enabled("lazy-imports"):
        from .lazy_imports import install

        install()
        on.append("lazy-imports")
    if enabled("gc"):
        on.append("gc")
    if enabled("source-positions") and _install_stack_traces():
        on.append("source-positions")
    if enabled("outputs") and _install_outputs():
        on.append("outputs")
    if enabled("plain-values") and _install_plain_values():
        on.append("plain-values")
    if enabled("urns") and _install_urns():
        on.append("urns")
    return on


@contextlib.contextmanager
def program_gc() -> Iterator[None]:
    """The collector's policy while a program runs: everything allocated before it
    (imports, earlier passes' records) frozen, young collections rare; restored
    afterwards."""
    if not enabled("gc"):
        yield
        return
    threshold = gc.get_threshold()
    gc.freeze()  # no collection first: a full one over the imported modules costs ~0.3 s
    gc.set_threshold(GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


# --- the SDK's per-resource stack trace --------------------------------------------------------

_URIS: dict[str, Any] = {}
_REPLACED: dict[str, Any] = {}
"""The SDK's own functions preflight stands in for, by name."""


def _position(filename: str, line: int | None) -> Any:
    """The SDK's ``_get_source_position_for_frame``, with one URI per file."""
    from pulumi.runtime.proto import source_pb2

    if filename == "" or line is None:
        return None
    uri = _URIS.get(filename, _URIS)
    if uri is _URIS:
        try:
            uri = Path(filename).as_uri()
        except BaseException:  # as the SDK: no position for what is not a file
            uri = None
        _URIS[filename] = uri
    return None if uri is None else source_pb2.SourcePosition(uri=uri, line=line)


_TRACES: dict[tuple[tuple[str, int], ...], Any] = {}
"""Each call stack's ``StackTrace``, by its frames' ``(file, line)``: resources created in
a loop or by one component share it, and the SDK only copies it into the request."""


def stack_trace() -> Any:
    """The SDK's ``_get_stack_trace`` from the frames themselves: the frames outside the
    third ``__init__`` up the stack (the concrete resource class's), innermost first."""
    from pulumi.runtime.proto import source_pb2

    frame: FrameType | None = sys._getframe(1)
    inits = 0
    while frame is not None:
        if frame.f_code.co_name == "__init__":
            inits += 1
            if inits == 3:
                break
        frame = frame.f_back
    if frame is None or frame.f_back is None:
        return source_pb2.StackTrace()
    key = []
    caller: FrameType | None = frame.f_back
    while caller is not None:
        key.append((caller.f_code.co_filename, caller.f_lineno))
        caller = caller.f_back
    frames = tuple(key)
    trace = _TRACES.get(frames)
    if trace is None:
        trace = _TRACES[frames] = source_pb2.StackTrace(frames=[
            source_pb2.StackFrame(pc=_position(filename, line)) for filename, line in frames])
    return trace


def _probe(get: Callable[[], Any]) -> bytes:
    """What ``get`` returns when called as the SDK calls it: from ``register_resource``
    under three nested ``__init__`` frames."""
    class Resource:
        def __init__(self) -> None:
            self.trace = register_resource()

    class CustomResource(Resource):
        def __init__(self) -> None:
            super().__init__()

    class Concrete(CustomResource):
        def __init__(self) -> None:
            super().__init__()

    def register_resource() -> Any:
        return get()

    def user_code() -> Any:
        return Concrete().trace

    return bytes(user_code().SerializeToString(deterministic=True))


def _replace(module: str, name: str, ours: Callable[..., Any],
             fits: Callable[[Callable[..., Any]], bool]) -> bool:
    """Put ``ours`` in place of the SDK's ``module.name`` when the SDK has it and ``fits``
    says ours stands in for it; the SDK's own is kept in :data:`_REPLACED`."""
    try:
        target = importlib.import_module(module)
    except ImportError:
        return False
    current = getattr(target, name, None)
    if current is ours:
        return True
    if current is None or not fits(current):
        return False  # another SDK: its own way
    _REPLACED[name] = current
    setattr(target, name, ours)
    return True


def _install_stack_traces() -> bool:
    return _replace("pulumi.runtime.resource", "_get_stack_trace", stack_trace,
                    lambda sdk: _probe(sdk) == _probe(stack_trace))


# --- a resource's output properties ---------------------------------------------------------

def transfer_properties(res: Any, props: Any, custom: bool) -> dict[str, Any]:
    """The SDK's ``rpc.transfer_properties``: an ``Output`` on ``res`` for every property
    (but its ``urn``, and the ``id`` of a custom resource) and, by name, the resolver the
    registration calls with ``(value, is_known, is_secret, deps, failed)``. Each ``Output``
    is one future resolved with what the SDK's four would gather: the value, whether it is
    known and secret, and its dependencies (``deps`` and ``res``), or the failure."""
    from pulumi.output import Output, _OutputData

    resolvers: dict[str, Any] = {}
    for name in props:
        if name == "urn" or (name == "id" and custom):
            continue
        data: asyncio.Future[Any] = asyncio.Future()
        resolvers[name] = functools.partial(_resolve_property, _OutputData, res, data)
        res.__dict__[name] = Output._from_data(data)
    return resolvers


def _resolve_property(output_data: Any, res: Any, data: asyncio.Future[Any], value: Any,
                      is_known: bool, is_secret: bool, deps: Any,
                      failed: BaseException | None) -> None:
    if failed is not None:
        data.set_exception(failed)
        return
    resources = set(deps) if deps else set()
    resources.add(res)
    data.set_result(output_data(resources=resources, value=value, is_known=is_known,
                                is_secret=is_secret))


def _install_outputs() -> bool:
    def fits(sdk: Callable[..., Any]) -> bool:
        from pulumi.output import Output, _OutputData

        fields = set(getattr(_OutputData, "__dataclass_fields__", ()))
        return hasattr(Output, "_from_data") and \
            fields == {"resources", "value", "is_known", "is_secret"} and \
            list(inspect.signature(sdk).parameters) == ["res", "props", "custom"]

    return _replace("pulumi.runtime.rpc", "transfer_properties", transfer_properties, fits)


# --- serialising an input value ----------------------------------------------------------

_PLAIN = (str, int, float, bool, type(None))
"""What the SDK's ``serialize_property`` returns as it is; exact types only (a subclass
may be something the SDK looks at first, such as an input type)."""

_SERIALIZE_PARAMETERS = ["value", "deps", "property_key", "resource_obj", "input_transformer",
                         "typ", "keep_output_values", "exclude_resource_refs_from_deps",
                         "return_protobuf_value"]


async def serialize_property(value: Any, deps: Any, property_key: Any,
                             resource_obj: Any = None, input_transformer: Any = None,
                             typ: Any = None, keep_output_values: bool = False,
                             exclude_resource_refs_from_deps: bool = False,
                             return_protobuf_value: bool = False) -> Any:
    """The SDK's ``rpc.serialize_property``: a plain value as it is, anything else (and any
    value wanted as a protobuf ``Value``) the SDK's own way, whose nested values come back
    here."""
    if type(value) in _PLAIN and not return_protobuf_value:
        return value
    return await _REPLACED["serialize_property"](
        value, deps, property_key, resource_obj, input_transformer, typ, keep_output_values,
        exclude_resource_refs_from_deps, return_protobuf_value)


def _install_plain_values() -> bool:
    return _replace("pulumi.runtime.rpc", "serialize_property", serialize_property,
                    lambda sdk: inspect.iscoroutinefunction(sdk) and
                    list(inspect.signature(sdk).parameters) == _SERIALIZE_PARAMETERS)


# --- the URN a registration computes for a mock monitor ---------------------------------------

def create_urn(name: Any, type_: Any, parent: Any = None, project: str | None = None,
               stack: str | None = None) -> Any:
    """The SDK's ``create_urn`` (in :mod:`pulumi.runtime.resource`): a known ``Output`` of
    the URN at once when the name, type and parent URN are plain strings; otherwise the
    SDK's own."""
    if not (isinstance(name, str) and isinstance(type_, str)
            and (parent is None or isinstance(parent, str))):
        return _REPLACED["create_urn"](name, type_, parent, project, stack)
    from pulumi.output import Output, _OutputData
    from pulumi.runtime import settings

    # joined with +, as the SDK joins them (a str subclass formats otherwise in an f-string)
    if parent is not None:
        prefix = parent[0:parent.rfind("::")] + "$"
    else:
        prefix = ("urn:pulumi:" + (settings.get_stack() if stack is None else stack) + "::"
                  + (settings.get_project() if project is None else project) + "::")
    data: asyncio.Future[Any] = asyncio.Future()
    data.set_result(_OutputData(resources=set(), value=prefix + type_ + "::" + name,
                                is_known=True, is_secret=False))
    return Output._from_data(data)


def _install_urns() -> bool:
    def fits(sdk: Callable[..., Any]) -> bool:
        from pulumi.output import Output

        return hasattr(Output, "_from_data") and list(inspect.signature(sdk).parameters) == \
            ["name", "type_", "parent", "project", "stack"]

    return _replace("pulumi.runtime.resource", "create_urn", create_urn, fits)


__all__ = ["GC_THRESHOLD", "LEVERS", "create_urn", "enabled", "prepare", "program_gc",
           "serialize_property", "stack_trace", "transfer_properties"]
