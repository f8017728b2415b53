"""Entry point the Pulumi CLI runs (``python <pack dir> <engine address>``): assemble the pack
and serve it. Every rule lives in the importable ``guardrails`` package."""

from guardrails import PACK_NAME, build_policies, use_guardrail_analyzer
from pulumi_policy import EnforcementLevel, PolicyPack

use_guardrail_analyzer()
PolicyPack(
    name=PACK_NAME,
    policies=build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Guardrails for the microservices platform on AWS: multi-AZ footprints, TLS "
                "everywhere, scanned images, no static credentials, least privilege.",
    provider="aws",
    repository="https://github.com/microservices-platform/microservices-platform",
)
