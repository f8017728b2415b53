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

``PREFLIGHT_DISABLE=lazy-imports,gc,...`` switches levers off (to measure each one, or to
rule one out when something looks wrong); ``PREFLIGHT_DISABLE=all`` switches off every one.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

LEVERS = ("lazy-imports", "gc", "source-positions")

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
    frames = []
    caller: FrameType | None = frame.f_back
    while caller is not None:
        frames.append(source_pb2.StackFrame(pc=_position(caller.f_code.co_filename,
                                                         caller.f_lineno)))
        caller = caller.f_back
    return source_pb2.StackTrace(frames=frames)


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


def _install_stack_traces() -> bool:
    try:
        from pulumi.runtime import resource
    except ImportError:
        return False
    current = getattr(resource, "_get_stack_trace", None)
    if current is stack_trace:
        return True
    if current is None or _probe(current) != _probe(stack_trace):
        return False
    _REPLACED["_get_stack_trace"] = current
    resource._get_stack_trace = stack_trace
    return True


__all__ = ["GC_THRESHOLD", "LEVERS", "enabled", "prepare", "program_gc", "stack_trace"]
