"""The analyzer the pack serves: pulumi_policy's own, plus two things it cannot express.

- ``Configure`` rejects invalid exceptions and parameters with INVALID_ARGUMENT, so a bad
  policy config stops the preview with a clear message instead of being ignored.
- It records every enabled policy's exceptions, which the exception audits
  (:mod:`.exceptions`) check against the whole stack.
- Findings covered by a valid exception (message starting ``[exempted] ``) are reported at
  the advisory level whatever the policy's enforcement level: visible, never blocking.

It also runs, for each resource, only the policies written for that resource's type:
pulumi_policy converts the resource's properties once per policy it calls, which made
turning 95 policies over every resource cost most of a preview's time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pulumi_policy.policy as _policy
from google.protobuf import json_format
from pulumi.runtime import proto

from .core import EXEMPTED_PREFIX, REGISTRY, set_configured_exceptions
from .pack import config_problems, one_stack_analysis


class _OncePerResource:
    """For one AnalyzeStack call: pulumi_policy converts every resource's properties again
    for each stack policy; the first conversion serves them all (nothing mutates them)."""

    def __init__(self) -> None:
        self._dicts: dict[int, Any] = {}
        self._props: dict[int, Any] = {}
        self._keep: list[Any] = []  # keeps keyed objects alive so ids stay unique

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:
        key = id(message)
        if key not in self._dicts:
            self._keep.append(message)
            self._dicts[key] = json_format.MessageToDict(message, *args, **kwargs)
        return self._dicts[key]

    def deserialize_properties(self, props: dict[str, Any],
                               proxy_secrets: bool = False) -> dict[str, Any]:
        key = id(props)
        if key not in self._props:
            self._keep.append(props)
            self._props[key] = _deserialize(props, proxy_secrets)
        return self._props[key]


_deserialize = _policy.deserialize_properties


@contextmanager
def _converting_once() -> Iterator[None]:
    once = _OncePerResource()
    _policy.json_format, _policy.deserialize_properties = once, once.deserialize_properties
    try:
        yield
    finally:
        _policy.json_format, _policy.deserialize_properties = json_format, _deserialize


def _demote_exempted(response: Any) -> Any:
    for diagnostic in response.diagnostics:
        message = diagnostic.message
        if message.startswith(EXEMPTED_PREFIX) or f"\n{EXEMPTED_PREFIX}" in message:
            diagnostic.enforcementLevel = proto.ADVISORY
    return response


class GuardrailAnalyzer(_policy._PolicyAnalyzerServicer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = list(self._PolicyAnalyzerServicer__policies)  # type: ignore[has-type]
        self._all_policies = everything
        # Resource rules run on their own types; stack rules (and anything unregistered)
        # are left to AnalyzeStack and pulumi_policy, which skips them in Analyze.
        self._by_type: dict[str, list[Any]] = {}
        for policy in everything:
            record = REGISTRY.get(policy.name)
            for type_ in (record.types if record and record.kind == "resource" else ()):
                self._by_type.setdefault(type_, []).append(policy)
        self._lock = threading.Lock()  # Analyze swaps the list pulumi_policy iterates

    def Configure(self, request: Any, context: Any) -> Any:
        config = {name: json_format.MessageToDict(value.properties)
                  for name, value in request.policyConfig.items()}
        problems = config_problems(config)
        if problems:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "invalid policy pack configuration:\n" + "\n".join(problems))
        set_configured_exceptions({
            name: REGISTRY[name].settings(props).exceptions for name, props in config.items()
            if name in REGISTRY
            and request.policyConfig[name].enforcementLevel != proto.DISABLED})
        return super().Configure(request, context)

    def Analyze(self, request: Any, context: Any) -> Any:
        with self._lock:
            self._PolicyAnalyzerServicer__policies = self._by_type.get(request.type, [])
            try:
                return _demote_exempted(super().Analyze(request, context))
            finally:
                self._PolicyAnalyzerServicer__policies = self._all_policies

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
        with self._lock, one_stack_analysis(), _converting_once():
            return _demote_exempted(super().AnalyzeStack(request, context))


def use_guardrail_analyzer() -> None:
    """Make PolicyPack serve :class:`GuardrailAnalyzer` (call before building the pack)."""
    _policy._PolicyAnalyzerServicer = GuardrailAnalyzer  # type: ignore[misc]
