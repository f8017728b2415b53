"""The analyzer the pack serves: pulumi_policy's own, plus what it cannot express.

- ``Configure`` rejects invalid exceptions and parameters with INVALID_ARGUMENT, so a bad
  policy config stops the preview with a clear message instead of being ignored.
- Findings covered by a valid exception (message starting ``[exempted] ``) are reported at
  the advisory level whatever the policy's enforcement level: visible, never blocking.
- In a preview (``ConfigureStack``'s ``dry_run``), a finding that a value is unknown
  (``core.unknown``) is reported as pulumi-policy reports a policy that read an unknown
  value: advisory "can't run policy ... during preview". A value unknown at preview is not a
  violation yet; in an update every input is known, and the finding keeps its level there.
- ``ConfigureStack``'s config (the stack's, which the CLI also sends) is set as runtime config,
  so ``pulumi.Config`` works in rules even when the environment could not carry it.
- Each ``Analyze`` answer names every policy not written for the resource's type as not
  applicable, so a caller can tell which types the pack covers.

It also runs, for each resource, only the policies written for that resource's type:
pulumi_policy converts the resource's properties once per policy it calls, which made
turning 95 policies over every resource cost most of a preview's time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pulumi.runtime
import pulumi_policy.policy as _policy
from google.protobuf import json_format
from pulumi.runtime import proto

from .core import EXEMPTED_PREFIX, REGISTRY, UNKNOWN_FINDING
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


def _settle(response: Any, dry_run: bool) -> Any:
    """Exempted findings become advisory; in a preview, so do unknown-value findings, worded
    as pulumi-policy words a policy that could not run."""
    for diagnostic in response.diagnostics:
        message = diagnostic.message
        if message.startswith(EXEMPTED_PREFIX) or f"\n{EXEMPTED_PREFIX}" in message:
            diagnostic.enforcementLevel = proto.ADVISORY
            continue
        head = f"{diagnostic.description}\n"
        finding = message[len(head):] if message.startswith(head) else message
        if dry_run and UNKNOWN_FINDING.match(finding):
            diagnostic.message = (
                f"can't run policy '{diagnostic.policyName}' from policy pack "
                f"'{diagnostic.policyPackName}@v{diagnostic.policyPackVersion}' during "
                f"preview: {finding}")
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
        self._reads: dict[str, set[str]] = {}
        for policy in everything:
            record = REGISTRY.get(policy.name)
            for type_ in (record.types if record else ()):
                self._reads.setdefault(type_, set()).add(policy.name)
                if record is not None and record.kind == "resource":
                    self._by_type.setdefault(type_, []).append(policy)
        self._not_applicable: dict[str, list[Any]] = {}
        self._lock = threading.Lock()  # Analyze swaps the list pulumi_policy iterates
        # Until ConfigureStack says otherwise: the CLI's environment; unset is not a preview
        # (unknown findings then keep their level: fail closed).
        self._dry_run = os.environ.get("PULUMI_DRY_RUN") == "true"

    def _others(self, type_: str) -> list[Any]:
        """Not-applicable answers for every policy that does not read ``type_``."""
        cached = self._not_applicable.get(type_)
        if cached is None:
            reads = self._reads.get(type_, set())
            cached = [proto.PolicyNotApplicable(policy_name=p.name,
                                                reason="checks other resource types")
                      for p in self._all_policies if p.name not in reads]
            self._not_applicable[type_] = cached
        return cached

    def ConfigureStack(self, request: Any, context: Any) -> Any:
        self._dry_run = bool(request.dry_run)
        for key, value in request.config.items():
            pulumi.runtime.set_config(key, value)
        return super().ConfigureStack(request, context)

    def Configure(self, request: Any, context: Any) -> Any:
        config = {name: json_format.MessageToDict(value.properties)
                  for name, value in request.policyConfig.items()}
        problems = config_problems(config)
        if problems:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "invalid policy pack configuration:\n" + "\n".join(problems))
        return super().Configure(request, context)

    def Analyze(self, request: Any, context: Any) -> Any:
        with self._lock:
            self._PolicyAnalyzerServicer__policies = self._by_type.get(request.type, [])
            try:
                response = super().Analyze(request, context)
            finally:
                self._PolicyAnalyzerServicer__policies = self._all_policies
        response.not_applicable.extend(self._others(request.type))
        return _settle(response, self._dry_run)

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
        with self._lock, one_stack_analysis(), _converting_once():
            return _settle(super().AnalyzeStack(request, context), self._dry_run)


def use_guardrail_analyzer() -> None:
    """Make PolicyPack serve :class:`GuardrailAnalyzer` (call before building the pack)."""
    _policy._PolicyAnalyzerServicer = GuardrailAnalyzer  # type: ignore[misc]
