"""The analyzer the pack serves: pulumi_policy's own, plus two things it cannot express.

- ``Configure`` rejects invalid exceptions and parameters with INVALID_ARGUMENT, so a bad
  policy config stops the preview with a clear message instead of being ignored.
- Findings covered by a valid exception (message starting ``[exempted] ``) are reported at
  the advisory level whatever the policy's enforcement level: visible, never blocking.
"""

from __future__ import annotations

from typing import Any

import grpc
import pulumi_policy.policy as _policy
from google.protobuf import json_format
from pulumi.runtime import proto

from .core import EXEMPTED_PREFIX
from .pack import config_problems


def _demote_exempted(response: Any) -> Any:
    for diagnostic in response.diagnostics:
        message = diagnostic.message
        if message.startswith(EXEMPTED_PREFIX) or f"\n{EXEMPTED_PREFIX}" in message:
            diagnostic.enforcementLevel = proto.ADVISORY
    return response


class GuardrailAnalyzer(_policy._PolicyAnalyzerServicer):
    def Configure(self, request: Any, context: Any) -> Any:
        config = {name: json_format.MessageToDict(value.properties)
                  for name, value in request.policyConfig.items()}
        problems = config_problems(config)
        if problems:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "invalid policy pack configuration:\n" + "\n".join(problems))
        return super().Configure(request, context)

    def Analyze(self, request: Any, context: Any) -> Any:
        return _demote_exempted(super().Analyze(request, context))

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
        return _demote_exempted(super().AnalyzeStack(request, context))


def use_guardrail_analyzer() -> None:
    """Make PolicyPack serve :class:`GuardrailAnalyzer` (call before building the pack)."""
    _policy._PolicyAnalyzerServicer = GuardrailAnalyzer  # type: ignore[misc]
